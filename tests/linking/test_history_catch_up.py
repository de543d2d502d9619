"""History that catches up (issue 19, part 3): a deal, lead or project created for a person takes
in that person's unlinked conversations of the last days (the company's setting), by the rule-book;
competing open deals are suggested, a removed link stays removed, the job can run twice, and
winning or losing the deal unlinks nothing. Mail arrives over SMTP; items come through the API."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from backend.domain import history
from backend.models import InboundRecord, ThreadLink
from tests.web.conftest import PASSWORD, sign_in

from .conftest import Crm, links_of, mail

BOB = "bob@customer.example"


def days_ago(days: int) -> str:
    return format_datetime(datetime.now(timezone.utc) - timedelta(days=days))


def send(send_mail, acme, subject, days, to=BOB, cc=None):
    send_mail(mail(acme.email, to, subject, "Let us talk.", cc=cc, date=days_ago(days)), acme.bcc_address, acme.email)


def by_subject(crm) -> dict[str, dict]:
    return {t["subject"]: t for t in crm.threads()}


def settings(crm, **body):
    return crm.client.patch("/api/v1/settings/smart-bcc", json=body, headers=crm.account.auth)


def history_decisions(crm, thread_id) -> list[dict]:
    messages = crm.get(f"mailbox/mailThreads/{thread_id}/mailMessages").json["data"]
    return [d for m in messages for a in m["arrivals"] for d in a["decisions"] if d["stage"] == "history"]


def deal_link(thread) -> dict | None:
    return next((lk for lk in thread["links"] if lk["item_type"] == "deal"), None)


@pytest.fixture
def bob(crm):
    return crm.person("Bob Buyer", BOB)


@pytest.fixture
def bobs_mail(crm, acme, send_mail, bob):
    """Bob's conversations from 5, 30 and 120 days ago, none linked to a deal."""
    send(send_mail, acme, "Pricing questions", 5)
    send(send_mail, acme, "Meeting notes", 30)
    send(send_mail, acme, "Last spring", 120)
    threads = by_subject(crm)
    assert all(deal_link(t) is None and links_of(t) == {("person", bob["id"])} for t in threads.values())
    return threads


def test_a_new_deal_takes_in_the_persons_recent_conversations_with_the_reason(crm, bob, bobs_mail):
    deal = crm.deal("Payroll renewal", bob["id"])
    threads = by_subject(crm)
    for subject in ("Pricing questions", "Meeting notes"):
        link = deal_link(threads[subject])
        assert link is not None and link["item_id"] == deal["id"], subject
        assert link["rule"] == "history" and link["reason"] == "Linked when the deal was created."
        assert threads[subject]["needs_deal_choice"] is False
    # Older than the company's 90 days: left alone.
    assert deal_link(threads["Last spring"]) is None
    # The decision log of the conversation's newest arrival says what happened and why.
    (entry,) = history_decisions(crm, threads["Pricing questions"]["id"])
    assert entry["outcome"] == "deal-linked" and entry["item_id"] == deal["id"] and entry["event"] == "created"
    assert entry["reason"].startswith("Deal 'Payroll renewal' was created for Bob Buyer, so this earlier "
                                      "conversation is linked to it.")
    assert "Bob Buyer's only open deal" in entry["reason"]


def test_the_window_is_the_companys_setting_and_zero_turns_it_off(crm, bob, bobs_mail):
    assert crm.get("settings/smart-bcc").json["data"]["history_catch_up_days"] == 90
    assert settings(crm, history_catch_up_days=0).status_code == 200
    crm.deal("Payroll renewal", bob["id"])
    assert all(deal_link(t) is None for t in by_subject(crm).values())
    assert settings(crm, history_catch_up_days=150).json["data"]["history_catch_up_days"] == 150
    crm.post("leads", title="Helpdesk lead", person_id=bob["id"])
    leads = {s: [lk for lk in t["links"] if lk["item_type"] == "lead"] for s, t in by_subject(crm).items()}
    assert all(len(found) == 1 for found in leads.values()), leads  # 120 days ago is now inside
    assert leads["Last spring"][0]["reason"] == "Linked when the lead was created."


def test_a_second_lead_joins_conversations_that_already_carry_the_first(crm, bob, bobs_mail):
    """The rule-book links every lead of a contact, so history does too: a thread with lead A takes in lead B."""
    first = crm.post("leads", title="Helpdesk lead", person_id=bob["id"])
    second = crm.post("leads", title="Payroll lead", person_id=bob["id"])
    pricing = by_subject(crm)["Pricing questions"]
    leads = {lk["item_id"]: lk["reason"] for lk in pricing["links"] if lk["item_type"] == "lead"}
    assert leads == {first["id"]: "Linked when the lead was created.",
                     second["id"]: "Linked when the lead was created."}


def test_competing_open_deals_are_suggested_not_linked(crm, bob, bobs_mail):
    settings(crm, history_catch_up_days=0)
    payroll = crm.deal("Payroll renewal", bob["id"])
    settings(crm, history_catch_up_days=90)
    helpdesk = crm.deal("Helpdesk rollout", bob["id"])
    threads = by_subject(crm)
    pricing = threads["Pricing questions"]
    assert deal_link(pricing) is None and pricing["needs_deal_choice"] is True
    choice = crm.get(f"mailbox/mailThreads/{pricing['id']}").json["data"]["deal_choice"]
    assert {c["id"] for c in choice["candidates"]} == {payroll["id"], helpdesk["id"]}
    (entry,) = history_decisions(crm, pricing["id"])
    assert entry["outcome"] == "deal-suggested" and set(entry["candidates"]) == {payroll["id"], helpdesk["id"]}
    assert "the contacts have 2 open deals: they are suggested and the rep picks" in entry["reason"]
    assert threads["Last spring"]["needs_deal_choice"] is False  # outside the window: untouched


def test_a_link_the_user_removed_stays_removed_and_a_second_run_adds_nothing(crm, bob, bobs_mail, services):
    deal = crm.deal("Payroll renewal", bob["id"])
    pricing = by_subject(crm)["Pricing questions"]
    response = crm.client.delete(f"/api/v1/mailbox/mailThreads/{pricing['id']}/links/deal/{deal['id']}",
                                 headers=crm.account.auth)
    assert response.status_code == 200, response.json

    def counts():
        with services.db.session() as session:
            links = session.scalar(select(func.count()).select_from(ThreadLink).where(
                ThreadLink.item_type == "deal", ThreadLink.item_id == deal["id"]))
            logged = sum(1 for decisions in session.scalars(select(InboundRecord.decisions))
                         for d in decisions or [] if d.get("stage") == "history")
        return links, logged

    before = counts()
    assert before == (2, 2)  # the removed link is kept as a tombstone; one log entry per conversation
    for _ in range(2):
        services.jobs.enqueue(history.CATCH_UP, crm.account.company_id, "deal", deal["id"], "created")
    assert counts() == before
    threads = by_subject(crm)
    assert deal_link(threads["Pricing questions"]) is None
    assert deal_link(threads["Meeting notes"])["item_id"] == deal["id"]
    # Reopening the deal runs the job again: the removed link still stays removed.
    for status in ("won", "open"):
        assert crm.client.patch(f"/api/v1/deals/{deal['id']}", json={"status": status},
                                headers=crm.account.auth).status_code == 200
    assert deal_link(by_subject(crm)["Pricing questions"]) is None
    assert counts() == before


def test_winning_or_losing_the_deal_keeps_its_history(crm, bob, bobs_mail):
    deal = crm.deal("Payroll renewal", bob["id"])
    for status in ("won", "lost"):
        response = crm.client.patch(f"/api/v1/deals/{deal['id']}", json={"status": status}, headers=crm.account.auth)
        assert response.status_code == 200, response.json
        threads = by_subject(crm)
        assert deal_link(threads["Pricing questions"])["item_id"] == deal["id"]
        assert deal_link(threads["Meeting notes"])["item_id"] == deal["id"]


def test_a_deal_given_to_a_person_without_other_open_deals_takes_in_their_history(crm, bob, bobs_mail):
    carol = crm.person("Carol Client", "carol@other.example")
    deal = crm.deal("Payroll renewal", carol["id"])
    assert all(deal_link(t) is None for t in by_subject(crm).values())
    response = crm.client.patch(f"/api/v1/deals/{deal['id']}", json={"person_id": bob["id"]}, headers=crm.account.auth)
    assert response.status_code == 200, response.json
    link = deal_link(by_subject(crm)["Meeting notes"])
    assert link["item_id"] == deal["id"] and link["reason"] == "Linked when Bob Buyer became the deal's contact."


def test_conversations_already_linked_to_a_deal_and_other_peoples_are_left_alone(crm, acme, send_mail, bob):
    carol = crm.person("Carol Client", "carol@other.example")
    old_deal = crm.deal("Old deal", carol["id"])
    send(send_mail, acme, "With both", 3, to=BOB, cc="carol@other.example")  # linked to Carol's only open deal
    send(send_mail, acme, "Carol alone", 3, to="carol@other.example")
    new_deal = crm.deal("Payroll renewal", bob["id"])
    threads = by_subject(crm)
    assert deal_link(threads["With both"])["item_id"] == old_deal["id"]
    assert deal_link(threads["Carol alone"])["item_id"] == old_deal["id"]
    assert not any(lk["item_id"] == new_deal["id"] for t in threads.values() for lk in t["links"]
                   if lk["item_type"] == "deal")


def test_create_from_conversation_takes_in_the_persons_other_conversations(crm, bob, bobs_mail):
    pricing = bobs_mail["Pricing questions"]
    response = crm.client.post(f"/api/v1/mailbox/mailThreads/{pricing['id']}/create-item",
                               json={"type": "deal", "title": "Pricing deal"}, headers=crm.account.auth)
    assert response.status_code == 201, response.json
    deal_id = response.json["data"]["item_id"]
    threads = by_subject(crm)
    assert deal_link(threads["Pricing questions"])["reason"].startswith("Linked by")
    notes = deal_link(threads["Meeting notes"])
    assert notes["item_id"] == deal_id and notes["reason"] == "Linked when the deal was created."
    assert deal_link(threads["Last spring"]) is None


def test_an_item_saved_outside_the_api_catches_up_too(crm, bob, bobs_mail, services):
    """The catch-up is wired where the process's sessions are made (backend/services.py), not in an
    adapter: a deal saved through the domain in a plain session of the process (what the CLI, the
    demo seed or a job has: no request, no app context) takes in the history the same way, and one
    whose transaction rolls back takes in nothing."""
    from backend.domain import editing
    from backend.domain.actor import Actor
    from backend.models import User

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), services.db.session() as session:
        actor = Actor.of(session.get(User, crm.account.user_id))
        editing.save_item(session, actor, "deal", {"title": "Never saved", "person_id": bob["id"]})
        raise Abandoned
    assert all(deal_link(t) is None for t in by_subject(crm).values())

    with services.db.session() as session:
        actor = Actor.of(session.get(User, crm.account.user_id))
        deal = editing.save_item(session, actor, "deal", {"title": "Payroll renewal", "person_id": bob["id"]})
    threads = by_subject(crm)
    for subject in ("Pricing questions", "Meeting notes"):
        link = deal_link(threads[subject])
        assert link is not None and link["item_id"] == deal.id, subject
        assert link["reason"] == "Linked when the deal was created."
    assert deal_link(threads["Last spring"]) is None


def test_bad_input_links_nothing(crm, bob, bobs_mail, acme):
    response = crm.client.post("/api/v1/deals", json={"title": "Ghost", "person_id": 999999}, headers=acme.auth)
    assert response.status_code == 400 and "person_id" in response.json["errors"]
    assert all(deal_link(t) is None for t in by_subject(crm).values())


@pytest.mark.parametrize("value", [366, -1, "ninety", 9.5, True, None])
def test_the_setting_rejects_what_is_not_a_number_of_days(crm, value):
    response = settings(crm, history_catch_up_days=value)
    assert response.status_code == 400, response.json
    assert response.json["errors"]["history_catch_up_days"] == [
        "Use a whole number of days from 0 (off) to 365, such as 90."] or value is None
    assert crm.get("settings/smart-bcc").json["data"]["history_catch_up_days"] == 90


def test_only_an_admin_changes_the_setting(client, make_account, acme):
    member = make_account("acme.example", "mia@acme.example", admin=False)
    response = client.patch("/api/v1/settings/smart-bcc", json={"history_catch_up_days": 30}, headers=member.auth)
    assert response.status_code == 403 and response.json["errors"] == {"history_catch_up_days": ["Admins only."]}


@pytest.fixture
def page(app, make_account):
    admin = make_account("acme.example", "ada@acme.example", admin=True, name="Ada Admin", password=PASSWORD)
    client = app.test_client()
    client.csrf = sign_in(client, admin.email)
    client.account = admin
    return client


def test_the_admin_sets_the_days_on_the_settings_page(page, client):
    html = page.get("/settings/smart-bcc").get_data(as_text=True)
    assert 'name="history_catch_up_days"' in html and 'value="90"' in html
    response = page.post("/settings/smart-bcc/history", data={"csrf_token": page.csrf, "history_catch_up_days": "30"},
                         follow_redirects=True)
    assert "Saved. A new deal, lead or project takes in its person&#39;s unlinked conversations of the last 30 " \
           "days." in response.get_data(as_text=True)
    response = page.post("/settings/smart-bcc/history", data={"csrf_token": page.csrf, "history_catch_up_days": "abc"},
                         follow_redirects=True)
    assert "Days to look back: Use a whole number of days from 0 (off) to 365, such as 90." in \
        response.get_data(as_text=True)
    data = client.get("/api/v1/settings/smart-bcc", headers=page.account.auth).json["data"]
    assert data["history_catch_up_days"] == 30


def test_pending_catch_ups_are_dropped_on_rollback(app, services):
    class Item:
        company_id, id, person_id, status = 1, 7, 3, "open"

    with services.db.sessionmaker() as session:
        session.execute(select(1))
        history.item_changed(session, "deal", Item(), created=True)
        session.rollback()
        assert history.take_pending(session) == []
        history.item_changed(session, "deal", Item(), created=True)
        history.item_changed(session, "deal", Item(), was_status="won", was_person_id=3)
        assert history.take_pending(session) == [(1, "deal", 7, "created")]
        history.item_changed(session, "deal", Item(), was_status="open", was_person_id=3)  # nothing changed
        assert history.take_pending(session) == []
