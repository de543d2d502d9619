"""Stage dedupe: one stored copy per company per message; a second arrival only adds its links."""
from __future__ import annotations

import hashlib
import re

from ..domain import autolink, threads
from ..domain.items import named
from .context import Context, StopPipeline

_SPACE = re.compile(r"\s+")


def dedupe_key(ctx: Context) -> str:
    view, parsed = ctx.view, ctx.parsed
    if view.message_id:
        key = "mid:" + view.message_id.strip()
    elif ctx.forwarded is not None:
        # An inline forward has no Message-ID of the original: identify it by
        # what the customer wrote, so forwarding it twice logs it once.
        basis = "|".join([
            view.sender.key if view.sender else "",
            view.date.isoformat() if view.date else "",
            view.subject or "",
            _SPACE.sub(" ", (view.text or "")).strip()[:10000],
        ])
        key = "fwd:" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()
    else:
        key = "hash:" + parsed.content_hash
    if len(key) > 255:
        key = "mid#" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return key


class Dedupe:
    name = "dedupe"

    def run(self, ctx: Context) -> None:
        ctx.dedupe_key = dedupe_key(ctx)
        # Asked once per batch for all its records (the runner prefetches); a copy stored earlier
        # in the same batch is known too (backend/pipeline/batch.py).
        existing = ctx.lookups.stored_copy(ctx.session, ctx.company_id, ctx.dedupe_key)
        if existing is None:
            ctx.decide(self.name, "new", "First copy of this mail.", key=ctx.dedupe_key)
            return
        ctx.record.message_id = existing.id
        ctx.message = existing
        if existing.deleted_at is not None:
            threads.forget_copy(ctx.session, ctx.record, ctx.services.blobs)
            ctx.commit_now = True  # a file was removed: commit before anything else can roll it back
            ctx.decide(self.name, "duplicate-of-deleted",
                       "Another copy of a mail that was deleted: it is not logged again.")
            raise StopPipeline
        addressed = [(r["kind"], r["item_id"]) for r in ctx.routes if r.get("kind") in ("deal", "lead")]
        added = autolink.merge_addressed(ctx.session, ctx.company_id, existing.thread,
                                         ctx.lookups.addressed_items(ctx.session, ctx.company_id, addressed))
        reason = "Already logged: this is another copy of the same mail."
        if added:
            reason += " Also linked to " + ", ".join(named(i.item_type, i.title) for i in added) + \
                      ", whose Smart Bcc address it was sent to."
        ctx.decide(self.name, "duplicate", reason, message_id=existing.id)
        raise StopPipeline
