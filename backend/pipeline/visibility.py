"""Stage visibility: a new thread takes the owner's default sharing; an existing one keeps its own."""
from __future__ import annotations

from .context import Context


class Visibility:
    name = "visibility"

    def run(self, ctx: Context) -> None:
        if not ctx.new_thread:
            state = "shared" if ctx.thread.shared else "private"
            ctx.decide(self.name, state, f"The conversation stays {state}.")
            return
        ctx.thread.shared = ctx.user.default_sharing == "shared"
        state = "shared" if ctx.thread.shared else "private"
        ctx.decide(self.name, state, f"{state.capitalize()}: {ctx.user.name}'s default for new conversations.")
