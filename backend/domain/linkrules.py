"""The link rule-book: what a conversation is linked to, and why.

One chain of small named rules (after GNU Mailman's rules: a ``name``, a ``description`` and a
``check`` that records a hit or a miss with its reason). The pipeline runs it on every mail that
arrives; the add-ins' ``resolve`` runs it on the draft being written. Both build the same
``Conversation`` (the contacts taking part, the deal or lead addresses used, the user's setting)
and so reach the same verdict: the address a draft is given and the links its mail gets agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import literal, null, select, union_all
from sqlalchemy.orm import Session

from ..models import Deal, Lead, Project
from . import dealevidence, dealrank
from .dealrank import DealFacts, DealHistory, DealPolicy, Ranking
from .items import named
from .sql import in_ids


@dataclass(frozen=True)
class Contact:
    person_id: int
    name: str


@dataclass(frozen=True)
class Item:
    item_type: str
    id: int
    title: str
    person_id: int | None = None
    bcc_token: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_type, self.id)


@dataclass
class Conversation:
    """What the rules look at, the same for a draft (resolve) and an arrived mail (pipeline)."""

    user_name: str
    link_emails_to_items: bool
    contacts: list[Contact]  # the external participants' persons, in order (From, To, Cc)
    addressed: list[Item] = field(default_factory=list)  # deals/leads whose own address was used
    automatic: str | None = None  # "bounce", "auto-reply", ... for automatic mail
    leads: dict[int, list[Item]] = field(default_factory=dict)  # by person id
    projects: dict[int, list[Item]] = field(default_factory=dict)
    open_deals: dict[int, list[Item]] = field(default_factory=dict)
    # The thread's links so far: (item_type, id) -> removed by a user (a tombstone)?
    existing: dict[tuple[str, int], bool] = field(default_factory=dict)
    existing_titles: dict[tuple[str, int], str] = field(default_factory=dict)
    # What ranks several open deals (backend/domain/dealrank.py), loaded only when there are.
    user_id: int | None = None  # the rep who sent or forwarded it (the thread's owner)
    viewer_id: int | None = None  # whose view of earlier conversations counts (default: user_id)
    thread_id: int | None = None
    subject: str = ""
    text: str = ""
    deal_policy: DealPolicy = field(default_factory=DealPolicy)
    deal_facts: dict[int, DealFacts] = field(default_factory=dict)
    deal_history: dict[int, DealHistory] = field(default_factory=dict)


@dataclass
class Proposal:
    """A link the rules add: which item, which rule, and the facts the rule saw."""

    item: Item
    rule: str
    origin: str  # "address" or "auto"
    facts: dict = field(default_factory=dict)
    reactivate: bool = False  # an address used again brings back a link the rep removed


@dataclass
class Outcome:
    rule: str
    hit: bool
    code: str
    reason: str
    items: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Verdict:
    proposals: list[Proposal] = field(default_factory=list)
    deal: Item | None = None  # the deal the conversation is (or will be) linked to
    needs_deal_choice: bool = False
    candidates: list[Item] = field(default_factory=list)  # open deals to choose from, best first
    ranking: Ranking | None = None  # the candidates' scores and evidence
    outcomes: list[Outcome] = field(default_factory=list)
    stopped_by: str | None = None

    @property
    def hits(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.hit]

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.hit]

    def linked(self, key: tuple[str, int]) -> bool:
        return any(p.item.key == key for p in self.proposals)


class Rule(Protocol):
    name: str
    description: str

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome: ...


def _live(conv: Conversation, key: tuple[str, int]) -> bool:
    return key in conv.existing and not conv.existing[key]


def _removed(conv: Conversation, key: tuple[str, int]) -> bool:
    return conv.existing.get(key, False)


def _names(contacts: list[Contact]) -> str:
    names = [c.name for c in contacts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class ItemAddress:
    name = "item-address"
    description = "A deal's or lead's own Smart Bcc address links the mail to that deal or lead."

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        if not conv.addressed:
            return Outcome(self.name, False, "no-item-address", "No deal or lead address was used.")
        for item in conv.addressed:
            if _live(conv, item.key):
                continue
            verdict.proposals.append(Proposal(item, self.name, "address", {}, reactivate=_removed(conv, item.key)))
        deals = [i for i in conv.addressed if i.item_type == "deal"]
        if deals:
            verdict.deal = deals[0]
        listed = ", ".join(named(i.item_type, i.title) for i in conv.addressed)
        return Outcome(self.name, True, "item-address", f"Sent to the Smart Bcc address of {listed}.",
                       [i.key for i in conv.addressed])


class AutomaticMail:
    name = "automatic-mail"
    description = "Automatic mail (bounces, out-of-office replies, bulk mail) is not linked to contacts' items."

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        if not conv.automatic:
            return Outcome(self.name, False, "not-automatic", "Written by a person, not automatic mail.")
        verdict.stopped_by = self.name
        return Outcome(self.name, True, "automatic",
                       f"Automatic mail ({conv.automatic}): not linked to the contacts or their items.")


class Contacts:
    name = "contacts"
    description = "Every contact taking part in the conversation is linked."

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        if not conv.contacts:
            return Outcome(self.name, False, "no-contacts", "No contact takes part in the conversation.")
        added = []
        for contact in conv.contacts:
            key = ("person", contact.person_id)
            if key not in conv.existing:
                verdict.proposals.append(Proposal(Item("person", contact.person_id, contact.name, contact.person_id),
                                                  self.name, "auto", {"person_id": contact.person_id}))
                added.append(contact)
        if not added:
            return Outcome(self.name, False, "contacts-known",
                           f"{_names(conv.contacts)} already linked (or unlinked by hand).")
        return Outcome(self.name, True, "person-linked", f"{_names(added)} took part in the conversation.",
                       [("person", c.person_id) for c in added])


class LinkSetting:
    name = "link-setting"
    description = "With the user's setting 'link emails to items' off, only contacts and addressed items link."

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        if conv.link_emails_to_items:
            return Outcome(self.name, False, "setting-on", f"{conv.user_name}'s setting 'link emails to items' is on.")
        verdict.stopped_by = self.name
        return Outcome(self.name, True, "setting-off",
                       f"{conv.user_name}'s setting 'link emails to items' is off: the contacts' deals, leads "
                       "and projects are not linked.")


class _ContactItems:
    """Every lead (or project) of the contacts is linked."""

    name = ""
    kind = ""
    description = ""

    def items(self, conv: Conversation) -> dict[int, list[Item]]:
        raise NotImplementedError

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        owned = self.items(conv)
        added, skipped = [], []
        for contact in conv.contacts:
            for item in owned.get(contact.person_id, []):
                if item.key in conv.existing or verdict.linked(item.key):
                    if _removed(conv, item.key):
                        skipped.append(item)
                    continue
                verdict.proposals.append(Proposal(item, self.name, "auto", {"person_id": contact.person_id}))
                added.append((item, contact))
        if not added:
            reason = f"No {self.kind} of the contacts to link."
            if skipped:
                reason = (f"{', '.join(named(i.item_type, i.title) for i in skipped)}: unlinked by hand, "
                          "not linked again.")
            return Outcome(self.name, False, f"no-{self.kind}", reason)
        listed = "; ".join(f"{named(i.item_type, i.title)} belongs to {c.name}" for i, c in added)
        return Outcome(self.name, True, f"{self.kind}-linked", listed[0].upper() + listed[1:] + ".",
                       [i.key for i, _ in added])


class ContactLeads(_ContactItems):
    name = "contact-leads"
    kind = "lead"
    description = "Every lead of the contacts is linked."

    def items(self, conv: Conversation) -> dict[int, list[Item]]:
        return conv.leads


class ContactProjects(_ContactItems):
    name = "contact-projects"
    kind = "project"
    description = "Every project of the contacts is linked."

    def items(self, conv: Conversation) -> dict[int, list[Item]]:
        return conv.projects


class OnlyOpenDeal:
    name = "only-open-deal"
    description = ("When the contacts together have exactly one open deal, the conversation is linked to it; "
                   "with more than one, the rep picks.")

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        deals: dict[int, Item] = {}
        for contact in conv.contacts:
            for deal in conv.open_deals.get(contact.person_id, []):
                deals.setdefault(deal.id, deal)
        candidates = list(deals.values())
        with_deals = [c for c in conv.contacts if conv.open_deals.get(c.person_id)]
        live = next((key for key, removed in conv.existing.items() if key[0] == "deal" and not removed), None)
        if verdict.deal is not None or live is not None:
            if verdict.deal is None:
                title = conv.existing_titles.get(live, "")
                verdict.deal = next((d for d in candidates if d.id == live[1]), Item("deal", live[1], title))
            return Outcome(self.name, False, "deal-kept",
                           f"Already linked to {named('deal', verdict.deal.title)}: no other deal is added.")
        if not candidates:
            return Outcome(self.name, False, "no-open-deal", "None of the contacts has an open deal.")
        if len(candidates) > 1:
            verdict.needs_deal_choice = True
            verdict.ranking = dealrank.rank(conv, candidates)
            verdict.candidates = [r.item for r in verdict.ranking.ranked]
            return Outcome(self.name, False, "needs-deal-choice",
                           f"{_names(with_deals)} {'have' if len(with_deals) > 1 else 'has'} {len(candidates)} "
                           "open deals: no deal is linked until you pick one.", [d.key for d in verdict.candidates])
        deal = candidates[0]
        if _removed(conv, deal.key):
            return Outcome(self.name, False, "deal-unlinked-by-hand",
                           f"{named('deal', deal.title)} was unlinked by hand: not linked again.")
        verdict.deal = deal
        verdict.proposals.append(Proposal(deal, self.name, "auto",
                                          {"person_ids": [c.person_id for c in with_deals]}))
        only = (f"{with_deals[0].name}'s only open deal" if len(with_deals) == 1
                else f"the only open deal of {_names(with_deals)}")
        return Outcome(self.name, True, "deal-linked", f"Linked because '{deal.title}' is {only}.", [deal.key])


class ConfidentDeal:
    name = "confident-deal"
    description = ("With several open deals, the company's deal-choice policy applies to their ranking: ask, "
                   "suggest the best one, or link it when its score clears the threshold and the margin.")

    def check(self, conv: Conversation, verdict: Verdict) -> Outcome:
        ranking = verdict.ranking
        if not verdict.needs_deal_choice or ranking is None or ranking.top is None:
            return Outcome(self.name, False, "no-ranking", "No choice between open deals to make.")
        top, policy = ranking.top, ranking.policy
        best = f"{named('deal', top.item.title)} (score {top.score:.2f})"
        if policy.mode == "ask":
            return Outcome(self.name, False, "deal-ask",
                           f"The company asks the rep to pick; ranked first: {best}.", [top.item.key])
        if policy.mode == "suggest":
            return Outcome(self.name, False, "deal-suggested", f"Suggested: {best}; the rep confirms or picks "
                           "another.", [top.item.key])
        if not ranking.confident:
            return Outcome(self.name, False, "deal-not-confident",
                           f"Not confident enough to link {best}: it needs a score of at least "
                           f"{policy.threshold:.2f} and a lead of {policy.margin:.2f} over the next deal "
                           f"(it has {ranking.lead:.2f}); the rep picks.", [top.item.key])
        verdict.needs_deal_choice = False
        verdict.deal = top.item
        verdict.proposals.append(Proposal(top.item, self.name, "auto", {
            "score": top.score, "lead": round(ranking.lead, 3),
            "evidence": [e.as_json() for e in top.evidence],
            "person_ids": [c.person_id for c in conv.contacts if conv.open_deals.get(c.person_id)]}))
        why = " ".join(top.reasons)
        return Outcome(self.name, True, "deal-confident",
                       f"Linked to {best}, ahead of the next deal by {ranking.lead:.2f}: {why}", [top.item.key])


RULES: tuple[Rule, ...] = (ItemAddress(), AutomaticMail(), Contacts(), LinkSetting(), ContactLeads(),
                           ContactProjects(), OnlyOpenDeal(), ConfidentDeal())


def run_rules(conv: Conversation, rules: tuple[Rule, ...] = RULES) -> Verdict:
    """Runs the chain in order; a rule may stop it (automatic mail, the user's setting off)."""
    verdict = Verdict()
    for rule in rules:
        verdict.outcomes.append(rule.check(conv, verdict))
        if verdict.stopped_by:
            break
    return verdict


def contact_items(session: Session, company_id: int, person_ids: list[int]):
    """The contacts' leads, projects and open deals, by person id: one query for all of them."""
    found: dict[str, dict[int, list[Item]]] = {kind: {pid: [] for pid in person_ids}
                                               for kind in ("lead", "project", "deal")}
    if person_ids:
        parts = []
        for kind, model, token, where in (("lead", Lead, Lead.bcc_token, ()), ("project", Project, null(), ()),
                                          ("deal", Deal, Deal.bcc_token, (Deal.status == "open",))):
            # "company_id + 0" keeps the company filter but stops SQLite (no statistics) from
            # scanning the whole company through its company_id index instead of person_id's.
            parts.append(select(literal(kind).label("kind"), model.id, model.title, model.person_id,
                                token.label("bcc_token"))
                         .where(in_ids(session, model.person_id, person_ids), (model.company_id + 0) == company_id,
                                *where))
        for row in sorted(session.execute(union_all(*parts)).all(), key=lambda r: r.id):
            found[row.kind][row.person_id].append(Item(row.kind, row.id, row.title or "", row.person_id,
                                                       row.bcc_token))
    return found["lead"], found["project"], found["deal"]


def with_items(session: Session, company_id: int, conv: Conversation, items=None) -> Conversation:
    """``conv`` with its contacts' leads, projects and open deals loaded (the rules are pure);
    ``items`` is what ``contact_items`` would answer, when the caller already holds it (the
    pipeline's batch lookups, backend/pipeline/batch.py)."""
    conv.leads, conv.projects, conv.open_deals = items if items is not None else contact_items(
        session, company_id, [c.person_id for c in conv.contacts])
    return dealevidence.load_evidence(session, company_id, conv)
