"""The domain rules as users meet them: deleting recomputes what the message left behind, reasons
are true now and name things, a user is the same user from any of their addresses."""
from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage

from sqlalchemy import select

from backend.models import InboundRecord, MailMessage, SenderAddress

from backend.models import User
from backend.security import hash_password
from tests.web.conftest import PASSWORD, sign_in

from .conftest import links_of, mail


def _signed_in(app, services, account):
    with services.db.session() as session:
        session.get(User, account.user_id).password_hash = hash_password(PASSWORD)
    web = app.test_client()
    sign_in(web, account.email)
    return web


def _with_attachment(sender: str, subject: str, msgid: str, date: str, body: str, payload: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Date"] = sender, "bob@cust.example", subject, date
    msg["Message-ID"] = f"<{msgid}>"
    msg.set_content(body)
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="private.pdf")
    return bytes(msg)


def test_deleting_the_newest_message_recomputes_the_thread_everywhere(crm, client, acme, send_mail, services, app):
    bob = crm.person("Bob Buyer", "bob@cust.example")
    deal = crm.deal("Bob's first order", bob["id"])
    client.patch("/api/v1/settings/smart-bcc", json={"default_sharing": "shared"}, headers=acme.auth)
    send_mail(mail(acme.email, "bob@cust.example", "Quote", "Here is the quote for the order.", msgid="q1@acme.example",
                   date="Mon, 3 Mar 2025 10:00:00 +0000"), acme.bcc_address, acme.email)
    personal = _with_attachment(acme.email, "Re: Quote", "q2@acme.example", "Tue, 4 Mar 2025 09:00:00 +0000",
                                "Dinner with my sister on Friday, sorry.", b"%PDF-1.4 medical letter")
    send_mail(personal, acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["message_count"] == 2 and "sister" in thread["snippet"]
    messages = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"]
    newest = next(m for m in messages if m["subject"] == "Re: Quote")
    attachment = newest["attachments"][0]
    with services.db.session() as session:
        raw_digest = session.scalar(select(InboundRecord.raw_sha256).where(InboundRecord.message_id == newest["id"]))
    assert services.blobs.exists(attachment["sha256"]) and services.blobs.exists(raw_digest)

    response = client.delete(f"/api/v1/mailbox/mailMessages/{newest['id']}", headers=acme.auth)
    assert response.status_code == 200

    thread = crm.only_thread()
    assert thread["message_count"] == 1
    assert "sister" not in thread["snippet"] and "quote for the order" in thread["snippet"]
    assert thread["last_message_at"].startswith("2025-03-03T10:00")
    assert thread["last_sender"]["email"] == acme.email
    assert crm.threads(q="sister") == [] and crm.threads(q="Re: Quote") == []
    for path in (f"deals/{deal['id']}/mailMessages", f"persons/{bob['id']}/mailMessages",
                 f"mailbox/mailThreads/{thread['id']}/mailMessages"):
        body = crm.get(path, include_body=1).get_data(as_text=True)
        assert "sister" not in body and "private.pdf" not in body
    download = client.get(f"/api/v1/mailbox/mailMessages/{newest['id']}/attachments/{attachment['id']}",
                          headers=acme.auth)
    assert download.status_code == 404
    assert not services.blobs.exists(attachment["sha256"]) and not services.blobs.exists(raw_digest)
    with services.db.session() as session:
        tomb = session.get(MailMessage, newest["id"])
        assert tomb.deleted_at is not None and not tomb.body_text and not tomb.subject and not tomb.snippet
        assert tomb.participants == [] and tomb.attachments == []
    # The pages say the same: the deal page and the inbox show the remaining mail only.
    web = _signed_in(app, services, acme)
    for page in ("/inbox", f"/deals/{deal['id']}", f"/inbox/threads/{thread['id']}"):
        html = web.get(page).get_data(as_text=True)
        assert "sister" not in html and "quote for the order" in html, page

    # Deleting it again is a clear 404; a later copy of the same Message-ID is not logged again.
    again = client.delete(f"/api/v1/mailbox/mailMessages/{newest['id']}", headers=acme.auth)
    assert again.status_code == 404 and "No such message" in again.json["error"]
    send_mail(personal, [deal["bcc_address"]], acme.email)
    assert crm.only_thread()["message_count"] == 1
    with services.db.session() as session:
        last = session.scalars(select(InboundRecord).order_by(InboundRecord.id.desc())).first()
        assert last.status == "duplicate" and not services.blobs.exists(last.raw_sha256)


def test_deleting_the_last_message_removes_the_thread_from_every_list(crm, client, acme, send_mail):
    bob = crm.person("Bob Buyer", "bob@cust.example")
    deal = crm.deal("Bob's first order", bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Only one"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    assert client.delete(f"/api/v1/mailbox/mailMessages/{message['id']}", headers=acme.auth).status_code == 200
    assert crm.threads() == [] and crm.threads(needs_deal_choice=1) == []
    assert crm.get(f"mailbox/mailThreads/{thread['id']}").status_code == 404
    assert crm.get(f"deals/{deal['id']}/mailMessages").json["data"] == []


def test_a_colleague_cannot_delete_from_a_shared_thread(crm, client, acme, make_account, send_mail):
    client.patch("/api/v1/settings/smart-bcc", json={"default_sharing": "shared"}, headers=acme.auth)
    send_mail(mail(acme.email, "bob@cust.example", "Shared"), acme.bcc_address, acme.email)
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    thread = crm.only_thread()
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    refused = client.delete(f"/api/v1/mailbox/mailMessages/{message['id']}", headers=colleague.auth)
    assert refused.status_code == 403 and "owns this thread" in refused.json["error"]
    assert crm.only_thread()["message_count"] == 1


def test_reason_says_when_it_held_after_a_second_open_deal(crm, acme, send_mail, services):
    bob = crm.person("Bob Buyer", "bob@cust.example")
    deal = crm.deal("Bob's first order", bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Quote"), acme.bcc_address, acme.email)
    reason = next(lk["reason"] for lk in crm.only_thread()["links"] if lk["item_type"] == "deal")
    assert reason == "Linked because 'Bob's first order' is Bob Buyer's only open deal."
    crm.deal("Bob's second order", bob["id"])
    crm.client.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Bob's renamed order"}, headers=acme.auth)
    thread = crm.only_thread()
    reason = next(lk["reason"] for lk in thread["links"] if lk["item_type"] == "deal")
    today = datetime.now(timezone.utc)
    assert reason == f"Linked on {today.day} {today:%b}: it was then Bob Buyer's only open deal."
    assert links_of(thread) == {("deal", deal["id"]), ("person", bob["id"])}  # history is not unlinked
    person_reason = next(lk["reason"] for lk in thread["links"] if lk["item_type"] == "person")
    assert person_reason == "Bob Buyer took part in the conversation."


def test_reasons_name_items_never_ids(crm, acme, send_mail, app, services):
    bob = crm.person("Bob Buyer", "bob@cust.example")
    deal = crm.deal("Bob's first order", bob["id"])
    lead = crm.post("leads", title="Bob's lead", person_id=bob["id"])
    project = crm.post("projects", title="Rollout", person_id=bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Kick-off", msgid="ko1@acme.example"), [deal["bcc_address"]],
              acme.email)
    send_mail(mail(acme.email, "bob@cust.example", "Re: Kick-off", extra="In-Reply-To: <ko1@acme.example>\r\n"),
              acme.bcc_address, acme.email)
    thread = crm.only_thread()
    reasons = {lk["item_type"]: lk["reason"] for lk in thread["links"]}
    assert reasons["deal"] == "Sent to the Smart Bcc address of deal 'Bob's first order'."
    assert reasons["lead"] == "Lead 'Bob's lead' belongs to Bob Buyer, who took part."
    assert reasons["project"] == "Project 'Rollout' belongs to Bob Buyer, who took part."
    messages = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"]
    decisions = [d for m in messages for a in m["arrivals"] for d in a["decisions"]]
    for item in (deal, lead, project):
        assert f" {item['id']}" not in " ".join(d["reason"] for d in decisions if d["stage"] == "links")
    inherited = next(d["reason"] for d in decisions if d.get("outcome") == "inherited")
    assert "deal 'Bob's first order'" in inherited and "Bob Buyer" in inherited
    web = _signed_in(app, services, acme)
    html = web.get(f"/inbox/threads/{thread['id']}").get_data(as_text=True)
    assert "Smart Bcc address of deal &#39;Bob&#39;s first order&#39;" in html
    assert "deal 1" not in html, [html[max(0, i - 150):i + 20] for i in [html.find("deal 1")]]
    assert "dedupe" not in html.split("How Smart Bcc handled")[1].split("</details>")[0] \
        .replace('data-stage="dedupe"', "")


def test_mail_from_a_verified_alternative_address_is_the_users_own(crm, acme, send_mail, services, app):
    with services.db.session() as session:
        session.add(SenderAddress(company_id=acme.company_id, user_id=acme.user_id, email="alice@home.example",
                                  verified_at=datetime.now(timezone.utc)))
    send_mail(mail("alice@home.example", '"Carla" <carla@cust.example>', "From home"), acme.bcc_address,
              "alice@home.example")
    thread = crm.only_thread()
    assert thread["last_sender"] == {"email": "alice@home.example", "name": "", "user_id": acme.user_id}
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    sender = next(p for p in message["participants"] if p["role"] == "from")
    assert sender["user_id"] == acme.user_id and sender["person_id"] is None
    web = _signed_in(app, services, acme)
    assert "You → Carla" in web.get("/inbox").get_data(as_text=True)


def test_linking_to_a_missing_or_foreign_item_is_a_clear_400(crm, client, acme, globex, send_mail):
    send_mail(mail(acme.email, "bob@cust.example", "Hi"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    foreign = Crm_of(client, globex).deal("Globex deal", None)
    gone = crm.deal("Gone", None)
    assert client.delete(f"/api/v1/deals/{gone['id']}", headers=acme.auth).status_code == 200
    for item_id in (foreign["id"], gone["id"]):
        response = client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/links",
                               json={"item_type": "deal", "item_id": item_id}, headers=acme.auth)
        assert response.status_code == 400 and response.json["errors"]["item_id"] == [
            f"No deal with id {item_id} in your company."]
    assert links_of(crm.only_thread()) == {("person", links_of(thread).pop()[1])}


def Crm_of(client, account):
    from .conftest import Crm
    return Crm(client, account)


def test_arrivals_are_the_users_own_and_an_admins_whole_company(client, acme, make_account, send_mail):
    member = make_account("acme.example", "molly@acme.example", admin=False)
    send_mail(mail(acme.email, "bob@cust.example", "From the admin"), acme.bcc_address, acme.email)
    send_mail(mail(member.email, "bob@cust.example", "From the member"), acme.bcc_address, member.email)
    admin_view = client.get("/api/v1/mailbox/inbound", headers=acme.auth).json["data"]
    member_view = client.get("/api/v1/mailbox/inbound", headers=member.auth).json["data"]
    assert len(admin_view) == 2 and len(member_view) == 1
    assert member_view[0]["id"] == max(r["id"] for r in admin_view)
    failed = client.get("/api/v1/mailbox/inbound", query_string={"status": "failed"}, headers=acme.auth)
    assert failed.status_code == 200 and failed.json["data"] == []
