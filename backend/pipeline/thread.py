"""Stage thread: join the conversation the rule of backend/domain/conversations.py names (by
In-Reply-To/References, else by subject and participants), or start a new one. What this stage
adds is the batch: a conversation the batch stored and has not written yet."""
from __future__ import annotations

from datetime import datetime, timezone

from ..domain import conversations
from ..domain.actor import Actor
from ..models import MailThread
from . import persist
from .context import Context


def lookup_keys(view) -> tuple[str, list[str]]:
    """What a mail's conversation is looked up by: its normalised subject, and the Message-IDs it
    refers to (In-Reply-To, References)."""
    return conversations.normalized_subject(view.subject), conversations.referenced_ids(view.in_reply_to,
                                                                                        view.references)


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
        external = sorted({p.address.key for p in ctx.participants if p.external})
        joined = conversations.conversation_to_join(
            ctx.session, Actor.of(ctx.user), normalized, ids, external,
            view.date or datetime.now(timezone.utc), automatic=bool(ctx.parsed.auto_kind))
        if joined is None:
            return self._new(ctx, view, normalized)
        ctx.thread = joined.thread
        ctx.new_thread = False
        ctx.decide(self.name, joined.outcome, joined.reason, thread_id=joined.thread.id)

    def _new(self, ctx: Context, view, normalized: str) -> None:
        auto = bool(ctx.parsed.auto_kind)
        ctx.thread = MailThread(company_id=ctx.company_id, owner_id=ctx.user.id,
                                subject=(view.subject or "")[:998], normalized_subject=normalized,
                                auto=auto, links=[])  # a new thread has no links: nothing to load
        # Added to the session by persist, with its first message: one INSERT with its links,
        # visibility and summary, whatever the stages between flush meanwhile (new contacts).
        ctx.new_thread = True
        ctx.decide(self.name, "new", conversations.automatic_apart(ctx.parsed.auto_kind) if auto
                   else conversations.NEW)
