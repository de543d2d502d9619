"""Customers' replies in logged threads are fetched from the connected mailbox; other mail is not read."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select, update

from backend.intake.accept import Fetched, accept_message
from backend.intake.checks import SenderNotAccepted, SenderNotAuthenticated, route_address, too_large
from backend.models import Company, InboundRecord, MailboxConnection, MailMessage, MailThread, ThreadLink
from backend.pipeline.runner import resume_pending
from backend.providers.connections import now_utc
from backend.providers.ingest import ingest_reply
from backend.providers.sync import sync_connection

from .conftest import sent_mail


def _date(minutes_ago: float) -> str:
    return format_datetime(now_utc() - timedelta(minutes=minutes_ago))


def reply(msgid: str, in_reply_to: str | None, sender="Bob Buyer <bob@cust.example>", subject="Re: Proposal",
          minutes_ago: float = 1) -> bytes:
    head = f"From: {sender}\r\nTo: Alice Rep <alice@acme.example>\r\nSubject: {subject}\r\n" \
           f"Date: {_date(minutes_ago)}\r\nMessage-ID: <{msgid}>\r\n"
    if in_reply_to:
        head += f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n"
    return (head + "Content-Type: text/plain\r\n\r\nSounds good, let's sign.\r\n").encode()


@pytest.fixture
def logged_thread(client, rep, send_mail, services):
    """Alice's mail to Bob, Bcc'd to a deal's address 30 minutes ago: a linked thread. Returns (deal, thread id)."""
    deal = client.post("/api/v1/deals", json={"title": "Renewal"}, headers=rep.auth).get_json()["data"]
    raw = sent_mail(rep.email, [], "orig@acme.example", date=_date(30),
                    to="Bob Buyer <bob@cust.example>, Carl Cust <carl@cust.example>")
    send_mail(raw, [deal["bcc_address"]], rep.email)
    with services.db.session() as session:
        thread_id = session.scalar(select(MailThread.id))
    return deal, thread_id


def _thread_messages(services, thread_id):
    with services.db.session() as session:
        return list(session.scalars(select(MailMessage).where(MailMessage.thread_id == thread_id)
                                    .order_by(MailMessage.sent_at)))


def test_graph_reply_from_a_customer_joins_the_logged_thread(services, rep, outlook, ms, logged_thread):
    deal, thread_id = logged_thread
    wanted = ms.add(reply("reply-1@cust.example", "orig@acme.example"), folder="inbox")
    unrelated = ms.add(reply("other@cust.example", None, subject="Lunch?"), folder="inbox")
    stranger = ms.add(reply("s@else.example", "orig@acme.example", sender="Sam <sam@else.example>"), folder="inbox")
    result = sync_connection(services, outlook)
    assert result["logged"] == 1
    searches = ms.seen(r"/me/mailFolders\('inbox'\)/messages$")
    assert {s.q("$filter").split("'")[1] for s in searches} == {"bob@cust.example", "carl@cust.example"}
    for search in searches:
        assert " and receivedDateTime ge " in search.q("$filter")
        assert set(search.q("$select").split(",")) == {"id", "internetMessageId", "internetMessageHeaders"}
    # Only the reply's MIME was downloaded; the unrelated mail and the stranger's were never read.
    [batch] = ms.seen(r"^/v1.0/\$batch$", "POST")
    assert [r["url"] for r in json.loads(batch.body)["requests"]] == [f"/me/messages/{wanted.id}/$value"]
    assert unrelated.id not in str(ms.requests) and stranger.id not in str(ms.requests)

    messages = _thread_messages(services, thread_id)
    assert [m.sender_email for m in messages] == ["alice@acme.example", "bob@cust.example"]
    assert messages[1].owner_id == rep.user_id
    with services.db.session() as session:
        record = session.scalar(select(InboundRecord).where(InboundRecord.source == "graph"))
        thread = session.get(MailThread, thread_id)
        links = {(lk.item_type, lk.item_id) for lk in thread.links if not lk.removed}
    assert record.status == "processed" and record.user_id == rep.user_id
    intake = next(d for d in record.decisions if d["stage"] == "intake")
    assert intake["outcome"] == "mailbox-reply" and "alice@acme.example's mailbox" in intake["reason"]
    assert any(d["stage"] == "thread" and d["outcome"] == "references" for d in record.decisions)
    assert any(d["stage"] == "authorize" and d.get("user_id") == rep.user_id for d in record.decisions)
    assert ("deal", deal["id"]) in links  # the thread's links cover the reply


def test_a_reply_is_fetched_once(services, rep, outlook, ms, logged_thread):
    ms.add(reply("reply-2@cust.example", "orig@acme.example"), folder="inbox")
    assert sync_connection(services, outlook)["logged"] == 1
    with services.db.session() as session:
        session.get(MailboxConnection, outlook).next_sync_at = None
    assert sync_connection(services, outlook)["logged"] == 0
    assert len(ms.seen(r"\$batch")) == 1


def test_threads_without_a_link_are_not_watched(services, rep, outlook, ms, logged_thread):
    with services.db.session() as session:
        session.execute(update(ThreadLink).values(removed=True))
    ms.add(reply("reply-3@cust.example", "orig@acme.example"), folder="inbox")
    assert sync_connection(services, outlook)["logged"] == 0
    assert not ms.seen(r"mailFolders\('inbox'\)")


def test_gmail_reply_is_found_with_a_narrow_search(services, rep, gmail, google, logged_thread):
    _deal, thread_id = logged_thread
    wanted = google.add(reply("reply-g@cust.example", "orig@acme.example"), folder="inbox")
    google.add(reply("other-g@cust.example", None, subject="Lunch?"), folder="inbox")
    assert sync_connection(services, gmail)["logged"] == 1
    queries = sorted(s.q("q") for s in google.seen(r"/users/me/messages$"))
    assert [q.split(" after:")[0] for q in queries] == ["from:bob@cust.example", "from:carl@cust.example"]
    raw = [s for s in google.seen(r"/users/me/messages/[0-9a-f]+$") if s.q("format") == "raw"]
    assert [s.path.rsplit("/", 1)[1] for s in raw] == [wanted.id]
    metadata = [s for s in google.seen(r"/users/me/messages/[0-9a-f]+$") if s.q("format") == "metadata"]
    assert set(metadata[0].query["metadataHeaders"]) == {"Message-ID", "In-Reply-To", "References"}
    messages = _thread_messages(services, thread_id)
    assert [m.sender_email for m in messages] == ["alice@acme.example", "bob@cust.example"]


def test_old_threads_are_not_watched(services, rep, outlook, ms, logged_thread):
    with services.db.session() as session:
        session.execute(update(MailThread).values(last_message_at=now_utc() - timedelta(days=60)))
    assert sync_connection(services, outlook)["logged"] == 0
    assert not ms.seen(r"mailFolders\('inbox'\)")


# A fetched reply is accepted by intake.accept.accept_message, like SMTP and HTTP mail:
# the same size limit, sender checks, durable storage and queueing.

def _records(services):
    with services.db.session() as session:
        return list(session.scalars(select(InboundRecord).order_by(InboundRecord.id)))


def test_an_oversize_reply_is_refused_with_the_smtp_words_and_nothing_is_stored(
        services, rep, outlook, ms, logged_thread, monkeypatch, caplog):
    ms.add(reply("big@cust.example", "orig@acme.example"), folder="inbox")
    before = _records(services)
    monkeypatch.setattr(services, "settings", services.settings.with_(max_message_bytes=200))
    with caplog.at_level(logging.INFO, logger="backend.providers.replies"):
        assert sync_connection(services, outlook)["logged"] == 0
    assert len(_records(services)) == len(before)
    assert too_large(200).message in caplog.text  # the sentence of SMTP's 552 5.3.4


def test_a_reply_stored_while_the_queue_is_down_waits_for_the_sweep(services, rep, outlook, ms, logged_thread,
                                                                     monkeypatch):
    _deal, thread_id = logged_thread
    ms.add(reply("queued@cust.example", "orig@acme.example"), folder="inbox")

    def broker_down(name, *args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(services.jobs, "enqueue", broker_down)
    # Acknowledged and kept, not a failed sync: the mail is safe once its row is committed.
    assert sync_connection(services, outlook)["logged"] == 1
    [record] = [r for r in _records(services) if r.source == "graph"]
    assert record.status == "received" and record.user_id == rep.user_id
    assert services.blobs.exists(record.raw_sha256)
    monkeypatch.undo()
    assert resume_pending(services, 0) == 1
    assert [m.sender_email for m in _thread_messages(services, thread_id)] == ["alice@acme.example",
                                                                              "bob@cust.example"]


def test_sender_verification_applies_to_a_fetched_reply_from_an_accepted_sender_only(
        services, rep, make_account, logged_thread):
    _deal, thread_id = logged_thread
    colleague = make_account("acme.example", "carol@acme.example", admin=False)
    with services.db.session() as session:
        session.get(Company, rep.company_id).sender_auth_policy = "reject"
    # Carol is an accepted sender: her unsigned mail is refused as over SMTP.
    with pytest.raises(SenderNotAuthenticated):
        ingest_reply(services, reply("carol@acme.example", "orig@acme.example",
                                     sender=f"Carol <{colleague.email}>"),
                     source="graph", owner_id=rep.user_id, thread_id=thread_id)
    # Bob is a customer: there is no accepted sender to verify; Alice's mailbox takes it in.
    [record_id] = ingest_reply(services, reply("bob-2@cust.example", "orig@acme.example"),
                               source="graph", owner_id=rep.user_id, thread_id=thread_id)
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        assert record.sender_auth is None and record.user_id == rep.user_id
        assert [d["outcome"] for d in record.decisions if d["stage"] == "intake"] == ["mailbox-reply"]


def test_a_mailbox_owner_takes_in_replies_for_their_own_company_only(services, rep, make_account):
    other = make_account("globex.example", "gary@globex.example")
    with services.db.session() as session:
        route = route_address(session, other.bcc_address, services.settings)
    with pytest.raises(SenderNotAccepted):
        accept_message(services, reply("x@cust.example", None), source="gmail", routes=[route],
                       fetched=Fetched("reply fetched from alice's mailbox", owner_id=rep.user_id, thread_id=1))
    assert _records(services) == []
