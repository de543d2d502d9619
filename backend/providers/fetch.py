"""Finding the sent copy the add-in announced, in Sent Items (Graph) or sent mail (Gmail), and logging it."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from ..intake.checks import Rejection
from ..models import MailboxConnection, SentAnnouncement, User
from . import graph as graph_mod
from .announcements import finish
from .clients import announcement_client, client_for
from .connections import LABELS, SOURCES, now_utc, record_failure
from .ingest import already_stored, bcc_of, ingest_sent, normalize_message_id, smartbcc_routes
from .limits import AuthFailed, ProviderError, RetryLater

log = logging.getLogger(__name__)

# Seconds to wait after each unsuccessful look; Sent Items / Gmail can lag
# behind the send, and the add-in may announce before the send completes.
BACKOFF = (15, 30, 60, 120, 300, 600)
MAX_LOOKS = len(BACKOFF) + 1
CLAIM = timedelta(minutes=10)
PREFERENCE = ("outlook", "gmail")


def claim(services, announcement_id: int, now: datetime) -> bool:
    """Takes the announcement for this run; False if another run has it or it is done."""
    with services.db.session() as session:
        result = session.execute(update(SentAnnouncement).where(
            SentAnnouncement.id == announcement_id, SentAnnouncement.status == "pending",
            or_(SentAnnouncement.next_attempt_at.is_(None), SentAnnouncement.next_attempt_at <= now),
        ).values(next_attempt_at=now + CLAIM))
        return result.rowcount == 1


def fetch_announcement(services, announcement_id: int, now: datetime | None = None) -> str:
    """One look for the announced message; returns the announcement's status afterwards. Safe to run twice."""
    now = now or now_utc()
    if not claim(services, announcement_id, now):
        with services.db.session() as session:
            ann = session.get(SentAnnouncement, announcement_id)
            return ann.status if ann else "missing"
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        wanted = (ann.provider,) if ann.provider else PREFERENCE
        conns = {c.provider: c for c in session.scalars(select(MailboxConnection).where(
            MailboxConnection.user_id == ann.user_id, MailboxConnection.status != "broken"))}
        conn = next((conns[p] for p in wanted if p in conns), None)
        info = dict(ref=ann.ref, address=ann.address, mid=normalize_message_id(ann.internet_message_id),
                    company_id=ann.company_id, user_id=ann.user_id)
        if conn is not None:
            conn_id, provider, mailbox = conn.id, conn.provider, conn.account_email
        elif ann.access_token_enc and "outlook" in wanted:
            # On-Behalf-Of gave an access token but no refresh token: it serves this announcement only.
            user = session.get(User, ann.user_id)
            conn_id, provider, mailbox = None, "outlook", user.email if user else ""
        else:
            finish(ann, now, "no_connection", "No working mailbox connection: connect Outlook or Gmail under "
                   "Settings > Connections so Smart Bcc can fetch sent mail. The SMTP copy is logged as usual.")
            return ann.status
        ann.provider = provider
    try:
        client = client_for(services, conn_id, provider) if conn_id is not None \
            else announcement_client(services, announcement_id)
        found = _find(services, client, provider, info)
        ids = _log_found(services, found, provider, mailbox, info) if found else []
    except RetryLater as exc:
        return _reschedule(services, announcement_id, now + timedelta(seconds=exc.after), exc.message)
    except Rejection as exc:
        return _done(services, announcement_id, now, "rejected", exc.message)
    except AuthFailed as exc:
        if conn_id is None:
            return _done(services, announcement_id, now, "failed",
                         f"{exc.message}. Connect {LABELS[provider]} under Settings > Connections so Smart Bcc "
                         "can fetch sent mail; the SMTP copy is logged as usual.")
        record_failure(services, conn_id, exc)
        return _done(services, announcement_id, now, "failed",
                     f"{exc.message}. Connect {LABELS[provider]} again under Settings > Connections.")
    except ProviderError as exc:
        if conn_id is not None:
            record_failure(services, conn_id, exc)
        return _missed(services, announcement_id, now, exc.message)
    except Exception as exc:  # noqa: BLE001 - our bug: logged, and counted like a miss so it ends
        log.exception("looking for announcement %s failed", announcement_id)
        return _missed(services, announcement_id, now, f"internal error ({exc.__class__.__name__}); it has been logged")
    if not found:
        return _missed(services, announcement_id, now, None)
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.inbound_record_ids = sorted(set(ann.inbound_record_ids or []) | set(ids))
        ann.attempts = (ann.attempts or 0) + 1
        finish(ann, now, "found", None)
    return "found"


def _find(services, client, provider: str, info: dict) -> list[tuple[bytes, list[str]]]:
    """(raw MIME, Bcc addresses the provider reported) of the announced message, or []."""
    if provider == "outlook":
        hits = []
        if info["mid"]:
            hits = client.sent_by_message_id(f"<{info['mid']}>")
        if not hits:
            hits = client.sent_by_ref(info["ref"])
        if not hits:
            return []
        ids = [h["id"] for h in hits]
        mimes = {ids[0]: client.mime(ids[0])} if len(ids) == 1 else client.mime_many(ids)
        return [(mimes[h["id"]], graph_mod.bcc_addresses(h)) for h in hits if h["id"] in mimes]
    ids = client.search(f"rfc822msgid:{info['mid']}") if info["mid"] else []
    if not ids:
        candidates = client.search(f"in:sent bcc:{info['address']} newer_than:1d", limit=50)
        meta = client.metadata_many(candidates, ["Bcc", "Message-ID", "X-SmartBcc-Ref"])
        ids = [i for i in candidates if info["ref"] in meta.get(i, {}).get("x-smartbcc-ref", [])]
        if not ids:
            # Gmail clients cannot always set the header: the newest Bcc'd copy
            # not logged yet is the one (any such copy is meant to be logged).
            with services.db.session() as session:
                stored = already_stored(session, info["company_id"],
                                        [v for i in candidates for v in meta.get(i, {}).get("message-id", [])])
            ids = [i for i in candidates if i in meta and not meta[i].get("x-smartbcc-ref")
                   and not {normalize_message_id(v) for v in meta[i].get("message-id", [])} & stored][:1]
    raws = client.raw_many(ids) if ids else {}
    return [(raws[i], []) for i in ids if i in raws]


def _log_found(services, found, provider: str, mailbox: str, info: dict) -> list[int]:
    ids: list[int] = []
    for raw, reported_bcc in found:
        with services.db.session() as session:
            routes = smartbcc_routes(session, services.settings, info["company_id"],
                                     bcc_of(raw) or reported_bcc or [info["address"]])
            if not routes:  # the copy carries no Bcc header: the announced address says where
                routes = smartbcc_routes(session, services.settings, info["company_id"], [info["address"]])
        if routes:
            ids.extend(ingest_sent(services, raw, source=SOURCES[provider], routes=routes, mailbox=mailbox))
    return ids


def _reschedule(services, announcement_id: int, when: datetime, note: str | None) -> str:
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.next_attempt_at = when
        ann.last_error = note
        return ann.status


def _missed(services, announcement_id: int, now: datetime, error: str | None) -> str:
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.attempts = (ann.attempts or 0) + 1
        if ann.attempts >= MAX_LOOKS:
            where = "Sent Items" if ann.provider == "outlook" else "the sent mail"
            finish(ann, now, "not_found", error or (
                f"The message was not in {where} of the connected mailbox after {ann.attempts} looks "
                f"over {sum(BACKOFF) // 60} minutes. If it was sent, its copy to the Smart Bcc address "
                "is logged when it arrives; otherwise send it again with the Smart Bcc address in Bcc."))
        else:
            ann.next_attempt_at = now + timedelta(seconds=BACKOFF[ann.attempts - 1])
            ann.last_error = error
        return ann.status


def _done(services, announcement_id: int, now: datetime, status: str, message: str) -> str:
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.attempts = (ann.attempts or 0) + 1
        finish(ann, now, status, message)
    return status


def look_now(services, announcement_id: int, now: datetime | None = None) -> str:
    """The rep asked for it: one more look at once, however the earlier looks ended and whatever
    the backoff said; returns the announcement's status afterwards."""
    now = now or now_utc()
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        connected = set(session.scalars(select(MailboxConnection.provider).where(
            MailboxConnection.user_id == ann.user_id, MailboxConnection.status != "broken")))
        if ann.provider not in connected:
            ann.provider = None  # the announced provider is not connected: any connected mailbox will do
        ann.status, ann.next_attempt_at, ann.finished_at, ann.last_error = "pending", None, None, None
        ann.attempts = MAX_LOOKS - 1  # this look is the last one: the rep gets an answer now
    return fetch_announcement(services, announcement_id, now=now)
