"""Stage authorize: the accepted sender's user owns the message."""
from __future__ import annotations

from ..models import User
from .context import Context


class PipelineError(Exception):
    """Processing cannot go on; the record is kept as failed with this message."""


class Authorize:
    name = "authorize"

    def run(self, ctx: Context) -> None:
        sender = ctx.parsed.sender.key if ctx.parsed and ctx.parsed.sender else None
        shown = sender or "a mail without a sender address"
        user = ctx.lookups.accepted_user(ctx.session, ctx.company_id, sender) if sender else None
        if user is not None:
            via = "account address" if user.email == sender else "verified alternative address"
            return self._own(ctx, user, "owner", f"From {sender}, {user.name}'s {via}: logged in their mailbox.")
        intake = {d.get("outcome") for d in ctx.record.decisions or [] if d.get("stage") == "intake"}
        owner = ctx.session.get(User, ctx.record.user_id) if ctx.record.user_id else None
        if owner is not None and "mailbox-reply" in intake:
            # A customer's reply fetched from the rep's connected mailbox: the
            # customer is the sender, the mailbox owner owns the copy.
            return self._own(ctx, owner, "owner-mailbox",
                             f"A customer's reply ({shown}), fetched from {owner.name}'s connected mailbox.")
        if owner is not None:
            # Acceptance saw an accepted sender; an address removed since keeps that owner.
            return self._own(ctx, owner, "owner-from-intake",
                             f"{shown} is no longer an accepted address; logged for {owner.name}, as decided when "
                             "the mail arrived.")
        raise PipelineError(f"no user accepts mail from {sender!r}")

    def _own(self, ctx: Context, user: User, outcome: str, reason: str) -> None:
        ctx.user = user
        ctx.record.user_id = user.id
        ctx.decide(self.name, outcome, reason, user_id=user.id)
