"""The stage protocol: a small named unit that reads and extends the context."""
from __future__ import annotations

from typing import Protocol

from .context import Context


class Stage(Protocol):
    name: str

    def run(self, ctx: Context) -> None:
        """Do one step; record the decision with ``ctx.decide``; raise StopPipeline to end early."""
