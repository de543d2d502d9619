"""Stage link rules: deal/lead addresses, participants' persons, their leads, projects and only open deal."""
from __future__ import annotations

from sqlalchemy import select

from ..models import Deal, Lead, Person, Project, ThreadLink
from .context import Context


class Links:
    name = "links"

    def run(self, ctx: Context) -> None:
        thread = ctx.thread
        ctx.session.flush()
        existing = {(lk.item_type, lk.item_id): lk for lk in ctx.session.scalars(
            select(ThreadLink).where(ThreadLink.thread_id == thread.id))} if thread.id else {}
        if existing and not ctx.new_thread:
            kept = [f"{t} {i}" for (t, i), lk in existing.items() if not lk.removed]
            if kept:
                ctx.decide(self.name, "inherited", "the thread's links apply: " + ", ".join(kept))

        def link(item_type: str, item_id: int, origin: str, reason: str) -> bool:
            current = existing.get((item_type, item_id))
            if current is not None:
                if origin == "address" and current.removed:
                    # Sending to the item's own address again is an explicit choice.
                    current.removed, current.origin, current.reason = False, origin, reason
                    return True
                return False
            lk = ThreadLink(company_id=ctx.company_id, thread=thread, item_type=item_type,
                            item_id=item_id, origin=origin, reason=reason)
            ctx.session.add(lk)
            existing[(item_type, item_id)] = lk
            ctx.decide(self.name, f"{item_type}-linked", reason, item_type=item_type, item_id=item_id,
                       origin=origin)
            return True

        for route in ctx.routes:
            if route.get("kind") in ("deal", "lead"):
                kind, item_id = route["kind"], route["item_id"]
                link(kind, item_id, "address", f"sent to the Smart Bcc address of {kind} {item_id}")
        if ctx.parsed.auto_kind:
            ctx.decide(self.name, "skipped", "automatic mail is not linked by the rules")
            return
        persons = {p.person_id for p in ctx.participants if p.external and p.person_id}
        person_rows = {p.id: p for p in ctx.session.scalars(
            select(Person).where(Person.id.in_(persons)))} if persons else {}
        for pid, person in sorted(person_rows.items()):
            link("person", pid, "auto", f"{person.name} took part in the conversation")
        if not ctx.user.link_emails_to_items:
            ctx.decide(self.name, "setting-off",
                       f"{ctx.user.name}'s setting 'link emails to items' is off: only addresses and persons linked")
            return
        self._items(ctx, person_rows, existing, link)

    def _items(self, ctx, person_rows, existing, link) -> None:
        thread = ctx.thread
        has_deal = any(t == "deal" and not lk.removed for (t, _), lk in existing.items())
        ambiguous = []
        # The persons' leads, projects and open deals: three queries for all of them.
        pids = sorted(person_rows)

        def of_persons(model, *where):
            found: dict[int, list] = {pid: [] for pid in pids}
            if not pids:
                return found
            for row in ctx.session.scalars(select(model).where(
                    model.company_id == ctx.company_id, model.person_id.in_(pids), *where).order_by(model.id)):
                found[row.person_id].append(row)
            return found

        with ctx.session.no_autoflush:
            leads, projects = of_persons(Lead), of_persons(Project)
            deals = of_persons(Deal, Deal.status == "open")
        for pid, person in sorted(person_rows.items()):
            for lead in leads[pid]:
                link("lead", lead.id, "auto", f"lead '{lead.title}' belongs to {person.name}")
            for project in projects[pid]:
                link("project", project.id, "auto", f"project '{project.title}' belongs to {person.name}")
            open_deals = deals[pid]
            if len(open_deals) == 1:
                deal = open_deals[0]
                if has_deal and ("deal", deal.id) not in existing:
                    ctx.decide(self.name, "deal-kept", f"the thread already has a deal; "
                               f"{person.name}'s only open deal '{deal.title}' not added")
                    continue
                if link("deal", deal.id, "auto",
                        f"linked because '{deal.title}' is {person.name}'s only open deal"):
                    has_deal = True
            elif len(open_deals) > 1:
                ambiguous.append((person, open_deals))
        if ambiguous and not has_deal:
            thread.needs_deal_choice = True
            names = "; ".join(f"{p.name} has {len(d)} open deals" for p, d in ambiguous)
            ctx.decide(self.name, "needs-deal-choice", f"no deal linked: {names}; pick one",
                       candidates=[d.id for _, ds in ambiguous for d in ds])
        elif has_deal:
            thread.needs_deal_choice = False
