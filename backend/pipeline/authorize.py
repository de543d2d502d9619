"""Stage authorize: the accepted sender's user owns the message."""
from __future__ import annotations

from ..intake.checks import accepted_user
from ..models import User
from .context import Context


class PipelineError(Exception):
    """Processing cannot go on; the record is kept as failed with this message."""


class Authorize:
    name = "authorize"

    def run(self, ctx: Context) -> None:
        sender = ctx.parsed.sender.key if ctx.parsed and ctx.parsed.sender else None
        user = accepted_user(ctx.session, ctx.company_id, sender) if sender else None
        if user is None and ctx.record.user_id:
            # Acceptance saw the sender; an address removed since keeps that owner.
            user = ctx.session.get(User, ctx.record.user_id)
            if user is not None:
                ctx.decide(self.name, "owner-from-intake",
                           f"{sender} is no longer accepted; kept the owner decided at intake ({user.email})")
        if user is None:
            raise PipelineError(f"no user accepts mail from {sender!r}")
        ctx.user = user
        ctx.record.user_id = user.id
        via = "account address" if user.email == sender else "verified alternative address"
        ctx.decide(self.name, "owner", f"{sender} is {user.name}'s {via}", user_id=user.id)
