"""Ranking a conversation's candidate deals by evidence, and the company's deal-choice policy.

When the contacts of a conversation have several open deals, the link rule-book
(backend/domain/linkrules.py, rules ``only-open-deal`` and ``confident-deal``) asks this module to
rank them. Each piece of evidence is a small named rule (like the link rules: a ``name``, a
``description`` and a ``weigh`` that returns points and a sentence a rep reads, or nothing):

  address-used      the deal's own Smart Bcc address was used on an earlier mail with these contacts
  linked-before     an earlier conversation with these contacts was linked to the deal
  similar-text      the subject and text name words of the deal's title or its organisation
  whole-title       the mail names the deal's title only in part while it names another's whole (against it)
  names-value       the subject or text names the deal's value (in its currency, or with none written)
  sender-owns       the rep who sent (or forwarded) the mail owns the deal
  other-contact     the deal is of a contact other than the mail's first one (points against it)
  recent-activity   the deal with the most recent mail with the first contact (else any of them)
  unlinked-by-hand  a deal the rep unlinked from this conversation drops to the bottom

Only open deals are candidates: won and lost deals do not count, and neither do conversations
linked to them. Points add up; a deal's score is its points over 100, kept within 0-1; the order
follows the points (not the capped score), and ties keep the order the rep saw before ranking
existed (the contacts' order: From, To, Cc; then the oldest deal first).

The points were set on the labelled history of bench/dealchoice.py (--seed 7, reported on 19): a
title named in the subject (60) or the text (40) weighs most; the sender owning the deal (40) as
much as the text, as reps mostly write about their own deals; a deal of a contact other than the
first loses 20 (its title in the subject still wins); the newest conversation with the contact
(20) and earlier links (15 by their share, 5 for the deal's address) break the remaining ties.
Added later (issue 19, from the bench's misranked cases): the deal's value written in the mail (50,
shared among the candidates of that value: a rep quoting an offer names its amount, which other
deals of the contact rarely share), and a title named only in part while another candidate's is
named whole (-30: "the Payroll upgrade" is not about the sender's "Payroll workshop"). The latter
takes points from the deals named in part rather than giving them to the one named whole: on the
bench that ranked better (88.2 % against 87.7 % top-1) and made no top score higher, so fewer
wrong automatic links (0.8 % against 1.0 %).
Once a company has 30 picks of its own, points fitted on them replace these (``FIXED``; dealfit.py,
dealpicks.py), with the words its reps write next to deals they did not pick; the sentences stay.

The company's policy (``Company.deal_choice_policy``) says what happens with the ranking:

  ``ask``                  needs a choice; the candidates are listed best first (the default)
  ``suggest``              needs a choice; the top candidate is pre-selected
  ``auto_when_confident``  the top candidate is linked when its score is at least the threshold
                           and leads the second by at least the margin; otherwise as ``ask``

The pipeline (through the rule-book), the add-ins' ``resolve`` and the thread page all rank with
``rank`` on a ``Conversation`` loaded by ``dealevidence.load_evidence``: they agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..models import Company
# DealFacts, DealHistory, Evidence: defined with what the ranking reads, named here too for its callers.
from .dealreading import DealFacts, DealHistory, Evidence, Reading, read  # noqa: F401
from .dealwords import TEXT_CHARS, words  # noqa: F401  (words: as the ranking reads them)

if TYPE_CHECKING:  # pragma: no cover
    from .linkrules import Conversation, Item

POLICIES = ("ask", "suggest", "auto_when_confident")
DEFAULT_POLICY = "ask"
# 0.9 since 2026-12-07 (was 0.8): on bench/dealchoice.py's seeds 3 and 11, 0.8 linked 1.2-1.4 %
# wrongly; 0.9 gives 0.4-1.0 % (seed 19, held out: 0.8 % at both) for ~4 points less auto-linking.
DEFAULT_THRESHOLD = 0.9
DEFAULT_MARGIN = 0.3
POLICY_WORDS = {
    "ask": "Ask: the rep picks; the best candidates are listed first.",
    "suggest": "Suggest: the rep picks; the best candidate is pre-selected.",
    "auto_when_confident": "Link automatically when confident; otherwise the rep picks.",
}
FULL = 100.0  # points for a score of 1
# A feature's points when it is fully seen (a share or a part of a title: that part of them). These
# fixed points rank for a company until it has enough picks of its own (backend/domain/dealfit.py).
FIXED = {"address-used": 5.0, "linked-before": 15.0, "subject": 60.0, "text": 40.0, "organisation": 10.0,
         "sender-owns": 40.0, "other-contact": -20.0, "recent-activity": 20.0, "names-value": 50.0,
         "whole-title": -30.0,
         "text-aside": 40.0}  # named only in sentences with the company's "aside" words (none: never)


@dataclass(frozen=True)
class DealPolicy:
    mode: str = DEFAULT_POLICY
    threshold: float = DEFAULT_THRESHOLD
    margin: float = DEFAULT_MARGIN
    learned: tuple[tuple[str, float], ...] = ()  # points fitted on the company's own picks (else FIXED)
    aside: tuple[str, ...] = ()  # words its reps write about deals other than the one they pick

    @property
    def points(self) -> dict[str, float] | None:
        return dict(self.learned) if self.learned else None

    @classmethod
    def of(cls, company: Company | None) -> "DealPolicy":
        if company is None:
            return cls()
        fitted = (company.deal_choice_fit or {}).get("points") or {}
        return cls(company.deal_choice_policy or DEFAULT_POLICY,
                   float(company.deal_choice_threshold if company.deal_choice_threshold is not None
                         else DEFAULT_THRESHOLD),
                   float(company.deal_choice_margin if company.deal_choice_margin is not None else DEFAULT_MARGIN),
                   tuple(sorted((k, float(v)) for k, v in fitted.items() if k in FIXED)),
                   tuple(sorted((company.deal_choice_fit or {}).get("aside") or ())))


@dataclass
class Ranked:
    item: "Item"
    score: float
    evidence: list[Evidence]
    excluded: bool = False  # unlinked by hand: never linked automatically

    @property
    def reasons(self) -> list[str]:
        return [e.reason for e in self.evidence]


@dataclass
class Ranking:
    ranked: list[Ranked]
    policy: DealPolicy

    @property
    def top(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None

    @property
    def lead(self) -> float:
        """How far the top candidate is ahead of the second (its score when it is alone)."""
        if not self.ranked:
            return 0.0
        second = self.ranked[1].score if len(self.ranked) > 1 else 0.0
        return self.ranked[0].score - second

    @property
    def confident(self) -> bool:
        top = self.top
        return (top is not None and not top.excluded and top.score > 0
                and top.score >= self.policy.threshold and self.lead >= self.policy.margin - 1e-9)

    @property
    def suggested(self) -> Ranked | None:
        """The candidate pre-selected for the rep: the top one under ``suggest`` (``ask``, and
        ``auto_when_confident`` when not confident, pre-select nothing)."""
        top = self.top
        if top is None or top.excluded or self.policy.mode != "suggest":
            return None
        return top


class EvidenceRule(Protocol):
    name: str
    description: str

    def weigh(self, conv: "Conversation", deal: "Item", ctx: "Reading") -> Evidence | None: ...


def _quoted(found: list[str]) -> str:
    shown = [f"'{w}'" for w in sorted(found)[:4]]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _names(conv: "Conversation", person_ids: set[int]) -> str:
    names = [c.name for c in conv.contacts if c.person_id in person_ids] or ["these contacts"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _day(moment: datetime | None) -> str:
    return f"{moment.day} {moment:%b %Y}" if moment else "an earlier day"


class AddressUsed:
    name = "address-used"
    description = "The deal's own Smart Bcc address was used on an earlier mail with these contacts."

    def weigh(self, conv, deal, ctx):
        hist = conv.deal_history.get(deal.id)
        if hist is None or not hist.by_address:
            return None
        count = len(hist.by_address)
        times = "an earlier mail" if count == 1 else f"{count} earlier conversations"
        return ctx.weigh(self.name, {self.name: 1.0},
                         f"Its own Smart Bcc address was used on {times} with {_names(conv, hist.person_ids)}.")


class LinkedBefore:
    name = "linked-before"
    description = ("Earlier conversations with these contacts were linked to the deal: points by its share of "
                   "them.")

    def weigh(self, conv, deal, ctx):
        hist = conv.deal_history.get(deal.id)
        if hist is None or not hist.threads or not ctx.history_total:
            return None
        count = len(hist.threads)
        share = count / ctx.history_total
        what = (f"{count} of the {ctx.history_total} earlier conversations" if ctx.history_total > 1
                else "The earlier conversation")
        return ctx.weigh(self.name, {self.name: share},
                         f"{what} with {_names(conv, hist.person_ids)} {'was' if count == 1 else 'were'} "
                         "linked to it.")


class SimilarText:
    name = "similar-text"
    description = ("The subject and text name words of the deal's title (weighted by how few candidates share "
                   "them) or its organisation.")

    def weigh(self, conv, deal, ctx):
        title = ctx.title_words.get(deal.id, set())
        total = sum(ctx.weight.get(w, 0.0) for w in title)
        parts, said = {}, []
        if total > 0:
            in_subject = {w for w in title & ctx.subject if ctx.weight.get(w, 0.0) > 0}
            in_text = {w for w in title & ctx.text if ctx.weight.get(w, 0.0) > 0} - in_subject
            in_aside, in_text = {w for w in in_text if w in ctx.aside}, {w for w in in_text if w not in ctx.aside}
            if in_subject:
                parts["subject"] = sum(ctx.weight[w] for w in in_subject) / total
            if in_text:
                parts["text"] = sum(ctx.weight[w] for w in in_text) / total
            if in_subject:
                said.append(f"the subject names {_quoted(in_subject)} from its title")
            if in_text:
                said.append(f"the text names {_quoted(in_text)} from its title")
            if in_aside:
                parts["text-aside"] = sum(ctx.weight[w] for w in in_aside) / total
                said.append(f"the text names {_quoted(in_aside)} from its title, but next to "
                            f"{_quoted(set().union(*(ctx.aside[w] for w in in_aside)))}, as your team writes "
                            "of deals a mail is not about")
        org = ctx.org_words.get(deal.id, set()) - ctx.common_org
        if org and org & (ctx.subject | ctx.text):
            parts["organisation"] = 1.0
            said.append(f"it mentions its organisation, {(conv.deal_facts.get(deal.id) or DealFacts()).organization}")
        if not said:
            return None
        sentence = "; ".join(said)
        return ctx.weigh(self.name, parts, sentence[:1].upper() + sentence[1:] + ".")


def _money(value: float, currency: str) -> str:
    amount = f"{value:,.2f}".removesuffix(".00")
    return f"{currency} {amount}" if currency else amount


class WholeTitle:
    name = "whole-title"
    description = ("The subject or text names the deal's title only in part while another candidate's title is "
                   "named whole: 'the Payroll upgrade' is not about the Payroll workshop (points against it).")

    def weigh(self, conv, deal, ctx):
        if deal.id not in ctx.part or not ctx.whole:
            return None
        return ctx.weigh(self.name, {self.name: 1.0},
                         f"The mail names its title only in part; it names {_quoted(set(ctx.whole_titles))} whole.")


class NamesValue:
    name = "names-value"
    description = ("The subject or text names the deal's value (in the deal's currency, or with no currency "
                   "written); a value several candidates have is shared among them.")

    def weigh(self, conv, deal, ctx):
        named = ctx.valued.get(deal.id)
        if named is None:
            return None
        value, currency = named
        share = ctx.value_shared.get(value, 1)
        also = ("" if share == 1 else " (so does one other open deal)" if share == 2
                else f" (so do {share - 1} other open deals)")
        return ctx.weigh(self.name, {self.name: 1.0 / share},
                         f"The mail names its value, {_money(value, currency)}{also}.")


class SenderOwns:
    name = "sender-owns"
    description = "The rep who sent (or forwarded) the mail owns the deal (and not every candidate)."

    def weigh(self, conv, deal, ctx):
        facts = conv.deal_facts.get(deal.id)
        if facts is None or conv.user_id is None or facts.owner_id != conv.user_id or ctx.sender_owns_all:
            return None
        return ctx.weigh(self.name, {self.name: 1.0}, f"{conv.user_name} owns it.")


class RecentActivity:
    name = "recent-activity"
    description = "The deal with the most recent mail with the mail's first contact (else with any contact)."

    def weigh(self, conv, deal, ctx):
        if ctx.newest_activity != deal.id:
            return None
        hist = conv.deal_history[deal.id]
        if ctx.newest_with is not None:
            who, day = _names(conv, {ctx.newest_with}), hist.last_by_person[ctx.newest_with]
        else:
            who, day = _names(conv, hist.person_ids), hist.last_at
        return ctx.weigh(self.name, {self.name: 1.0}, f"It has the most recent mail with {who} ({_day(day)}).")


class OtherContact:
    name = "other-contact"
    description = ("The deal is of a contact other than the mail's first one (From, else the first To): someone "
                   "copied is less often whom the mail is about.")

    def weigh(self, conv, deal, ctx):
        if ctx.first_contact is None or deal.person_id == ctx.first_contact:
            return None
        return ctx.weigh(self.name, {self.name: 1.0},
                         f"It is a deal of {_names(conv, {deal.person_id})}, not of "
                         f"{_names(conv, {ctx.first_contact})}, the first contact on the mail.")


class UnlinkedByHand:
    name = "unlinked-by-hand"
    description = "A deal unlinked from this conversation by hand is ranked last and never linked automatically."
    points = -FULL

    def weigh(self, conv, deal, ctx):
        if not conv.existing.get(("deal", deal.id), False):
            return None
        return Evidence(self.name, self.points, "It was unlinked from this conversation by hand.")


EVIDENCE: tuple[EvidenceRule, ...] = (AddressUsed(), LinkedBefore(), SimilarText(), WholeTitle(), NamesValue(),
                                      SenderOwns(), OtherContact(), RecentActivity(), UnlinkedByHand())


def rank(conv: "Conversation", candidates: list["Item"], rules: tuple[EvidenceRule, ...] = EVIDENCE) -> Ranking:
    """The candidates best first, each with its score (0-1) and evidence."""
    ctx = read(conv, candidates, FIXED)
    ranked, points = [], {}
    for deal in candidates:
        evidence = [e for e in (rule.weigh(conv, deal, ctx) for rule in rules) if e is not None]
        points[deal.id] = sum(e.points for e in evidence)
        ranked.append(Ranked(deal, round(max(0.0, min(1.0, points[deal.id] / FULL)), 3), evidence,
                             excluded=any(e.rule == UnlinkedByHand.name for e in evidence)))
    ranked.sort(key=lambda r: (r.excluded, -points[r.item.id]))
    return Ranking(ranked, conv.deal_policy)


def candidate_ids(conv: "Conversation") -> list[int]:
    return list(dict.fromkeys(d.id for c in conv.contacts for d in conv.open_deals.get(c.person_id, [])))
