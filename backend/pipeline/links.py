"""Stage links: the link rule-book (backend/domain/linkrules.py) judges the mail; its links are added."""
from __future__ import annotations

from ..domain import autolink
from .context import Context


class Links:
    name = "links"

    def run(self, ctx: Context) -> None:
        # Nothing is flushed here: a new thread goes out in persist's flush, in one INSERT with its
        # links, visibility and summary (the rule-book needs no id of it: a new thread has no links).
        thread = ctx.thread
        with ctx.session.no_autoflush:  # the rule-book only reads items and contacts
            addressed = [(r["kind"], r["item_id"]) for r in ctx.routes if r.get("kind") in ("deal", "lead")]
            contacts = ctx.lookups.contacts(ctx.session, ctx.company_id,
                                            (p.person_id for p in ctx.participants if p.external))
            conv, verdict = autolink.judge(
                ctx.session, ctx.company_id, user_name=ctx.user.name,
                link_emails_to_items=ctx.user.link_emails_to_items, contacts=contacts,
                items=ctx.lookups.contact_items(ctx.session, ctx.company_id, [c.person_id for c in contacts]),
                addressed=ctx.lookups.addressed_items(ctx.session, ctx.company_id, addressed),
                automatic=ctx.parsed.auto_kind, thread=thread, user_id=ctx.user.id,
                subject=ctx.view.subject if ctx.view else ctx.parsed.subject,
                text=ctx.view.text if ctx.view else ctx.parsed.text)
        if not ctx.new_thread and autolink.inherited(conv):
            ctx.decide(self.name, "inherited", autolink.inherited(conv))
        autolink.apply(ctx.session, ctx.company_id, thread, verdict)
        for outcome in verdict.outcomes:
            extra = {}
            if outcome.code == "needs-deal-choice":
                extra["candidates"] = [item_id for _kind, item_id in outcome.items]
                if verdict.ranking is not None:
                    extra["ranking"] = [{"deal_id": r.item.id, "score": r.score, "reasons": r.reasons}
                                        for r in verdict.ranking.ranked]
            elif len(outcome.items) == 1 and outcome.hit:
                extra.update(item_type=outcome.items[0][0], item_id=outcome.items[0][1])
            ctx.decide(self.name, outcome.code, outcome.reason, rule=outcome.rule, hit=outcome.hit, **extra)
