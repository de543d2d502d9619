"""Every announced mail is an expectation (issue 17, point 6): listed to its rep as not logged when
its copy has not arrived in time, cleared when it arrives (SMTP, fetch, forward), fetched through
the local Graph and Gmail servers or dismissed, and its time to log shown to admins."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from backend.domain import expectations
from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.models import MailMessage, SentAnnouncement
from backend.providers.connections import now_utc

from tests.api.conftest import assert_error

from .conftest import PASSWORD, csrf_of, sent_mail, smtp_copy

ANNOUNCE = "/api/v1/addin/sent"
LIST = "/api/v1/mailbox/notLogged"
SUBJECT = "Proposal for Bob"
TO = ["Bob Buyer <bob@cust.example>", "carol@cust.example"]


def announce(client, account, ref, **extra):
    body = {"ref": ref, "address": account.bcc_address, "subject": SUBJECT, "recipients": TO, **extra}
    response = client.post(ANNOUNCE, json=body, headers=account.auth)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["data"]


def age(services, ref, minutes):
    """Time passes: the announcement was made ``minutes`` ago (no sleeping)."""
    with services.db.session() as session:
        session.execute(update(SentAnnouncement).where(SentAnnouncement.ref == ref)
                        .values(created_at=now_utc() - timedelta(minutes=minutes)))


def listed(client, account):
    response = client.get(LIST, headers=account.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def announcement(services, ref):
    with services.db.session() as session:
        ann = session.scalar(select(SentAnnouncement).where(SentAnnouncement.ref == ref))
        session.expunge(ann)
        return ann


def stored(services):
    with services.db.session() as session:
        return session.scalar(select(func.count()).select_from(MailMessage))


def test_not_arriving_is_listed_after_the_wait_and_the_smtp_copy_clears_it(client, signed_in, services, rep,
                                                                          send_mail):
    data = announce(client, rep, "sbc-1")
    assert data["status"] == "no_connection"  # nobody can fetch it: only SMTP can settle it
    assert listed(client, rep) == []  # announced just now: not late yet
    age(services, "sbc-1", 9)
    assert listed(client, rep) == []
    age(services, "sbc-1", 11)
    [entry] = listed(client, rep)
    assert entry == {
        "ref": "sbc-1", "subject": SUBJECT, "recipients": TO, "address": rep.bcc_address,
        "announced_at": entry["announced_at"], "waited_minutes": 11, "can_fetch": False,
        "fetch_status": "no_connection", "note": data["error"],
        "actions": [{"name": "dismiss", "method": "POST", "href": f"{LIST}/sbc-1/dismiss"}]}
    page = signed_in.get("/").get_data(as_text=True)
    assert "Not logged yet" in page and SUBJECT in page and "bob@cust.example" in page
    assert "/not-logged/sbc-1/dismiss" in page and "/not-logged/sbc-1/fetch" not in page
    assert "Settings › Mailbox connections" in page

    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m1@acme.example", ref="sbc-1")),
              [rep.bcc_address], rep.email)
    assert listed(client, rep) == []
    assert "Not logged yet" not in signed_in.get("/").get_data(as_text=True)
    ann = announcement(services, "sbc-1")
    assert ann.logged_message_id is not None
    assert timedelta(minutes=10) < ann.logged_at - ann.created_at < timedelta(minutes=12)


def test_a_copy_without_the_header_clears_it_by_message_id(client, services, rep, send_mail):
    announce(client, rep, "sbc-2", internet_message_id="<m2@acme.example>")
    age(services, "sbc-2", 30)
    assert len(listed(client, rep)) == 1
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m2@acme.example")), [rep.bcc_address], rep.email)
    assert listed(client, rep) == []


def test_a_copy_that_overtook_its_announcement_settles_it_at_once(client, services, rep, send_mail):
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m3@acme.example")), [rep.bcc_address], rep.email)
    announce(client, rep, "sbc-3", internet_message_id="m3@acme.example")
    age(services, "sbc-3", 30)
    assert listed(client, rep) == []
    assert announcement(services, "sbc-3").logged_at is not None


def test_a_ref_only_copy_that_overtook_its_announcement_settles_it_at_once(client, services, rep, send_mail):
    # Outlook announces with the ref alone (no Message-ID before the send).
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m5@acme.example", ref="sbc-5")),
              [rep.bcc_address], rep.email)
    announce(client, rep, "sbc-5")
    ann = announcement(services, "sbc-5")
    with services.db.session() as session:
        copy = session.scalar(select(MailMessage).where(MailMessage.smartbcc_ref == "sbc-5"))
        assert (ann.logged_message_id, ann.logged_at) == (copy.id, copy.created_at)
    age(services, "sbc-5", 30)
    assert listed(client, rep) == []


def test_a_copy_and_its_announcement_that_missed_each_other_are_settled_when_listed(
        client, signed_in, services, rep, send_mail):
    """The announcement committed while the copy's transaction was between its look for it and its
    commit: neither saw the other. The list settles it instead of calling it not logged."""
    announce(client, rep, "sbc-6")
    announce(client, rep, "sbc-7")
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m6@acme.example", ref="sbc-6")),
              [rep.bcc_address], rep.email)
    with services.db.session() as session:  # as if the copy's settle had not seen the announcement
        session.execute(update(SentAnnouncement).where(SentAnnouncement.ref == "sbc-6")
                        .values(logged_at=None, logged_message_id=None))
    age(services, "sbc-6", 30)
    age(services, "sbc-7", 30)
    assert [e["ref"] for e in listed(client, rep)] == ["sbc-7"]  # sbc-7's copy never came
    ann = announcement(services, "sbc-6")
    with services.db.session() as session:
        copy = session.scalar(select(MailMessage).where(MailMessage.smartbcc_ref == "sbc-6"))
    assert (ann.logged_message_id, ann.logged_at) == (copy.id, copy.created_at)  # kept by the read
    # The home page settles the same way.
    with services.db.session() as session:
        session.execute(update(SentAnnouncement).where(SentAnnouncement.ref == "sbc-6")
                        .values(logged_at=None, logged_message_id=None))
    page = signed_in.get("/").get_data(as_text=True)
    assert "/not-logged/sbc-7/dismiss" in page and "/not-logged/sbc-6/" not in page
    assert announcement(services, "sbc-6").logged_message_id == copy.id


def test_a_deleted_copy_does_not_settle_it(client, services, rep, send_mail):
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m8@acme.example", ref="sbc-8")),
              [rep.bcc_address], rep.email)
    with services.db.session() as session:
        session.execute(update(MailMessage).where(MailMessage.smartbcc_ref == "sbc-8")
                        .values(deleted_at=now_utc()))
    announce(client, rep, "sbc-8")
    age(services, "sbc-8", 30)
    assert [e["ref"] for e in listed(client, rep)] == ["sbc-8"]


def test_deleting_the_logged_copy_leaves_no_text_in_its_announcement(client, services, rep, send_mail):
    announce(client, rep, "sbc-9")
    announce(client, rep, "sbc-10")
    for ref in ("sbc-9", "sbc-10"):
        send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], f"{ref}@acme.example", ref=ref)),
                  [rep.bcc_address], rep.email)
    logged = announcement(services, "sbc-9")
    assert logged.subject == SUBJECT and logged.logged_message_id is not None
    response = client.delete(f"/api/v1/mailbox/mailMessages/{logged.logged_message_id}", headers=rep.auth)
    assert response.status_code == 200, response.get_json()
    forgotten, kept = announcement(services, "sbc-9"), announcement(services, "sbc-10")
    assert (forgotten.subject, forgotten.recipients) == (None, [])
    assert forgotten.logged_at == logged.logged_at  # its time to log still counts
    assert (kept.subject, kept.recipients) == (SUBJECT, TO)


def test_another_reps_copy_or_announcement_is_not_theirs(client, services, rep, make_account, send_mail):
    carol = make_account("acme.example", "carol@acme.example", admin=False)
    announce(client, rep, "sbc-4")
    announce(client, carol, "sbc-4c")
    age(services, "sbc-4", 20)
    age(services, "sbc-4c", 20)
    assert [e["ref"] for e in listed(client, rep)] == ["sbc-4"]
    assert [e["ref"] for e in listed(client, carol)] == ["sbc-4c"]
    # Carol's copy carrying Alice's ref does not settle Alice's expectation.
    send_mail(smtp_copy(sent_mail(carol.email, [carol.bcc_address], "m4@acme.example", ref="sbc-4")),
              [carol.bcc_address], carol.email)
    assert [e["ref"] for e in listed(client, rep)] == ["sbc-4"]
    # Nor may she act on it: it looks like no announcement at all.
    response = client.post(f"{LIST}/sbc-4/dismiss", headers=carol.auth)
    assert_error(response, 404)
    assert "No mail you sent was announced with the ref 'sbc-4'" in response.get_json()["error"]
    assert [e["ref"] for e in listed(client, rep)] == ["sbc-4"]


def test_fetch_through_graph_logs_it_and_clears_it(client, services, rep, outlook, ms):
    data = announce(client, rep, "sbc-5", provider="outlook")
    assert data["status"] == "pending"  # not in Sent Items yet: the job looks again later
    age(services, "sbc-5", 15)
    [entry] = listed(client, rep)
    assert entry["can_fetch"] is True
    assert [a["name"] for a in entry["actions"]] == ["fetch", "dismiss"]
    assert entry["actions"][0] == {"name": "fetch", "method": "POST", "href": f"{LIST}/sbc-5/fetch"}
    ms.add(sent_mail(rep.email, [rep.bcc_address], "m5@acme.example", ref="sbc-5"))
    response = client.post(f"{LIST}/sbc-5/fetch", headers=rep.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"] == {"ref": "sbc-5", "fetch_status": "found", "logged": True,
                                           "message": "Found in your mailbox and logged."}
    assert listed(client, rep) == [] and stored(services) == 1
    assert announcement(services, "sbc-5").logged_at is not None


def test_fetch_through_gmail_from_the_home_page(client, signed_in, services, rep, gmail, google):
    announce(client, rep, "sbc-6", internet_message_id="<g6@acme.example>")
    age(services, "sbc-6", 15)
    page = signed_in.get("/").get_data(as_text=True)
    assert "/not-logged/sbc-6/fetch" in page and "Fetch and log" in page
    # A page form like the others: without the session's CSRF token nothing happens.
    google.add(sent_mail(rep.email, [rep.bcc_address], "g6@acme.example"))
    assert signed_in.post("/not-logged/sbc-6/fetch").status_code == 400
    assert stored(services) == 0
    response = signed_in.post("/not-logged/sbc-6/fetch", data={"csrf_token": csrf_of(signed_in)},
                              follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Found in your mailbox and logged." in body
    assert "Not logged yet" not in body
    assert stored(services) == 1 and listed(client, rep) == []


def test_a_fetch_that_finds_nothing_says_so_and_keeps_it_listed(client, services, rep, outlook, ms):
    announce(client, rep, "sbc-7")
    age(services, "sbc-7", 15)
    data = client.post(f"{LIST}/sbc-7/fetch", headers=rep.auth).get_json()["data"]
    assert data["fetch_status"] == "not_found" and data["logged"] is False
    assert "Sent Items" in data["message"]
    [entry] = listed(client, rep)
    assert entry["fetch_status"] == "not_found" and "Sent Items" in entry["note"]


def test_fetch_without_a_connection_or_for_an_unknown_ref(client, services, rep):
    announce(client, rep, "sbc-8")
    age(services, "sbc-8", 15)
    response = client.post(f"{LIST}/sbc-8/fetch", headers=rep.auth)
    assert_error(response, 409)
    assert "connect Outlook or Gmail under Settings > Connections" in response.get_json()["error"]
    response = client.post(f"{LIST}/nope/fetch", headers=rep.auth)
    assert_error(response, 404)
    assert "'nope'" in response.get_json()["error"]
    assert client.get(LIST).status_code == 401


def test_dismiss_through_the_api_and_the_page(client, signed_in, services, rep, send_mail):
    announce(client, rep, "sbc-9")
    announce(client, rep, "sbc/10")  # any printable ref, slashes included
    age(services, "sbc-9", 15)
    age(services, "sbc/10", 15)
    assert {e["ref"] for e in listed(client, rep)} == {"sbc-9", "sbc/10"}
    response = client.post(f"{LIST}/sbc-9/dismiss", headers=rep.auth)
    assert response.status_code == 200 and response.get_json()["data"]["dismissed"] is True
    assert [e["ref"] for e in listed(client, rep)] == ["sbc/10"]
    page = signed_in.get("/").get_data(as_text=True)
    action = re.search(r'action="([^"]*/dismiss)"', page).group(1)
    assert action == "/not-logged/sbc/10/dismiss"
    response = signed_in.post(action, data={"csrf_token": csrf_of(signed_in)}, follow_redirects=True)
    assert "Dismissed: it is no longer listed." in response.get_data(as_text=True)
    assert listed(client, rep) == []
    # A copy arriving after the dismissal still settles it, and its time to log counts.
    send_mail(smtp_copy(sent_mail(rep.email, [rep.bcc_address], "m9@acme.example", ref="sbc-9")),
              [rep.bcc_address], rep.email)
    assert announcement(services, "sbc-9").logged_at is not None


def test_the_announcement_fields_are_checked(client, rep):
    response = client.post(ANNOUNCE, json={"ref": "r1", "address": rep.bcc_address, "subject": 5,
                                           "recipients": "bob@cust.example"}, headers=rep.auth)
    assert_error(response, 400, "subject", "recipients")


def test_the_wait_is_a_setting(client, services, rep, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(not_logged_after_minutes=60))
    announce(client, rep, "sbc-11")
    age(services, "sbc-11", 30)
    assert listed(client, rep) == []
    age(services, "sbc-11", 61)
    assert [e["waited_minutes"] for e in listed(client, rep)] == [61]


@pytest.fixture
def logged_times(services, rep):
    """Five announcements of the company logged after 10, 20, 30, 40 and 600 seconds, one still waiting."""
    now = now_utc()
    with services.db.session() as session:
        for n, seconds in enumerate([40, 10, 600, 30, 20]):
            created = now - timedelta(hours=1, minutes=n)
            session.add(SentAnnouncement(company_id=rep.company_id, user_id=rep.user_id, ref=f"t{n}",
                                         address=rep.bcc_address, status="found", created_at=created,
                                         logged_at=created + timedelta(seconds=seconds)))
        session.add(SentAnnouncement(company_id=rep.company_id, user_id=rep.user_id, ref="waiting",
                                     address=rep.bcc_address, status="pending", created_at=now))


def test_p50_and_p90_are_shown_to_admins_only(app, signed_in, services, rep, make_account, logged_times):
    page = signed_in.get("/settings/smart-bcc").get_data(as_text=True)
    assert "Time to log announced mail" in page
    assert '<dd id="log-time-p50">30 s</dd>' in page
    assert '<dd id="log-time-p90">10 min</dd>' in page
    carol = make_account("acme.example", "carol@acme.example", admin=False, password=PASSWORD)
    other = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', other.get("/sign-in").get_data(as_text=True)).group(1)
    assert other.post("/sign-in", data={"email": carol.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 302
    page = other.get("/settings/smart-bcc").get_data(as_text=True)
    assert "Smart Bcc" in page and "Time to log announced mail" not in page
    with services.db.session() as session:
        with pytest.raises(DomainError) as refused:
            expectations.log_times(session, Actor(carol.user_id, carol.company_id, "Carol", carol.email), now_utc())
        assert refused.value.status == 403


def test_the_percentiles_are_nearest_rank():
    assert expectations._percentile([1.0], 90) == 1.0
    values = [float(v) for v in range(1, 11)]
    assert (expectations._percentile(values, 50), expectations._percentile(values, 90)) == (5.0, 9.0)
