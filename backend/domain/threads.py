"""A thread's summary (what lists show of it) and deleting a message from everywhere.

The summary (message count, first and last time, snippet, subject) is derived from the thread's
live messages only: a new message adds to it, a delete recomputes it. Deleting is final: the
message's text, participants and attachments are removed, and the blobs (the stored raw mail and
attachment bytes) go when nothing else refers to them. A tombstone keeps the Message-ID, so a
later copy of the same mail is not logged again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from ..models import Attachment, InboundRecord, MailMessage, MailThread, OperatorMail, Participant
from . import expectations
from .actor import Actor
from .identity import address_user
from .sql import built_once, in_param
from .visibility import linked_thread_ids, message_for, require_owner, visible_threads

log = logging.getLogger(__name__)


def add_message(thread: MailThread, message: MailMessage) -> None:
    """The summary with one more (live) message."""
    sent_at = message.sent_at
    thread.message_count = (thread.message_count or 0) + 1
    if thread.first_message_at is None or sent_at < thread.first_message_at:
        thread.first_message_at = sent_at
    if thread.last_message_at is None or sent_at >= thread.last_message_at:
        thread.last_message_at = sent_at
        thread.snippet = message.snippet


def refresh_summary(session: Session, thread: MailThread) -> None:
    """The summary recomputed from the live messages (after a delete)."""
    session.flush()
    live = (select(MailMessage).where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
            .order_by(MailMessage.sent_at, MailMessage.id))
    count, first, last = session.execute(
        select(func.count(), func.min(MailMessage.sent_at), func.max(MailMessage.sent_at))
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))).one()
    thread.message_count = count
    thread.first_message_at, thread.last_message_at = first, last
    newest = session.scalar(live.order_by(None).order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).limit(1))
    oldest = session.scalar(live.limit(1))
    thread.snippet = newest.snippet if newest is not None else ""
    if oldest is not None:
        thread.subject = oldest.subject
    else:
        # Nothing left: the thread disappears from every list, and keeps no text of the mail.
        thread.subject = thread.normalized_subject = thread.snippet = ""
        thread.needs_deal_choice = False


@dataclass
class Deletion:
    thread: MailThread
    blobs: set[str]  # the blobs the message referred to; drop_unused_blobs after the commit


def delete_message(session: Session, actor: Actor, message_id: int) -> Deletion:
    """Deletes one message of a thread the actor owns and recomputes the thread's summary.
    404 when it is not visible or already deleted, 403 when the thread was only shared with the
    actor. The caller commits, then calls ``drop_unused_blobs``."""
    message = message_for(session, actor, message_id)
    thread = message.thread
    require_owner(thread, actor, "delete its messages")
    digests = _purge(session, message)
    refresh_summary(session, thread)
    return Deletion(thread, digests)


def drop_unused_blobs(session: Session, blobs, digests: set[str]) -> int:
    """Removes the files no live message or pending arrival refers to any more; returns how many."""
    dropped = 0
    for digest in sorted(digests):
        if _referenced(session, digest):
            continue
        try:
            blobs.delete(digest)
            dropped += 1
        except (OSError, ValueError):
            log.warning("could not remove blob %s; nothing refers to it", digest[:12])
    return dropped


def _purge(session: Session, message: MailMessage) -> set[str]:
    """Empties the message down to its tombstone; returns the blobs it referred to."""
    digests = {a.sha256 for a in message.attachments}
    for record in session.scalars(select(InboundRecord).where(InboundRecord.message_id == message.id)):
        digests.add(record.raw_sha256)
        # What was decided named the mail's subject and people: only the fact of the delete stays.
        record.decisions = [{"stage": "delete", "outcome": "deleted",
                             "reason": "The mail was deleted; what Smart Bcc read from it is gone."}]
        record.error = None
    digests.add(message.raw_sha256)
    message.deleted_at = datetime.now(timezone.utc)
    message.body_text = message.body_html = None
    message.subject = message.snippet = message.sender_name = ""
    message.participants.clear()
    message.attachments.clear()
    expectations.forget_deleted(session, message)
    return {d for d in digests if d}


def _referenced(session: Session, digest: str, *, besides: int | None = None) -> bool:
    """Whether a live message's attachment or raw mail, or an arrival not yet settled (other than
    ``besides``), uses the blob."""
    if session.scalar(select(Attachment.id).where(Attachment.sha256 == digest).limit(1)) is not None:
        return True
    if session.scalar(select(MailMessage.id).where(MailMessage.raw_sha256 == digest,
                                                   MailMessage.deleted_at.is_(None)).limit(1)) is not None:
        return True
    # The same bytes sent to postmaster@ or abuse@ are kept for the operator.
    if session.scalar(select(OperatorMail.id).where(OperatorMail.raw_sha256 == digest).limit(1)) is not None:
        return True
    # An arrival still to be processed needs its raw file.
    return session.scalar(select(InboundRecord.id).where(
        InboundRecord.raw_sha256 == digest, InboundRecord.status.in_(("received", "failed")),
        InboundRecord.id != (besides or 0)).limit(1)) is not None


def forget_copy(session: Session, record: InboundRecord, blobs) -> None:
    """Another copy of a deleted message arrived: it is not logged again, and its raw file is not
    kept either."""
    session.flush()
    if not _referenced(session, record.raw_sha256, besides=record.id):
        try:
            blobs.delete(record.raw_sha256)
        except (OSError, ValueError):
            log.warning("could not remove blob %s; nothing refers to it", record.raw_sha256[:12])


def _last_messages_query(dialect: str) -> Select:
    newest = (select(MailMessage.id)
              .where(MailMessage.thread_id == MailThread.id, MailMessage.deleted_at.is_(None))
              .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).limit(1)
              .correlate(MailThread).scalar_subquery())
    # As sql.in_ids, with the ids a parameter: the statement is built once per dialect.
    wanted = in_param(MailThread.id, "ids", dialect)
    # A derived table, not "id IN (…)": PostgreSQL ran the per-thread probe twice for the IN's
    # hashing. Each probe reads ix_mail_messages_thread_live alone (newest live entry first).
    picked = select(newest.label("message_id")).where(wanted).subquery("newest")
    first_to = (select(func.min(Participant.id)).where(Participant.message_id == MailMessage.id,
                                                       Participant.role == "to")
                .correlate(MailMessage).scalar_subquery())
    rows = (select(MailMessage.thread_id, MailMessage.id, MailMessage.sender_email, MailMessage.sender_name,
                   address_user(bindparam("company_id"), MailMessage.sender_email).label("sender_user_id"),
                   first_to.label("first_to"))
            .join(picked, picked.c.message_id == MailMessage.id).offset(0).subquery("last"))  # (fenced: the
    # first recipient's probe runs once a thread, not again for the join below)
    recipient = aliased(Participant)
    return (select(rows, recipient.name, recipient.email)
            .outerjoin(recipient, recipient.id == rows.c.first_to))


@dataclass(frozen=True)
class LastMessage:
    """A thread's newest live message, as lists show it."""

    id: int
    sender_email: str
    sender_name: str | None
    sender_user_id: int | None  # the company user who sent it (from any of their addresses), else None
    to_name: str | None  # its first recipient (To), if any
    to_email: str | None


def last_messages(session: Session, company_id: int, thread_ids: list[int]) -> dict[int, LastMessage]:
    """Each thread's newest live message, with who sent it (a user of the company, from any of their
    addresses: identity.address_user) and its first recipient, in one query (one index probe per
    thread and per lookup)."""
    if not thread_ids:
        return {}
    query = built_once(session, "last_messages", _last_messages_query)
    rows = session.execute(query, {"ids": list(thread_ids), "company_id": company_id})
    return {row[0]: LastMessage(row[1], row[2], row[3], row[4], row[6], row[7]) for row in rows}


def linked_messages(actor: Actor, item_type: str, item_id: int) -> Select:
    """The live messages of the visible threads linked to an item, newest first (as
    visibility.messages_linked_to, ordered), shaped so that one page reads only its own rows.

    The item's threads are picked first (its live links, from ix_thread_links_item_threads
    alone, then the visibility of each thread once); their messages' ids and times come from
    index entries (ix_mail_messages_thread_live) and are sorted; only then are the page's rows
    looked up by id. Both steps are fenced (OFFSET 0): the planner, which cannot know that a
    deal's 500 threads hold thousands of messages, would otherwise read and sort every row, and
    check each message's thread rather than each thread once."""
    threads = (visible_threads(actor).where(MailThread.id.in_(linked_thread_ids(actor, item_type, item_id)))
               .with_only_columns(MailThread.id).offset(0).subquery("linked"))
    order = (select(MailMessage.id.label("id"), MailMessage.sent_at.label("sent_at"))
             .where(MailMessage.thread_id.in_(select(threads.c.id)), MailMessage.deleted_at.is_(None),
                    MailMessage.company_id + 0 == actor.company_id)
             .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).offset(0).subquery("newest"))
    return (select(MailMessage).join(order, order.c.id == MailMessage.id)
            .order_by(order.c.sent_at.desc(), order.c.id.desc()))
