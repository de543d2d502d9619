"""Stage visibility: a new thread takes the privacy the rep chose while writing (the Smart Bcc
address's tag), else the owner's default; an existing one keeps its own, and a different choice
is offered to its owner instead (backend/domain/privacy.py)."""
from __future__ import annotations

from ..domain import privacy
from .context import Context


class Visibility:
    name = "visibility"

    def run(self, ctx: Context) -> None:
        choice = privacy.chosen([r.get("address") or "" for r in ctx.routes], ctx.settings.mail_domain)
        if not ctx.new_thread:
            outcome, reason = privacy.settle_existing(ctx.thread, ctx.user, choice)
            ctx.decide(self.name, outcome, reason, **({"offered": choice.privacy} if outcome == "offered" else {}))
            return
        reason = privacy.settle_new(ctx.thread, ctx.user, choice)
        extra = {"chosen": choice.privacy} if choice.privacy else {}
        ctx.decide(self.name, privacy.state(ctx.thread.shared), reason, **extra)
