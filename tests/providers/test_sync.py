"""The periodic sync: sent mail with a Smart Bcc address in Bcc that no add-in announced (Graph delta, Gmail history)."""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from backend.models import InboundRecord, MailboxConnection, MailMessage
from backend.providers.connections import now_utc
from backend.providers.sync import sync_connection
from backend.providers.tasks import tick

from .conftest import sent_mail, smtp_copy
from .fake_microsoft import graph_error
from .fake_google import gmail_error


def _conn(services, conn_id) -> MailboxConnection:
    with services.db.session() as session:
        return session.get(MailboxConnection, conn_id)


def _due(services, conn_id):
    """Makes the connection due now (as the schedule would, some minutes later)."""
    with services.db.session() as session:
        session.get(MailboxConnection, conn_id).next_sync_at = None


def stored_ids(services) -> set[str]:
    with services.db.session() as session:
        return set(session.scalars(select(MailMessage.message_id_header)))


def test_graph_delta_round_fetches_only_smart_bcc_mail_in_one_batch(services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [], "plain-1@acme.example"))
    ms.add(sent_mail(rep.email, [rep.bcc_address], "phone-1@acme.example"))
    ms.add(sent_mail(rep.email, ["someone@else.example"], "plain-2@acme.example"))
    ms.add(sent_mail(rep.email, [rep.bcc_address], "phone-2@acme.example"))
    ms.add(sent_mail(rep.email, ["other@bcc.test"], "unknown-slug@acme.example"))
    result = sync_connection(services, outlook)
    assert result["sent_logged"] == 2
    assert stored_ids(services) == {"phone-1@acme.example", "phone-2@acme.example"}
    first, *pages = ms.seen(r"/messages/delta$")
    assert first.q("changeType") == "created"
    assert set(first.q("$select").split(",")) == {"bccRecipients", "internetMessageId"}
    assert first.q("$filter").startswith("receivedDateTime ge ")
    assert first.headers["prefer"] == "odata.maxpagesize=50"
    assert len(pages) == 2 and all(p.q("$skiptoken") for p in pages)  # followed @odata.nextLink
    # MIME only for the two with a Smart Bcc address, in one $batch; no single $value calls.
    [batch] = ms.seen(r"^/v1.0/\$batch$", "POST")
    urls = [r["url"] for r in json.loads(batch.body)["requests"]]
    assert len(urls) == 2 and all(u.startswith("/me/messages/") and u.endswith("/$value") for u in urls)
    assert not ms.seen(r"^/v1.0/me/messages/.+/\$value$")
    conn = _conn(services, outlook)
    assert "deltatoken=" in conn.sync_cursor and conn.last_sync_at and conn.status == "connected"
    with services.db.session() as session:
        assert {r.source for r in session.scalars(select(InboundRecord))} == {"graph"}


def test_the_next_round_uses_the_stored_delta_link(services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "r1@acme.example"))
    sync_connection(services, outlook)
    cursor = _conn(services, outlook).sync_cursor
    ms.add(sent_mail(rep.email, [rep.bcc_address], "r2@acme.example"))
    _due(services, outlook)
    assert sync_connection(services, outlook)["sent_logged"] == 1
    last = ms.seen(r"/messages/delta$")[-1]
    assert last.q("$deltatoken") == parse_qs(urlsplit(cursor).query)["$deltatoken"][0]
    assert stored_ids(services) == {"r1@acme.example", "r2@acme.example"}


def test_a_second_run_right_away_does_nothing(services, rep, outlook, ms):
    sync_connection(services, outlook)
    assert sync_connection(services, outlook) == {"skipped": True}
    assert len(ms.seen(r"/messages/delta$")) == 1


def test_mail_already_logged_over_smtp_is_not_downloaded(services, rep, outlook, ms, send_mail):
    raw = sent_mail(rep.email, [rep.bcc_address], "dup@acme.example")
    send_mail(smtp_copy(raw), [rep.bcc_address], rep.email)
    ms.add(raw)
    assert sync_connection(services, outlook)["sent_logged"] == 0
    assert not ms.seen(r"\$batch|\$value")


def test_an_expired_delta_token_starts_a_new_round(services, rep, outlook, ms):
    sync_connection(services, outlook)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "after-410@acme.example"))
    ms.delta_gone = True
    _due(services, outlook)
    assert sync_connection(services, outlook)["sent_logged"] == 1
    fresh = ms.seen(r"/messages/delta$")[-1]
    assert fresh.q("$filter", ) and not fresh.q("$deltatoken")
    assert _conn(services, outlook).status == "connected"


def test_batch_parts_throttled_with_429_are_sent_again(services, rep, outlook, ms, waits):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "t1@acme.example"))
    ms.add(sent_mail(rep.email, [rep.bcc_address], "t2@acme.example"))
    ms.inject(r"/\$value$", graph_error(429, "ApplicationThrottled", "slow down", **{"Retry-After": "7"}))
    assert sync_connection(services, outlook)["sent_logged"] == 2
    batches = ms.seen(r"^/v1.0/\$batch$", "POST")
    assert [len(json.loads(b.body)["requests"]) for b in batches] == [2, 1]
    assert waits == [7]


def test_gmail_history_then_metadata_then_raw(services, rep, gmail, google):
    google.add(sent_mail(rep.email, [], "gplain@acme.example"))
    google.add(sent_mail(rep.email, [rep.bcc_address], "gphone@acme.example"))
    google.add(b"From: bob@cust.example\r\nTo: alice@acme.example\r\nSubject: hi\r\nMessage-ID: <in@x>\r\n\r\nhi",
               folder="inbox")
    start = _conn(services, gmail).sync_cursor
    assert sync_connection(services, gmail)["sent_logged"] == 1
    [history] = google.seen(r"/users/me/history$")
    assert history.q("startHistoryId") == start and history.q("labelId") == "SENT"
    assert history.query["historyTypes"] == ["messageAdded"]
    gets = google.seen(r"/users/me/messages/[0-9a-f]+$")
    metadata = [g for g in gets if g.q("format") == "metadata"]
    raw = [g for g in gets if g.q("format") == "raw"]
    assert len(metadata) == 2 and set(metadata[0].query["metadataHeaders"]) == {"Bcc", "Message-ID"}
    assert len(raw) == 1  # only the one with the Smart Bcc address
    assert len(google.seen(r"^/batch/gmail/v1$", "POST")) == 2
    assert stored_ids(services) == {"gphone@acme.example"}
    assert _conn(services, gmail).sync_cursor == str(google.history)


def test_gmail_stale_history_id_falls_back_to_a_full_resync(services, rep, gmail, google):
    google.add(sent_mail(rep.email, [rep.bcc_address], "resync@acme.example"))
    google.oldest_history = google.history + 5  # our stored id is now too old: 404
    assert sync_connection(services, gmail)["sent_logged"] == 1
    [history] = google.seen(r"/users/me/history$")
    [search] = google.seen(r"/users/me/messages$")
    assert search.q("q") == "in:sent newer_than:1d"
    assert google.seen(r"/users/me/profile$")
    assert _conn(services, gmail).sync_cursor == str(google.history)
    assert stored_ids(services) == {"resync@acme.example"}


def test_another_companys_address_in_bcc_is_left_to_that_company(services, rep, outlook, ms, make_account):
    other = make_account("globex.example", "gary@globex.example")
    ms.add(sent_mail(rep.email, [other.bcc_address], "foreign@acme.example"))
    assert sync_connection(services, outlook)["sent_logged"] == 0
    assert not ms.seen(r"\$batch")


def test_tick_queues_what_is_due(services, rep, outlook, gmail, monkeypatch):
    queued = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, *args: queued.append((name, *args)))
    assert tick(services) == {"syncs": 2, "fetches": 0}
    assert sorted(queued) == sorted([("providers.sync_mailbox", outlook), ("providers.sync_mailbox", gmail)])
    with services.db.session() as session:
        session.get(MailboxConnection, outlook).next_sync_at = now_utc() + timedelta(minutes=5)
        session.get(MailboxConnection, gmail).status = "broken"
    queued.clear()
    assert tick(services) == {"syncs": 0, "fetches": 0} and queued == []


def test_the_delta_cursor_is_an_opaque_link(services, rep, outlook, ms):
    sync_connection(services, outlook)
    cursor = _conn(services, outlook).sync_cursor
    token = parse_qs(urlsplit(cursor).query)["$deltatoken"][0]
    assert json.loads(base64.urlsafe_b64decode(token))  # the fake's state, round-tripped untouched
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 0


def test_sync_command_runs_a_round_now(services, settings, rep, outlook, ms, monkeypatch):
    from click.testing import CliRunner

    from backend.cli import main

    env = {"SMARTBCC_DATABASE_URL": settings.database_url, "SMARTBCC_SECRET_KEY": settings.secret_key,
           "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir), "SMARTBCC_BLOB_DIR": str(settings.blob_dir),
           "SMARTBCC_MAIL_DOMAIN": settings.mail_domain, "SMARTBCC_MS_CLIENT_ID": settings.ms_client_id,
           "SMARTBCC_MS_CLIENT_SECRET": settings.ms_client_secret,
           "SMARTBCC_MS_AUTHORITY_HOST": settings.ms_authority_host, "SMARTBCC_MS_GRAPH_URL": settings.ms_graph_url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "cli@acme.example"))
    with services.db.session() as session:  # not due: the command syncs anyway
        session.get(MailboxConnection, outlook).next_sync_at = now_utc() + timedelta(hours=1)
    result = CliRunner().invoke(main, ["providers", "sync", "--connection-id", str(outlook)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):])[str(outlook)]["sent_logged"] == 1
    assert stored_ids(services) == {"cli@acme.example"}


def test_gmail_batch_parts_throttled_are_sent_again(services, rep, gmail, google, waits):
    google.add(sent_mail(rep.email, [rep.bcc_address], "gt1@acme.example"))
    google.add(sent_mail(rep.email, [rep.bcc_address], "gt2@acme.example"))
    # The first part of the first batch (metadata) is throttled; the rest go through.
    google.inject(r"/users/me/messages/[0-9a-f]+$", gmail_error(429, "rateLimitExceeded", "Rate Limit Exceeded",
                                                               **{"Retry-After": "5"}))
    assert sync_connection(services, gmail)["sent_logged"] == 2
    metadata = [g for g in google.seen(r"/users/me/messages/[0-9a-f]+$") if g.q("format") == "metadata"]
    assert len(metadata) == 3  # two, then the throttled one again
    assert waits == [5.0]
