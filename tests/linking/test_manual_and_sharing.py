"""Manual links, create-item, sharing between two users, and deleting."""
from __future__ import annotations

from .conftest import Crm, links_of, mail


def test_link_and_unlink_a_deal_by_hand(crm, client, acme, send_mail):
    send_mail(mail(acme.email, "bob@cust.example", "Unlinked"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    deal = crm.deal("Picked", None)
    url = f"/api/v1/mailbox/mailThreads/{thread['id']}"
    response = client.post(url + "/links", json={"item_type": "deal", "item_id": deal["id"]}, headers=acme.auth)
    assert response.status_code == 201
    assert ("deal", deal["id"]) in links_of(response.json["data"])
    assert [m["subject"] for m in crm.get(f"deals/{deal['id']}/mailMessages").json["data"]] == ["Unlinked"]
    response = client.delete(url + f"/links/deal/{deal['id']}", headers=acme.auth)
    assert response.status_code == 200
    assert ("deal", deal["id"]) not in links_of(response.json["data"])
    assert crm.get(f"deals/{deal['id']}/mailMessages").json["data"] == []


def test_removed_automatic_link_is_not_added_back_by_the_next_message(crm, client, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    deal = crm.deal("Bob's deal", bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Quote"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    client.delete(f"/api/v1/mailbox/mailThreads/{thread['id']}/links/deal/{deal['id']}", headers=acme.auth)
    send_mail(mail(acme.email, "bob@cust.example", "Re: Quote"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["message_count"] == 2
    assert ("deal", deal["id"]) not in links_of(thread)


def test_patch_picks_the_deal_and_clears_needs_deal_choice(crm, client, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    one, two = crm.deal("One", bob["id"]), crm.deal("Two", bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Which"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    url = f"/api/v1/mailbox/mailThreads/{thread['id']}"
    data = client.patch(url, json={"deal_id": two["id"]}, headers=acme.auth).json["data"]
    assert data["needs_deal_choice"] is False and ("deal", two["id"]) in links_of(data)
    data = client.patch(url, json={"deal_id": one["id"]}, headers=acme.auth).json["data"]
    assert ("deal", one["id"]) in links_of(data) and ("deal", two["id"]) not in links_of(data)


def test_patch_rejects_another_companys_deal(crm, client, acme, globex, send_mail):
    send_mail(mail(acme.email, "bob@cust.example", "Mine"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    theirs = Crm(client, globex).deal("Theirs", None)
    response = client.patch(f"/api/v1/mailbox/mailThreads/{thread['id']}", json={"deal_id": theirs["id"]},
                            headers=acme.auth)
    assert response.status_code == 400
    assert "deal_id" in response.json["errors"]


def test_create_lead_from_thread_is_prefilled_and_linked(crm, client, acme, send_mail):
    send_mail(mail(acme.email, "Zoe <zoe@cust.example>", "Interested in plan B"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/create-item", json={"type": "lead"},
                           headers=acme.auth)
    assert response.status_code == 201, response.json
    lead = crm.get(f"leads/{response.json['data']['item_id']}").json["data"]
    zoe = crm.get("persons", email="zoe@cust.example").json["data"][0]
    assert lead["title"] == "Interested in plan B" and lead["person_id"] == zoe["id"]
    assert lead["bcc_address"]
    assert ("lead", lead["id"]) in links_of(response.json["data"]["thread"])


def test_create_item_rejects_unknown_type(crm, client, acme, send_mail):
    send_mail(mail(acme.email, "zoe@cust.example", "x"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/create-item", json={"type": "boat"},
                           headers=acme.auth)
    assert response.status_code == 400 and "type" in response.json["errors"]


def test_private_thread_is_absent_for_a_colleague(crm, client, acme, make_account, send_mail):
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    bob = crm.person("Bob", "bob@cust.example")
    send_mail(mail(acme.email, "bob@cust.example", "Secret"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    message_id = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]["id"]
    other = Crm(client, colleague)
    assert other.threads() == []
    assert other.get("mailbox/mailThreads", q="Secret", include_total=1).json["additional_data"]["pagination"]["total"] == 0
    assert other.get(f"mailbox/mailThreads/{thread['id']}").status_code == 404
    assert other.get(f"mailbox/mailMessages/{message_id}").status_code == 404
    assert other.get(f"persons/{bob['id']}/mailMessages").json["data"] == []


def test_shared_thread_is_visible_then_gone_when_unshared(crm, client, acme, make_account, send_mail):
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    send_mail(mail(acme.email, "bob@cust.example", "Team topic"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    url = f"/api/v1/mailbox/mailThreads/{thread['id']}"
    other = Crm(client, colleague)
    assert client.patch(url, json={"shared": True}, headers=colleague.auth).status_code == 404
    assert client.patch(url, json={"shared": True}, headers=acme.auth).json["data"]["shared"] is True
    assert [t["id"] for t in other.threads()] == [thread["id"]]
    assert client.patch(url, json={"shared": False}, headers=colleague.auth).status_code == 403
    client.patch(url, json={"shared": False}, headers=acme.auth)
    assert other.threads() == []


def test_default_sharing_applies_only_to_mail_received_afterwards(crm, client, acme, send_mail):
    send_mail(mail(acme.email, "a@cust.example", "Before"), acme.bcc_address, acme.email)
    client.patch("/api/v1/settings/smart-bcc", json={"default_sharing": "shared"}, headers=acme.auth)
    send_mail(mail(acme.email, "b@cust.example", "After"), acme.bcc_address, acme.email)
    shared = {t["subject"]: t["shared"] for t in crm.threads()}
    assert shared == {"Before": False, "After": True}


def test_deleted_message_leaves_every_view_and_does_not_come_back(crm, client, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    deal = crm.deal("Bob's deal", bob["id"])
    raw = mail(acme.email, "bob@cust.example", "Oops", msgid="oops@acme.example")
    send_mail(raw, acme.bcc_address, acme.email)
    message = crm.get(f"deals/{deal['id']}/mailMessages").json["data"][0]
    assert client.delete(f"/api/v1/mailbox/mailMessages/{message['id']}", headers=acme.auth).status_code == 200
    for path in (f"deals/{deal['id']}", f"persons/{bob['id']}"):
        assert crm.get(path + "/mailMessages").json["data"] == []
    assert crm.get(f"mailbox/mailMessages/{message['id']}").status_code == 404
    assert crm.threads() == []
    send_mail(raw, [deal["bcc_address"]], acme.email)
    assert crm.get(f"deals/{deal['id']}/mailMessages").json["data"] == []
    assert crm.threads() == []
