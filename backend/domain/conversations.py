"""Which conversation a logged mail joins, and how that decision reads to a rep.

A mail joins the conversation of a mail it replies to (its In-Reply-To or References name that
mail's Message-ID), else a conversation with the same subject (prefixes such as "Re:" and "Fwd:"
left out, case folded) that has someone outside the company in common with it and a mail within
``SUBJECT_WINDOW`` of it; otherwise it starts a new one. Only a conversation its owner may see
is joined (a colleague's private one is not), a deleted mail's conversation is not brought back
by a reply to it, and automatic mail (bounces, auto-replies) never joins by subject: it is kept
apart from the sales conversations.

The pipeline's thread stage (backend/pipeline/thread.py) asks this module; what it adds is only
the batching (what a batch stored and has not written yet).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..mail.forwards import strip_subject_prefixes
from ..models import MailMessage, MailThread, Participant
from .actor import Actor
from .visibility import visibility_parts

SUBJECT_WINDOW = timedelta(days=30)
SUBJECT_CHARS = 900  # of the normalised subject compared (the column's index keeps it short)
REFERENCES_READ = 100  # Message-IDs of In-Reply-To and References looked up, at most

NEW = "A new conversation."
BY_REFERENCES = "It replies to a mail of this conversation."
BY_SUBJECT = (f"Same subject and someone in common within {SUBJECT_WINDOW.days} days: "
              "part of the same conversation.")


def automatic_apart(kind: str) -> str:
    return f"Automatic mail ({kind}): kept apart from the sales conversations."


def normalized_subject(subject: str | None) -> str:
    """The subject conversations are compared by: no reply or forward prefixes, lower case."""
    return strip_subject_prefixes(subject or "").strip().lower()[:SUBJECT_CHARS]


def referenced_ids(in_reply_to: list[str], references: list[str]) -> list[str]:
    """The Message-IDs a mail refers to, In-Reply-To first."""
    return [i for i in (in_reply_to + references) if i][:REFERENCES_READ]


@dataclass(frozen=True)
class Joined:
    thread: MailThread
    outcome: str  # "references" or "subject"
    reason: str


def conversation_to_join(session: Session, owner: Actor, normalized: str, ids: list[str],
                         external: list[str], when: datetime, automatic: bool) -> Joined | None:
    """The conversation a mail of ``owner`` joins (``external``: the addresses of its participants
    outside the company), or None when it starts a new one."""
    visible = or_(*visibility_parts(owner))
    if ids:
        thread = session.scalar(
            select(MailThread).join(MailMessage, MailMessage.thread_id == MailThread.id).where(
                MailMessage.company_id == owner.company_id,
                MailMessage.message_id_header.in_(ids), MailMessage.deleted_at.is_(None), visible)
            .order_by(MailMessage.sent_at.desc()).limit(1))
        if thread is not None:
            return Joined(thread, "references", BY_REFERENCES)
    if normalized and external and not automatic:
        thread = session.scalar(
            select(MailThread).join(MailMessage, MailMessage.thread_id == MailThread.id)
            .join(Participant, Participant.message_id == MailMessage.id).where(
                MailThread.company_id == owner.company_id,
                MailThread.normalized_subject == normalized, visible,
                MailThread.auto.is_(False),
                MailThread.last_message_at >= when - SUBJECT_WINDOW,
                MailThread.last_message_at <= when + SUBJECT_WINDOW,
                Participant.email.in_(external))
            .order_by(MailThread.last_message_at.desc()).limit(1))
        if thread is not None:
            return Joined(thread, "subject", BY_SUBJECT)
    return None
