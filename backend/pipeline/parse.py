"""Stage parse: read the raw bytes defensively into a ParsedMessage."""
from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from datetime import datetime

from ..mail.automatic import explain
from ..mail.mime import parse_file, parse_message
from .context import Context


def scrub(value):
    """NUL characters out of every text field: PostgreSQL text cannot hold them, and
    no mail needs them (they become U+FFFD, so nothing silently disappears)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: scrub(getattr(value, f.name)) for f in fields(value)
                   if not isinstance(getattr(value, f.name), (bytes, int, float, type(None), datetime))}
        return replace(value, **changes)
    return value


class Parse:
    name = "parse"

    def run(self, ctx: Context) -> None:
        # Read from the stored file when the runner did not load the bytes: a big message is
        # then never in memory whole, besides what the parser builds.
        ctx.parsed = scrub(parse_message(ctx.raw) if ctx.raw is not None
                           else parse_file(ctx.services.blobs.path(ctx.record.raw_sha256)))
        p = ctx.parsed
        count = len(p.attachments)
        reason = f"Read the mail: {count} attachment{'' if count == 1 else 's'}." if count else "Read the mail."
        if p.defects:
            reason += (f" {len(p.defects)} flaw{'' if len(p.defects) == 1 else 's'} in its format read around "
                       "(listed under defects).")
        ctx.decide(self.name, "parsed", reason, defects=p.defects[:20])
        if p.auto_kind:
            ctx.decide(self.name, "automatic", explain(p.auto_kind, p.auto_reason or ""),
                       rule=p.auto_rule, kind=p.auto_kind)
