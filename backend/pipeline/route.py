"""Stage route: which company, and which deal or lead, the recipient addresses lead to."""
from __future__ import annotations

from ..domain.items import named
from .context import Context


class Route:
    name = "route"

    def run(self, ctx: Context) -> None:
        # Acceptance resolved the addresses; here they are re-checked so a deal
        # deleted meanwhile is not linked.
        ctx.routes = []
        for route in ctx.record.recipients or []:
            kind, item_id = route.get("kind"), route.get("item_id")
            if kind in ("deal", "lead"):
                # Read once per batch, for the link rules as well (backend/pipeline/batch.py).
                found = ctx.lookups.addressed_items(ctx.session, ctx.company_id, [(kind, item_id)])
                item = found[0] if found else None
                if item is None:
                    ctx.decide(self.name, "item-gone", f"Sent to the Smart Bcc address of a {kind} that was deleted "
                               "since: the mail is logged without it.", address=route.get("address"))
                    continue
                ctx.decide(self.name, kind, f"Sent to the Smart Bcc address of {named(kind, item.title)}.",
                           address=route.get("address"), item_id=item_id)
            else:
                ctx.decide(self.name, "company", "Sent to the company's Smart Bcc address.",
                           address=route.get("address"))
            ctx.routes.append(route)
