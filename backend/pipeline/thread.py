"""Stage thread: join the conversation by In-Reply-To/References, else by subject and participants."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select

from ..models import MailMessage, MailThread, Participant
from .context import Context
from .forwards import strip_subject_prefixes

SUBJECT_WINDOW = timedelta(days=30)


class Thread:
    name = "thread"

    def run(self, ctx: Context) -> None:
        view = ctx.view
        normalized = strip_subject_prefixes(view.subject or "").strip().lower()[:900]
        visible = or_(MailThread.owner_id == ctx.user.id, MailThread.shared.is_(True))
        ids = [i for i in (view.in_reply_to + view.references) if i][:100]
        if ids:
            thread = ctx.session.scalar(
                select(MailThread).join(MailMessage, MailMessage.thread_id == MailThread.id).where(
                    MailMessage.company_id == ctx.company_id,
                    MailMessage.message_id_header.in_(ids), visible)
                .order_by(MailMessage.sent_at.desc()).limit(1))
            if thread is not None:
                return self._join(ctx, thread, "references", "replies to a message of this thread")
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
                                  f"same subject and a shared participant within {SUBJECT_WINDOW.days} days")
        auto = bool(ctx.parsed.auto_kind)
        ctx.thread = MailThread(company_id=ctx.company_id, owner_id=ctx.user.id,
                                subject=(view.subject or "")[:998], normalized_subject=normalized,
                                auto=auto)
        ctx.session.add(ctx.thread)
        ctx.new_thread = True
        reason = "no earlier message of this conversation"
        if auto:
            reason = f"automatic mail ({ctx.parsed.auto_kind}) kept apart; it does not start a sales thread"
        ctx.decide(self.name, "new", reason)

    def _join(self, ctx: Context, thread: MailThread, outcome: str, reason: str) -> None:
        ctx.thread = thread
        ctx.new_thread = False
        ctx.session.flush()
        ctx.decide(self.name, outcome, f"joined thread {thread.id}: {reason}", thread_id=thread.id)
