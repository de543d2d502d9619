"""A first end-to-end path: mail over SMTP to a deal address shows up through the API."""
from __future__ import annotations


def _mail(sender, to, subject, msgid, body="Hello"):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n\r\n{body}\r\n")


def test_mail_to_deal_address_appears_in_deal_view(client, acme, send_mail):
    person = client.post("/api/v1/persons", json={"name": "Bob", "emails": [{"email": "bob@cust.example"}]},
                         headers=acme.auth).json["data"]
    deal = client.post("/api/v1/deals", json={"title": "Big one", "person_id": person["id"]},
                       headers=acme.auth).json["data"]
    send_mail(_mail(acme.email, "Bob <bob@cust.example>", "Proposal", "p1@acme.example"),
              [deal["bcc_address"]], acme.email)
    threads = client.get("/api/v1/mailbox/mailThreads?include_total=1", headers=acme.auth).json
    assert threads["additional_data"]["pagination"]["total"] == 1
    thread = threads["data"][0]
    assert thread["subject"] == "Proposal"
    assert {(lk["item_type"], lk["item_id"]) for lk in thread["links"]} == {("deal", deal["id"]), ("person", person["id"])}
    messages = client.get(f"/api/v1/deals/{deal['id']}/mailMessages", headers=acme.auth).json["data"]
    assert [m["subject"] for m in messages] == ["Proposal"]
    assert any(d["stage"] == "links" and d["outcome"] == "item-address" for d in messages[0]["arrivals"][0]["decisions"])
