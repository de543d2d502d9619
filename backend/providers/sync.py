"""The periodic mailbox sync: sent mail with a Smart Bcc address in Bcc that no add-in announced, then replies."""
from __future__ import annotations

import email.utils
import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from ..intake.checks import Rejection
from ..models import MailboxConnection
from . import graph as graph_mod
from .clients import client_for
from .connections import SOURCES, now_utc, record_failure
from .ingest import already_stored, bcc_of, ingest_sent, normalize_message_id, smartbcc_routes
from .limits import NotFound, ProviderError, RetryLater
from .replies import check_replies

log = logging.getLogger(__name__)

SYNC_EVERY = timedelta(minutes=5)
CLAIM = timedelta(minutes=15)
MAX_FAILURE_DELAY = timedelta(hours=1)
# The first round (and a resync) looks back this far, never further.
FIRST_WINDOW = timedelta(days=1)
RESYNC_MAX_DAYS = 7


def claim(services, connection_id: int, now: datetime) -> bool:
    """One sync per mailbox at a time, across processes: the row is the lock."""
    with services.db.session() as session:
        result = session.execute(update(MailboxConnection).where(
            MailboxConnection.id == connection_id, MailboxConnection.status != "broken",
            or_(MailboxConnection.next_sync_at.is_(None), MailboxConnection.next_sync_at <= now),
        ).values(next_sync_at=now + CLAIM))
        return result.rowcount == 1


def sync_connection(services, connection_id: int, now: datetime | None = None) -> dict:
    """One sync round of one mailbox; returns what it did. Safe to run twice (the second one skips)."""
    now = now or now_utc()
    if not claim(services, connection_id, now):
        return {"skipped": True}
    with services.db.session() as session:
        conn = session.get(MailboxConnection, connection_id)
        if conn is None:  # disconnected just now
            return {"skipped": True}
        info = dict(provider=conn.provider, cursor=conn.sync_cursor, user_id=conn.user_id,
                    company_id=conn.company_id, mailbox=conn.account_email,
                    since=max(conn.last_sync_at or conn.connected_at, now - FIRST_WINDOW) - timedelta(minutes=10))
    try:
        client = client_for(services, connection_id, info["provider"])
        if info["provider"] == "outlook":
            cursor, sent = _sync_graph(services, client, info)
        else:
            cursor, sent = _sync_gmail(services, client, info, now)
        replies = check_replies(services, client, info["provider"], connection_id=connection_id,
                                user_id=info["user_id"], company_id=info["company_id"], now=now)
    except RetryLater as exc:
        record_failure(services, connection_id, exc)
        _schedule(services, connection_id, now + timedelta(seconds=exc.after))
        return {"retry_after": exc.after}
    except Exception as exc:  # noqa: BLE001 - recorded on the connection for the user to see
        if not isinstance(exc, ProviderError):
            log.exception("sync of connection %s failed", connection_id)
        status = record_failure(services, connection_id, exc)
        with services.db.session() as session:
            conn = session.get(MailboxConnection, connection_id)
            failures = conn.failures if conn is not None and conn.failures else 1
        delay = min(MAX_FAILURE_DELAY, SYNC_EVERY * (2 ** (failures - 1)))
        _schedule(services, connection_id, None if status == "broken" else now + delay)
        return {"error": str(exc), "status": status}
    with services.db.session() as session:
        conn = session.get(MailboxConnection, connection_id)
        if conn is not None:
            conn.sync_cursor = cursor
            conn.status = "connected"
            conn.failures = 0
            conn.last_sync_at = now
            conn.next_sync_at = now + SYNC_EVERY
    return {"sent_logged": sent, **replies}


def _schedule(services, connection_id: int, when: datetime | None) -> None:
    with services.db.session() as session:
        conn = session.get(MailboxConnection, connection_id)
        if conn is not None:
            conn.next_sync_at = when


def _sync_graph(services, client, info: dict) -> tuple[str | None, int]:
    try:
        items, cursor = client.sent_delta(info["cursor"], info["since"])
    except NotFound:
        # 410: the delta token expired; a new round from the last sync time.
        log.info("Graph delta token of %s expired; starting a new round", info["mailbox"])
        items, cursor = client.sent_delta(None, info["since"])
    picked = _pick(services, info, {m["id"]: (m.get("internetMessageId"), graph_mod.bcc_addresses(m))
                                    for m in items})
    mimes = client.mime_many(list(picked)) if picked else {}
    return cursor or info["cursor"], _log(services, info, {pid: (raw, picked[pid]) for pid, raw in mimes.items()})


def _sync_gmail(services, client, info: dict, now: datetime) -> tuple[str | None, int]:
    ids, cursor = [], info["cursor"]
    if cursor:
        try:
            ids, cursor = client.sent_added_since(cursor)
            cursor = cursor or info["cursor"]
        except NotFound:
            cursor = None  # the history id is too old: Gmail keeps about a week
    if not cursor:
        cursor = str(client.profile().get("historyId") or "") or None
        days = max(1, min(RESYNC_MAX_DAYS, math.ceil((now - info["since"]).total_seconds() / 86400)))
        log.info("full resync of %s: sent mail of the last %s days", info["mailbox"], days)
        ids = client.search(f"in:sent newer_than:{days}d", limit=500)
    if not ids:
        return cursor, 0
    meta = client.metadata_many(ids, ["Bcc", "Message-ID"])
    picked = _pick(services, info, {pid: ((h.get("message-id") or [None])[0], _split(h.get("bcc", [])))
                                    for pid, h in meta.items()})
    raws = client.raw_many(list(picked)) if picked else {}
    return cursor, _log(services, info, {pid: (raw, picked[pid]) for pid, raw in raws.items()})


def _split(values: list[str]) -> list[str]:
    return [addr for _n, addr in email.utils.getaddresses(values) if addr]


def _pick(services, info: dict, found: dict[str, tuple[str | None, list[str]]]) -> dict[str, list[str]]:
    """Provider ids worth a download: a Smart Bcc address of the company in Bcc, not logged yet."""
    with services.db.session() as session:
        stored = already_stored(session, info["company_id"], [mid for mid, _ in found.values() if mid])
        picked = {}
        for pid, (mid, bcc) in found.items():
            if normalize_message_id(mid) in stored:
                continue
            if smartbcc_routes(session, services.settings, info["company_id"], bcc):
                picked[pid] = bcc
    return picked


def _log(services, info: dict, fetched: dict[str, tuple[bytes, list[str]]]) -> int:
    count = 0
    for pid, (raw, reported_bcc) in fetched.items():
        with services.db.session() as session:
            routes = smartbcc_routes(session, services.settings, info["company_id"], bcc_of(raw) or reported_bcc)
        if not routes:
            continue
        try:
            count += len(ingest_sent(services, raw, source=SOURCES[info["provider"]], routes=routes,
                                     mailbox=info["mailbox"]))
        except Rejection as exc:
            # e.g. sent from an address the user has not confirmed: the same
            # answer SMTP would give, recorded instead of bounced.
            log.info("sent message %s of %s not logged: %s", pid[:16], info["mailbox"], exc.message)
    return count
