"""Every mail an add-in announces is an expectation: its copy is logged (by SMTP, by the connected
mailbox's fetch, or by a forward), or the rep is told it was not.

The rules, in one place:

- An announcement is *settled* when a copy of its mail is stored for its rep: a stored message
  carrying its ``X-SmartBcc-Ref`` or its Message-ID (``settle``, called by the persist stage; at
  announce time for a copy that overtook it; when the list is read, for a copy whose transaction
  and the announcement's missed each other), or an arrival the announcement's own fetch took in
  that turned out to be a copy already stored.
- It is *not logged* when it is unsettled, not dismissed, and was announced at least
  ``wait_minutes`` ago (SMARTBCC_NOT_LOGGED_AFTER_MINUTES) and at most ``LISTED_FOR`` ago.
- A rep sees only their own announcements; fetching and dismissing are theirs alone. A copy that
  arrives after the entry was dismissed still settles it (its time to log still counts).
- The time to log (announce to stored) of each settled announcement is kept; admins see the
  company's p50 and p90 over ``TIMES_OVER``.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..models import InboundRecord, MailboxConnection, MailMessage, SentAnnouncement
from .actor import Actor
from .errors import DomainError

LISTED_FOR = timedelta(days=30)  # older unsettled announcements are no longer listed
LIST_LIMIT = 100
TIMES_OVER = timedelta(days=30)
TIMES_LIMIT = 20_000
API_PATH = "/api/v1/mailbox/notLogged"


def _ids(message_ids: list[str | None]) -> list[str]:
    """The forms an announced Message-ID may have been given in (with or without angle brackets)."""
    found: list[str] = []
    for value in message_ids:
        bare = "".join((value or "").split()).strip("<>")
        if bare:
            found += [bare, f"<{bare}>"]
    return list(dict.fromkeys(found))


def settle(session: Session, company_id: int, user_id: int, *, ref: str | None, message_ids: list[str | None],
           message_pk: int, now: datetime) -> int:
    """A copy was stored for ``user_id``: the announcements it answers are logged. Returns how many."""
    conditions = []
    if ref:
        conditions.append(SentAnnouncement.ref == ref)
    ids = _ids(message_ids)
    if ids:
        conditions.append(SentAnnouncement.internet_message_id.in_(ids))
    if not conditions:
        return 0
    rows = session.scalars(select(SentAnnouncement).where(
        SentAnnouncement.company_id == company_id, SentAnnouncement.user_id == user_id,
        SentAnnouncement.logged_at.is_(None), or_(*conditions))).all()
    for ann in rows:
        ann.logged_at = now
        ann.logged_message_id = message_pk
    return len(rows)


def _stored_copies(session: Session, company_id: int, user_id: int,
                   anns: list[SentAnnouncement]) -> dict[SentAnnouncement, tuple[int, datetime]]:
    """The rep's live stored copies of these announcements' mail, by their ref (the copy's
    X-SmartBcc-Ref) or their Message-ID: announcement -> (message id, stored at)."""
    by_ref = {ann.ref: ann for ann in anns if ann.ref}
    by_id = {form: ann for ann in anns for form in _ids([ann.internet_message_id])}
    conditions = []
    if by_ref:
        conditions.append(MailMessage.smartbcc_ref.in_(list(by_ref)))
    if by_id:
        conditions.append(MailMessage.message_id_header.in_(list(by_id)))
    if not conditions:
        return {}
    found: dict[SentAnnouncement, tuple[int, datetime]] = {}
    for pk, created_at, ref, header in session.execute(select(
            MailMessage.id, MailMessage.created_at, MailMessage.smartbcc_ref, MailMessage.message_id_header).where(
            MailMessage.company_id == company_id, MailMessage.owner_id == user_id,
            MailMessage.deleted_at.is_(None), or_(*conditions)).order_by(MailMessage.id)):
        ann = by_ref.get(ref or "") or by_id.get(header or "")
        if ann is not None:
            found.setdefault(ann, (pk, created_at))  # the first copy stored settles it
    return found


def forget_deleted(session: Session, message: MailMessage) -> None:
    """The rep deleted a logged copy: its announcement keeps only its times (for the admins' p50
    and p90), not the subject and recipients the add-in sent, which are text of the mail."""
    session.execute(update(SentAnnouncement).where(
        SentAnnouncement.user_id == message.owner_id, SentAnnouncement.company_id == message.company_id,
        SentAnnouncement.logged_message_id == message.id).values(subject=None, recipients=[])
        .execution_options(synchronize_session=False))


def settle_if_stored(session: Session, ann: SentAnnouncement) -> bool:
    """At announce time: the copy may already be stored (it can overtake a slow announcement)."""
    with session.no_autoflush:  # the new announcement is written by the caller's commit
        found = _stored_copies(session, ann.company_id, ann.user_id, [ann])
    if not found:
        return False
    ann.logged_message_id, ann.logged_at = next(iter(found.values()))
    return True


def has_connection(session: Session, user_id: int) -> bool:
    """Whether the rep's mailbox can be asked for the sent copy (a connection that is not broken)."""
    return session.scalar(select(MailboxConnection.id).where(
        MailboxConnection.user_id == user_id, MailboxConnection.status != "broken").limit(1)) is not None


def _stored_by_fetch(session: Session, rows: list[SentAnnouncement]) -> set[int]:
    """Announcements whose fetched arrival was a copy of a mail already stored (so ``settle`` never ran)."""
    by_record = {rid: ann.id for ann in rows for rid in (ann.inbound_record_ids or []) if isinstance(rid, int)}
    if not by_record:
        return set()
    done = session.scalars(select(InboundRecord.id).where(
        InboundRecord.id.in_(list(by_record)), InboundRecord.message_id.is_not(None)))
    return {by_record[rid] for rid in done}


def entry(ann: SentAnnouncement, now: datetime, can_fetch: bool) -> dict:
    """One not-logged mail as the API, the home page and the task pane show it."""
    path = f"{API_PATH}/{quote(ann.ref, safe='')}"
    actions = [{"name": "fetch", "method": "POST", "href": f"{path}/fetch"}] if can_fetch else []
    actions.append({"name": "dismiss", "method": "POST", "href": f"{path}/dismiss"})
    return {
        "ref": ann.ref, "subject": ann.subject, "recipients": list(ann.recipients or []),
        "address": ann.address, "announced_at": ann.created_at.isoformat(),
        "waited_minutes": max(0, int((now - ann.created_at).total_seconds() // 60)),
        "can_fetch": can_fetch, "fetch_status": ann.status, "note": ann.last_error, "actions": actions,
    }


def not_logged(session: Session, actor: Actor, *, now: datetime, wait_minutes: int) -> list[dict]:
    """The actor's announced mail whose copy has not arrived within ``wait_minutes``, newest first."""
    rows = session.scalars(select(SentAnnouncement).where(
        SentAnnouncement.user_id == actor.user_id, SentAnnouncement.company_id == actor.company_id,
        SentAnnouncement.logged_at.is_(None), SentAnnouncement.dismissed_at.is_(None),
        SentAnnouncement.created_at <= now - timedelta(minutes=wait_minutes),
        SentAnnouncement.created_at > now - LISTED_FOR,
    ).order_by(SentAnnouncement.created_at.desc(), SentAnnouncement.id.desc()).limit(LIST_LIMIT)).all()
    if not rows:
        return []
    stored = _stored_by_fetch(session, rows)
    # A copy stored while its announcement was being written (each transaction missed the other):
    # settled now, as stored when the copy was. The caller commits.
    copies = _stored_copies(session, actor.company_id, actor.user_id, [a for a in rows if a.id not in stored])
    for ann, (pk, stored_at) in copies.items():
        ann.logged_message_id, ann.logged_at = pk, stored_at
    can_fetch = has_connection(session, actor.user_id)
    return [entry(ann, now, can_fetch) for ann in rows if ann.id not in stored and ann not in copies]


def own(session: Session, actor: Actor, ref: str) -> SentAnnouncement:
    """The actor's announcement with this ref (a colleague's looks exactly like none)."""
    ann = session.scalar(select(SentAnnouncement).where(
        SentAnnouncement.user_id == actor.user_id, SentAnnouncement.company_id == actor.company_id,
        SentAnnouncement.ref == ref)) if ref else None
    if ann is None:
        raise DomainError(404, f"No mail you sent was announced with the ref '{ref[:200]}'; "
                               "reload the list of mail not logged.")
    return ann


def dismiss(session: Session, actor: Actor, ref: str, now: datetime) -> SentAnnouncement:
    """The rep no longer wants to see this mail as not logged (it stays settled by a later copy)."""
    ann = own(session, actor, ref)
    if ann.dismissed_at is None:
        ann.dismissed_at = now
    return ann


def fetchable(session: Session, actor: Actor, ref: str) -> SentAnnouncement:
    """The announcement the rep asks to fetch now, when a fetch can log it."""
    ann = own(session, actor, ref)
    if ann.logged_at is not None:
        raise DomainError(409, "This mail is already logged; there is nothing to fetch.")
    if not has_connection(session, actor.user_id):
        raise DomainError(409, "No working mailbox connection: connect Outlook or Gmail under Settings > "
                               "Connections so Smart Bcc can fetch the sent mail, or dismiss it.")
    return ann


def _percentile(values: list[float], p: int) -> float:
    # Nearest rank: a time some announced mail actually took.
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def log_times(session: Session, actor: Actor, now: datetime) -> dict:
    """Admins: the company's time from announce to stored, p50 and p90, over ``TIMES_OVER``."""
    if not actor.is_admin:
        raise DomainError(403, "Only a company admin can see the company's times to log.")
    rows = session.execute(select(SentAnnouncement.created_at, SentAnnouncement.logged_at).where(
        SentAnnouncement.company_id == actor.company_id, SentAnnouncement.logged_at.is_not(None),
        SentAnnouncement.created_at > now - TIMES_OVER,
    ).order_by(SentAnnouncement.created_at.desc()).limit(TIMES_LIMIT)).all()
    # A copy stored before its announcement arrived took no time to log.
    seconds = sorted(max(0.0, (logged - created).total_seconds()) for created, logged in rows)
    return {"count": len(seconds), "days": TIMES_OVER.days,
            "p50_seconds": _percentile(seconds, 50) if seconds else None,
            "p90_seconds": _percentile(seconds, 90) if seconds else None}
