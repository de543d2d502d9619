"""Stage parse: read the raw bytes defensively into a ParsedMessage."""
from __future__ import annotations

from .context import Context
from .mime import parse_message


class Parse:
    name = "parse"

    def run(self, ctx: Context) -> None:
        ctx.parsed = parse_message(ctx.raw)
        p = ctx.parsed
        reason = f"subject {p.subject[:80]!r}, {len(p.attachments)} attachment(s)"
        if p.defects:
            reason += f"; {len(p.defects)} problem(s) read around: " + "; ".join(p.defects[:3])
        ctx.decide(self.name, "parsed", reason, defects=p.defects[:20])
