"""Customers' replies in logged threads: found by narrow searches of the connected mailbox, then logged."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from .. import addresses
from ..intake.checks import Rejection
from ..domain.identity import user_addresses
from ..models import MailMessage, MailThread, Participant, ThreadLink
from . import graph as graph_mod
from .connections import SOURCES
from .ingest import already_stored, header_ids, ingest_reply, normalize_message_id

log = logging.getLogger(__name__)

# Only threads active this recently are watched; older ones rarely get replies
# and every watched address costs one search per sync.
REPLY_WINDOW = timedelta(days=30)
MAX_ADDRESSES = 50
# Clock skew between our database and the provider's receive time.
SKEW = timedelta(minutes=5)


@dataclass
class Targets:
    """Whom to search for, since when, and which Message-IDs belong to which logged thread."""

    since: dict[str, datetime] = field(default_factory=dict)
    thread_of: dict[str, int] = field(default_factory=dict)


def reply_targets(session, settings, user_id: int, company_id: int, now: datetime) -> Targets:
    linked = exists().where(ThreadLink.thread_id == MailThread.id, ThreadLink.removed.is_(False))
    threads = {t.id: t.last_message_at for t in session.execute(
        select(MailThread.id, MailThread.last_message_at).where(
            MailThread.company_id == company_id, MailThread.owner_id == user_id, MailThread.message_count > 0,
            MailThread.last_message_at >= now - REPLY_WINDOW, linked)
        .order_by(MailThread.last_message_at.desc()).limit(500))}
    targets = Targets()
    if not threads:
        return targets
    for mid, thread_id in session.execute(select(MailMessage.message_id_header, MailMessage.thread_id).where(
            MailMessage.company_id == company_id, MailMessage.thread_id.in_(threads),
            MailMessage.deleted_at.is_(None), MailMessage.message_id_header.is_not(None))):
        targets.thread_of[mid] = thread_id
    own = user_addresses(session, company_id, user_id)
    rows = session.execute(select(Participant.email, MailMessage.thread_id)
                           .join(MailMessage, MailMessage.id == Participant.message_id).where(
        Participant.company_id == company_id, Participant.user_id.is_(None),
        MailMessage.thread_id.in_(threads), MailMessage.deleted_at.is_(None)))
    for email, thread_id in rows:
        if not email or email in own or addresses.is_smartbcc_address(email, settings.mail_domain):
            continue
        since = threads[thread_id] - SKEW
        if email not in targets.since or since < targets.since[email]:
            targets.since[email] = since
    newest_first = sorted(targets.since.items(), key=lambda kv: kv[1], reverse=True)[:MAX_ADDRESSES]
    targets.since = dict(newest_first)
    return targets


def check_replies(services, client, provider: str, *, connection_id: int, user_id: int, company_id: int,
                  now: datetime) -> dict:
    """Searches the mailbox for new mail from the logged threads' customers and logs what answers them."""
    with services.db.session() as session:
        targets = reply_targets(session, services.settings, user_id, company_id, now)
    if not targets.since:
        return {"searched": 0, "logged": 0}
    wanted: dict[str, int] = {}  # provider message id -> thread id
    for address, since in targets.since.items():
        for pid, mid, refs in _search(client, provider, address, since):
            thread_id = next((targets.thread_of[r] for r in refs if r in targets.thread_of), None)
            # Mail that does not answer a logged thread is left unread.
            if thread_id is None or not mid:
                continue
            with services.db.session() as session:
                if already_stored(session, company_id, [mid]):
                    continue
            wanted[pid] = thread_id
    if not wanted:
        return {"searched": len(targets.since), "logged": 0}
    raws = _download(client, provider, list(wanted))
    logged = 0
    for pid, raw in raws.items():
        try:
            logged += len(ingest_reply(services, raw, source=SOURCES[provider], owner_id=user_id,
                                       thread_id=wanted[pid]))
        except Rejection as exc:  # e.g. over the size limit; nothing a sender could be told
            log.info("reply %s from connection %s not logged: %s", pid[:16], connection_id, exc.message)
    return {"searched": len(targets.since), "logged": logged}


def _search(client, provider: str, address: str, since: datetime):
    """(provider id, Message-ID, referenced Message-IDs) of the address's mail since ``since``."""
    if provider == "outlook":
        for hit in client.inbox_from(address, since):
            refs = header_ids(graph_mod.header_values(hit, "In-Reply-To") + graph_mod.header_values(hit, "References"))
            yield hit["id"], normalize_message_id(hit.get("internetMessageId")), refs
        return
    ids = client.search(f"from:{address} after:{int(since.timestamp())}", limit=25)
    if not ids:
        return
    meta = client.metadata_many(ids, ["Message-ID", "In-Reply-To", "References"])
    for pid in ids:
        headers = meta.get(pid)
        if headers is None:
            continue
        mids = header_ids(headers.get("message-id", []))
        yield pid, mids[0] if mids else None, header_ids(headers.get("in-reply-to", []) + headers.get("references", []))


def _download(client, provider: str, ids: list[str]) -> dict[str, bytes]:
    if provider == "outlook":
        return client.mime_many(ids)
    return client.raw_many(ids)
