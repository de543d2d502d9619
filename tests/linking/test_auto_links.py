"""Contacts and automatic links, end to end over SMTP."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.models import Person, PersonEmail

from .conftest import links_of, mail


def test_unknown_participant_becomes_a_contact_owned_by_the_rep(crm, acme, send_mail, services):
    send_mail(mail(acme.email, '"Dana Doe" <dana@cust.example>', "Hi", cc="eve.smith@cust.example"),
              acme.bcc_address, acme.email)
    with services.db.session() as session:
        rows = session.execute(select(Person.name, PersonEmail.email, Person.owner_id)
                               .join(PersonEmail).order_by(PersonEmail.email)).all()
    assert rows == [("Dana Doe", "dana@cust.example", acme.user_id),
                    ("Eve Smith", "eve.smith@cust.example", acme.user_id)]


def test_company_users_and_smart_bcc_addresses_never_become_contacts(crm, acme, make_account, send_mail, services):
    colleague = make_account("acme.example", "colin@acme.example")
    send_mail(mail(acme.email, f"{colleague.email}, other@bcc.test", "Internal",
                   cc=acme.bcc_address), acme.bcc_address, acme.email)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
    thread = crm.only_thread()
    assert links_of(thread) == set()


def test_auto_reply_creates_no_contact(crm, acme, send_mail, services):
    send_mail(mail(acme.email, "robot@cust.example", "Out of office", extra="Auto-Submitted: auto-replied\r\n"),
              acme.bcc_address, acme.email)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
    assert crm.threads() == []  # kept apart from sales threads
    assert len(crm.threads(include_auto=1)) == 1


def test_thread_links_to_the_only_open_deal(crm, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    deal = crm.deal("Bob's deal", bob["id"])
    crm.deal("Old deal", bob["id"], status="won")
    crm.deal("Lost deal", bob["id"], status="lost")
    send_mail(mail(acme.email, "bob@cust.example", "Quote"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert links_of(thread) == {("person", bob["id"]), ("deal", deal["id"])}
    assert thread["needs_deal_choice"] is False
    reason = next(lk["reason"] for lk in thread["links"] if lk["item_type"] == "deal")
    assert "only open deal" in reason and "Bob" in reason


def test_no_open_deal_links_no_deal(crm, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    crm.deal("Won", bob["id"], status="won")
    send_mail(mail(acme.email, "bob@cust.example", "Thanks"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert links_of(thread) == {("person", bob["id"])}
    assert thread["needs_deal_choice"] is False


def test_second_open_deal_blocks_auto_link_and_asks_for_a_choice(crm, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    crm.deal("One", bob["id"])
    crm.deal("Two", bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Which one?"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert links_of(thread) == {("person", bob["id"])}
    assert thread["needs_deal_choice"] is True
    assert [t["id"] for t in crm.threads(needs_deal_choice=1)] == [thread["id"]]


def test_leads_and_projects_of_participants_are_linked(crm, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    lead = crm.post("leads", title="Website lead", person_id=bob["id"])
    project = crm.post("projects", title="Rollout", person_id=bob["id"])
    send_mail(mail(acme.email, "bob@cust.example", "Kickoff"), acme.bcc_address, acme.email)
    assert links_of(crm.only_thread()) == {("person", bob["id"]), ("lead", lead["id"]),
                                           ("project", project["id"])}


def test_setting_off_links_only_persons(crm, client, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    crm.deal("Bob's deal", bob["id"])
    response = client.patch("/api/v1/settings/smart-bcc", json={"link_emails_to_items": False}, headers=acme.auth)
    assert response.status_code == 200 and response.json["data"]["link_emails_to_items"] is False
    send_mail(mail(acme.email, "bob@cust.example", "Quote"), acme.bcc_address, acme.email)
    assert links_of(crm.only_thread()) == {("person", bob["id"])}


def test_deal_address_beats_the_automatic_rule_and_the_setting(crm, client, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    crm.deal("Bob's only open deal", bob["id"])
    chosen = crm.deal("Another company deal", None)
    client.patch("/api/v1/settings/smart-bcc", json={"link_emails_to_items": False}, headers=acme.auth)
    send_mail(mail(acme.email, "bob@cust.example", "For the other deal"), chosen["bcc_address"], acme.email)
    assert links_of(crm.only_thread()) == {("person", bob["id"]), ("deal", chosen["id"])}


def test_lead_address_links_that_lead(crm, acme, send_mail):
    lead = crm.post("leads", title="Inbound")
    send_mail(mail(acme.email, "new@cust.example", "Hello lead"), lead["bcc_address"], acme.email)
    assert ("lead", lead["id"]) in links_of(crm.only_thread())


def test_same_message_to_two_deal_addresses_is_stored_once_linked_to_both(crm, acme, send_mail):
    a, b = crm.deal("A", None), crm.deal("B", None)
    raw = mail(acme.email, "bob@cust.example", "Both", msgid="both@acme.example")
    send_mail(raw, [a["bcc_address"]], acme.email)
    send_mail(raw, [b["bcc_address"]], acme.email)
    thread = crm.only_thread()
    assert {("deal", a["id"]), ("deal", b["id"])} <= links_of(thread)
    assert thread["message_count"] == 1
    message = crm.get(f"deals/{b['id']}/mailMessages").json["data"][0]
    reasons = [d for arrival in message["arrivals"] for d in arrival["decisions"] if d["stage"] == "dedupe"]
    assert any("Also linked to deal" in d["reason"] for d in reasons), reasons


FORWARD = """From: {rep}
To: {bcc}
Subject: Fwd: Quote
Message-ID: <fwd-1@acme.example>
Date: Mon, 3 Mar 2025 12:00:00 +0000

see below

---------- Forwarded message ---------
From: Bob <bob@cust.example>
Date: Mon, Mar 3, 2025 at 11:15 AM
Subject: Re: Quote
To: {rep}

Looks good, we sign.
"""


def test_forwarded_reply_joins_the_thread_and_inherits_its_links(crm, acme, send_mail):
    bob = crm.person("Bob", "bob@cust.example")
    deal = crm.deal("Bob's deal", bob["id"])
    send_mail(mail(acme.email, "Bob <bob@cust.example>", "Quote"), acme.bcc_address, acme.email)
    crm.deal("A second open deal appears later", bob["id"])
    send_mail(FORWARD.format(rep=acme.email, bcc=acme.bcc_address).replace("\n", "\r\n"),
              acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["message_count"] == 2
    assert ("deal", deal["id"]) in links_of(thread)
    messages = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"]
    forwarded = messages[-1]
    assert forwarded["sender"]["email"] == "bob@cust.example"
    assert forwarded["forwarded_by"]["email"] == acme.email
    assert forwarded["sent_at"].startswith("2025-03-03T11:15")
