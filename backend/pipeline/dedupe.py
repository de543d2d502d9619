"""Stage dedupe: one stored copy per company per message; a second arrival only adds its links."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from ..models import MailMessage, ThreadLink
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
        existing = ctx.session.scalar(select(MailMessage).where(
            MailMessage.company_id == ctx.company_id, MailMessage.dedupe_key == ctx.dedupe_key))
        if existing is None:
            ctx.decide(self.name, "new", "first arrival of this message", key=ctx.dedupe_key)
            return
        ctx.record.message_id = existing.id
        ctx.message = existing
        if existing.deleted_at is not None:
            ctx.decide(self.name, "duplicate-of-deleted",
                       f"already received as message {existing.id}, which was deleted; not restored")
            raise StopPipeline
        added = self._merge_links(ctx, existing)
        reason = f"already stored as message {existing.id}"
        reason += f"; added links: {', '.join(added)}" if added else "; nothing new to merge"
        ctx.decide(self.name, "duplicate", reason, message_id=existing.id)
        raise StopPipeline

    @staticmethod
    def _merge_links(ctx: Context, existing: MailMessage) -> list[str]:
        added = []
        for route in ctx.routes:
            kind, item_id = route.get("kind"), route.get("item_id")
            if kind not in ("deal", "lead"):
                continue
            link = ctx.session.scalar(select(ThreadLink).where(
                ThreadLink.thread_id == existing.thread_id, ThreadLink.item_type == kind,
                ThreadLink.item_id == item_id))
            if link is None:
                ctx.session.add(ThreadLink(
                    company_id=ctx.company_id, thread_id=existing.thread_id, item_type=kind,
                    item_id=item_id, origin="address",
                    reason=f"sent to the Smart Bcc address of {kind} {item_id} (second arrival)"))
                added.append(f"{kind} {item_id}")
                if kind == "deal":
                    existing.thread.needs_deal_choice = False
            elif link.removed:
                continue  # the rep removed it on purpose
        return added
