"""POST /api/v1/addin/sent: the announced sent copy is found in the mailbox and logged through the one pipeline."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.models import InboundRecord, MailMessage, SentAnnouncement, ThreadLink
from backend.providers import fetch
from backend.providers.connections import now_utc
from backend.providers.fetch import fetch_announcement

from tests.api.conftest import assert_error as expect_error

from .conftest import sent_mail, smtp_copy
from .fake_google import gmail_error
from .fake_microsoft import REF_PROP, graph_error

API = "/api/v1/addin/sent"


def announce(client, rep, ref, address=None, **extra):
    response = client.post(API, json={"ref": ref, "address": address or rep.bcc_address, **extra}, headers=rep.auth)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["data"]


def counts(services):
    with services.db.session() as session:
        return (session.scalar(select(func.count()).select_from(MailMessage)),
                session.scalar(select(func.count()).select_from(InboundRecord)))


def records(services):
    with services.db.session() as session:
        return list(session.scalars(select(InboundRecord).order_by(InboundRecord.id)))


def test_outlook_sent_copy_is_found_by_the_ref_header_and_logged(client, services, rep, outlook, ms):
    raw = sent_mail(rep.email, [rep.bcc_address], "m1@acme.example", ref="ref-1")
    ms.add(raw)
    data = announce(client, rep, "ref-1")
    assert data["status"] == "found" and data["provider"] == "outlook" and len(data["inbound_record_ids"]) == 1
    [lookup] = ms.seen(r"/me/mailFolders\('sentitems'\)/messages$")
    assert lookup.q("$filter") == (f"singleValueExtendedProperties/any(ep: ep/id eq '{REF_PROP}' "
                                   "and ep/value eq 'ref-1')")
    assert set(lookup.q("$select").split(",")) == {"id", "internetMessageId", "bccRecipients"}
    assert lookup.headers["authorization"].startswith("Bearer at-")
    assert len(ms.seen(r"/me/messages/.+/\$value$")) == 1
    [record] = records(services)
    assert record.source == "graph" and record.status == "processed" and record.user_id == rep.user_id
    assert any(d.get("outcome") == "fetched" and rep.email in d["reason"] for d in record.decisions)
    assert counts(services) == (1, 1)


def test_outlook_lookup_by_internet_message_id(client, services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "m2@acme.example"))
    data = announce(client, rep, "ref-2", internet_message_id="<m2@acme.example>")
    assert data["status"] == "found"
    [lookup] = ms.seen(r"/me/mailFolders\('sentitems'\)/messages$")
    assert lookup.q("$filter") == "internetMessageId eq '<m2@acme.example>'"


def test_a_deal_address_in_bcc_links_the_deal(client, services, rep, outlook, ms):
    deal = client.post("/api/v1/deals", json={"title": "Renewal"}, headers=rep.auth).get_json()["data"]
    ms.add(sent_mail(rep.email, [deal["bcc_address"]], "m3@acme.example", ref="ref-3"))
    assert announce(client, rep, "ref-3", deal["bcc_address"])["status"] == "found"
    with services.db.session() as session:
        links = {(lk.item_type, lk.item_id) for lk in session.scalars(select(ThreadLink))}
    assert ("deal", deal["id"]) in links


@pytest.mark.parametrize("smtp_first", [True, False], ids=["smtp-then-graph", "graph-then-smtp"])
def test_the_smtp_copy_and_the_fetched_copy_collapse(client, services, rep, outlook, ms, send_mail, smtp_first):
    raw = sent_mail(rep.email, [rep.bcc_address], "m4@acme.example", ref="ref-4")
    ms.add(raw)
    if smtp_first:
        send_mail(smtp_copy(raw), [rep.bcc_address], rep.email)
    announce(client, rep, "ref-4")
    if not smtp_first:
        send_mail(smtp_copy(raw), [rep.bcc_address], rep.email)
    messages, arrivals = counts(services)
    assert (messages, arrivals) == (1, 2)
    statuses = sorted((r.source, r.status) for r in records(services))
    first, second = ("smtp", "graph") if smtp_first else ("graph", "smtp")
    assert (first, "processed") in statuses and (second, "duplicate") in statuses


def test_a_copy_not_there_yet_is_looked_for_again_with_backoff_then_found(client, services, rep, outlook, ms):
    data = announce(client, rep, "ref-5")
    assert data["status"] == "pending" and data["attempts"] == 1 and data["next_attempt_at"]
    now = now_utc()
    # Not due yet: a second run does nothing (idempotent).
    assert fetch_announcement(services, data["id"], now=now) == "pending"
    assert len(ms.seen(r"sentitems")) == 1
    later = now + timedelta(seconds=fetch.BACKOFF[0] + 1)
    assert fetch_announcement(services, data["id"], now=later) == "pending"
    ms.add(sent_mail(rep.email, [rep.bcc_address], "m5@acme.example", ref="ref-5"))
    later += timedelta(seconds=fetch.BACKOFF[1] + 1)
    assert fetch_announcement(services, data["id"], now=later) == "found"
    assert counts(services) == (1, 1)


def test_a_copy_never_found_ends_as_not_found_visibly(client, signed_in, services, rep, outlook, ms):
    data = announce(client, rep, "ref-6")
    when = now_utc()
    for delay in fetch.BACKOFF:
        when += timedelta(seconds=delay + 1)
        status = fetch_announcement(services, data["id"], now=when)
    assert status == "not_found"
    shown = client.get(f"{API}/{data['id']}", headers=rep.auth).get_json()["data"]
    assert shown["status"] == "not_found" and shown["attempts"] == fetch.MAX_LOOKS
    assert "Sent Items" in shown["error"] and shown["next_attempt_at"] is None
    assert len(ms.seen(r"sentitems")) == fetch.MAX_LOOKS
    page = signed_in.get("/settings/connections").get_data(as_text=True)
    assert "Not found" in page and "Sent Items" in page
    # Done means done: another run (a duplicate job) changes nothing.
    assert fetch_announcement(services, data["id"], now=when + timedelta(days=1)) == "not_found"
    assert len(ms.seen(r"sentitems")) == fetch.MAX_LOOKS


def test_429_with_retry_after_is_honoured(client, services, rep, outlook, ms, waits):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "m7@acme.example", ref="ref-7"))
    ms.inject(r"sentitems", graph_error(429, "TooManyRequests", "Too many requests", **{"Retry-After": "3"}),
              times=2)
    assert announce(client, rep, "ref-7")["status"] == "found"
    assert waits == [3.0, 3.0]


def test_a_long_retry_after_reschedules_instead_of_sleeping(client, services, rep, outlook, ms, waits):
    ms.inject(r"sentitems", graph_error(429, "TooManyRequests", "Too many requests", **{"Retry-After": "600"}))
    data = announce(client, rep, "ref-8")
    assert data["status"] == "pending" and data["attempts"] == 0 and waits == []
    assert "600" in data["error"]
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, data["id"])
        assert ann.next_attempt_at - now_utc() > timedelta(seconds=500)


def test_announcing_twice_is_one_announcement(client, services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "m9@acme.example", ref="ref-9"))
    first = client.post(API, json={"ref": "ref-9", "address": rep.bcc_address}, headers=rep.auth)
    again = client.post(API, json={"ref": "ref-9", "address": rep.bcc_address}, headers=rep.auth)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["data"]["id"] == again.get_json()["data"]["id"]
    assert len(ms.seen(r"/\$value$")) == 1


def test_announcement_validation(client, rep, make_account):
    other = make_account("globex.example", "gary@globex.example")
    expect_error(client.post(API, json={}, headers=rep.auth), 400, "ref", "address")
    expect_error(client.post(API, json={"ref": "a b", "address": rep.bcc_address}, headers=rep.auth), 400, "ref")
    expect_error(client.post(API, json={"ref": "r", "address": "bob@cust.example"}, headers=rep.auth), 400, "address")
    expect_error(client.post(API, json={"ref": "r", "address": other.bcc_address}, headers=rep.auth), 400, "address")
    expect_error(client.post(API, json={"ref": "r", "address": rep.bcc_address, "provider": "aol"},
                             headers=rep.auth), 400, "provider")
    expect_error(client.post(API, json={"ref": "r", "address": rep.bcc_address}), 401)
    assert client.get(f"{API}/999999", headers=rep.auth).status_code == 404


def test_without_a_connection_the_announcement_says_how_to_connect(client, rep):
    data = announce(client, rep, "ref-10")
    assert data["status"] == "no_connection" and "Settings > Connections" in data["error"]


def test_a_sent_copy_from_an_unaccepted_address_is_rejected_visibly(client, services, rep, outlook, ms):
    ms.add(sent_mail("alice.private@elsewhere.example", [rep.bcc_address], "m11@x.example", ref="ref-11"))
    data = announce(client, rep, "ref-11")
    assert data["status"] == "rejected" and "does not accept mail from" in data["error"]
    assert counts(services) == (0, 0)


def test_gmail_sent_copy_is_found_by_rfc822msgid_as_raw(client, services, rep, gmail, google):
    google.add(sent_mail(rep.email, [rep.bcc_address], "g1@acme.example"))
    data = announce(client, rep, "ref-g1", internet_message_id="<g1@acme.example>")
    assert data["status"] == "found" and data["provider"] == "gmail"
    [search] = google.seen(r"/users/me/messages$")
    assert search.q("q") == "rfc822msgid:g1@acme.example"
    [get] = google.seen(r"/users/me/messages/[0-9a-f]+$")
    assert get.q("format") == "raw"
    assert google.seen(r"^/batch/gmail/v1$", "POST")
    [record] = records(services)
    assert record.source == "gmail" and record.status == "processed"


def test_gmail_without_message_id_searches_sent_mail_by_bcc_and_matches_the_ref(client, services, rep, gmail,
                                                                               google):
    google.add(sent_mail(rep.email, [rep.bcc_address], "g-other@acme.example", ref="someone-else"))
    google.add(sent_mail(rep.email, [rep.bcc_address], "g2@acme.example", ref="ref-g2"))
    data = announce(client, rep, "ref-g2")
    assert data["status"] == "found"
    [search] = google.seen(r"/users/me/messages$")
    assert search.q("q") == f"in:sent bcc:{rep.bcc_address} newer_than:1d"
    metadata = [s for s in google.seen(r"/users/me/messages/[0-9a-f]+$") if s.q("format") == "metadata"]
    assert len(metadata) == 2
    assert set(metadata[0].query["metadataHeaders"]) == {"Bcc", "Message-ID", "X-SmartBcc-Ref"}
    with services.db.session() as session:
        assert session.scalar(select(MailMessage.message_id_header)) == "g2@acme.example"


@pytest.mark.parametrize("status,reason", [(429, "rateLimitExceeded"), (403, "userRateLimitExceeded")])
def test_gmail_rate_limits_are_waited_out(client, services, rep, gmail, google, waits, status, reason):
    google.add(sent_mail(rep.email, [rep.bcc_address], "g3@acme.example"))
    google.inject(r"/users/me/messages$", gmail_error(status, reason, "Rate Limit Exceeded"))
    google.inject(r"/users/me/messages/[0-9a-f]+$", gmail_error(status, reason, "Rate Limit Exceeded",
                                                               **{"Retry-After": "2"}))
    data = announce(client, rep, "ref-g3", internet_message_id="g3@acme.example")
    assert data["status"] == "found"
    assert len(waits) == 2 and waits[1] == 2.0 and 0 < waits[0] <= 1.0


def test_gmail_expired_access_token_is_renewed_once(client, services, rep, gmail, google):
    google.add(sent_mail(rep.email, [rep.bcc_address], "g4@acme.example"))
    google.tokens.expire_all_access()
    assert announce(client, rep, "ref-g4", internet_message_id="g4@acme.example")["status"] == "found"
    assert len(google.seen(r"^/token$", "POST")) == 1
