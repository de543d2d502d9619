"""Stage route: which company, and which deal or lead, the recipient addresses lead to."""
from __future__ import annotations

from ..models import Deal, Lead
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
                model = Deal if kind == "deal" else Lead
                item = ctx.session.get(model, item_id)
                if item is None or item.company_id != ctx.company_id:
                    ctx.decide(self.name, "item-gone", f"Sent to the Smart Bcc address of a {kind} that was deleted "
                               "since: the mail is logged without it.", address=route.get("address"))
                    continue
                ctx.decide(self.name, kind, f"Sent to the Smart Bcc address of {named(kind, item.title)}.",
                           address=route.get("address"), item_id=item_id)
            else:
                ctx.decide(self.name, "company", "Sent to the company's Smart Bcc address.",
                           address=route.get("address"))
            ctx.routes.append(route)
