"""Stage thread: join the conversation by In-Reply-To/References, else by subject and participants."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select

from ..mail.forwards import strip_subject_prefixes
from ..models import MailMessage, MailThread, Participant
from ..domain.actor import Actor
from ..domain.visibility import visibility_parts
from . import persist
from .context import Context

SUBJECT_WINDOW = timedelta(days=30)


def lookup_keys(view) -> tuple[str, list[str]]:
    """What a mail's conversation is looked up by: its subject without prefixes, and the
    Message-IDs it refers to (In-Reply-To, References)."""
    normalized = strip_subject_prefixes(view.subject or "").strip().lower()[:900]
    return normalized, [i for i in (view.in_reply_to + view.references) if i][:100]


class Thread:
    name = "thread"

    def run(self, ctx: Context) -> None:
        view = ctx.view
        normalized, ids = lookup_keys(view)
        # What the batch stored and has not written (persist, ``defer_writes``) can only be found
        # by these lookups when it shares the subject or a Message-ID: then it is written first.
        lookups = ctx.lookups
        if lookups.defer_writes:
            if not lookups.may_join_batch(ctx.company_id, normalized, ids):
                if lookups.nothing_to_join(ctx.company_id, normalized, ids):  # (the batch asked once)
                    return self._new(ctx, view, normalized)
                with ctx.session.no_autoflush:
                    return self._find(ctx, view, normalized, ids)
            persist.written(ctx.session, lookups.take_unwritten())
        return self._find(ctx, view, normalized, ids)

    def _find(self, ctx: Context, view, normalized: str, ids: list[str]) -> None:
        # Only a conversation the mail's owner may see is joined (a colleague's private one is not).
        visible = or_(*visibility_parts(Actor.of(ctx.user)))
        if ids:
            thread = ctx.session.scalar(
                select(MailThread).join(MailMessage, MailMessage.thread_id == MailThread.id).where(
                    MailMessage.company_id == ctx.company_id,
                    # A deleted mail's conversation is not brought back by a reply to it.
                    MailMessage.message_id_header.in_(ids), MailMessage.deleted_at.is_(None), visible)
                .order_by(MailMessage.sent_at.desc()).limit(1))
            if thread is not None:
                return self._join(ctx, thread, "references", "It replies to a mail of this conversation.")
        external = sorted({p.address.key for p in ctx.participants if p.external})
        if normalized and external and not ctx.parsed.auto_kind:
            when = view.date or datetime.now(timezone.utc)
            thread = ctx.session.scalar(
                select(MailThread).join(MailMessage, MailMessage.thread_id == MailThread.id)
                .join(Participant, Participant.message_id == MailMessage.id).where(
                    MailThread.company_id == ctx.company_id,
                    MailThread.normalized_subject == normalized, visible,
                    MailThread.auto.is_(False),
                    MailThread.last_message_at >= when - SUBJECT_WINDOW,
                    MailThread.last_message_at <= when + SUBJECT_WINDOW,
                    Participant.email.in_(external))
                .order_by(MailThread.last_message_at.desc()).limit(1))
            if thread is not None:
                return self._join(ctx, thread, "subject",
                                  f"Same subject and someone in common within {SUBJECT_WINDOW.days} days: "
                                  "part of the same conversation.")
        return self._new(ctx, view, normalized)

    def _new(self, ctx: Context, view, normalized: str) -> None:
        auto = bool(ctx.parsed.auto_kind)
        ctx.thread = MailThread(company_id=ctx.company_id, owner_id=ctx.user.id,
                                subject=(view.subject or "")[:998], normalized_subject=normalized,
                                auto=auto, links=[])  # a new thread has no links: nothing to load
        # Added to the session by persist, with its first message: one INSERT with its links,
        # visibility and summary, whatever the stages between flush meanwhile (new contacts).
        ctx.new_thread = True
        reason = "A new conversation."
        if auto:
            reason = f"Automatic mail ({ctx.parsed.auto_kind}): kept apart from the sales conversations."
        ctx.decide(self.name, "new", reason)

    def _join(self, ctx: Context, thread: MailThread, outcome: str, reason: str) -> None:
        ctx.thread = thread
        ctx.new_thread = False
        ctx.decide(self.name, outcome, reason, thread_id=thread.id)
