"""What a conversation says about its candidate deals, read once per ranking (backend/domain/dealrank.py):
the facts the evidence reads of each deal and the conversation's history with them (loaded by
dealevidence.py, dealhistory.py), the mail's words against each deal's title and organisation, the
values it names, and the sentences it writes aside. The evidence rules in dealrank.py weigh it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .dealwords import amounts, sentences, words

if TYPE_CHECKING:  # pragma: no cover
    from .linkrules import Conversation, Item


@dataclass(frozen=True)
class DealFacts:
    """What the evidence reads of a candidate deal besides its title."""

    owner_id: int | None = None
    organization: str = ""
    value: float | None = None
    currency: str = ""  # ISO 4217, upper case ("" when unknown)


@dataclass
class DealHistory:
    """Earlier conversations (other than this one) with the contacts, linked to one deal."""

    threads: set[int] = field(default_factory=set)
    by_address: set[int] = field(default_factory=set)  # of those, linked through the deal's own address
    person_ids: set[int] = field(default_factory=set)  # which of the contacts took part
    last_at: datetime | None = None
    last_by_person: dict[int, datetime] = field(default_factory=dict)  # the newest such conversation per contact


@dataclass(frozen=True)
class Evidence:
    rule: str
    points: float
    reason: str
    parts: tuple[tuple[str, float], ...] = field(default=(), compare=False)  # what was seen, by feature (0-1)

    def as_json(self) -> dict:
        return {"rule": self.rule, "points": round(self.points, 1), "reason": self.reason}


@dataclass
class Reading:
    """Computed once per ranking: the conversation's words and what the candidates share."""

    subject: set[str]
    text: set[str]
    aside: dict[str, set[str]]  # a word of the text only in sentences with "aside" words -> those words
    title_words: dict[int, set[str]]
    org_words: dict[int, set[str]]
    common_title: set[str]
    weight: dict[str, float]  # a title word's weight: 1 in one candidate's title, 0 in all of them
    common_org: set[str]
    newest_activity: int | None  # the deal id with the most recent mail with the contacts
    newest_with: int | None  # whose most recent mail that is (the first contact's when they have one)
    history_total: int  # earlier conversations with the contacts linked to any candidate
    sender_owns_all: bool
    first_contact: int | None  # the person id of the mail's first contact when the candidates are of several
    whole_titles: list[str] = field(default_factory=list)
    whole: set[int] = field(default_factory=set)  # deals whose title's every word (but shared ones) the mail names
    part: dict[int, str] = field(default_factory=dict)  # deals whose title the mail names in part -> the title
    valued: dict[int, tuple[float, str]] = field(default_factory=dict)  # deal id -> its value named in the mail
    value_shared: dict[float, int] = field(default_factory=dict)  # a named value -> how many candidates have it
    points: dict[str, float] = field(default_factory=dict)  # a feature's points (learned or fixed)

    def weigh(self, rule: str, parts: dict[str, float], reason: str) -> Evidence:
        return Evidence(rule, sum(self.points.get(k, 0.0) * v for k, v in parts.items()), reason,
                        tuple(sorted(parts.items())))



def read(conv: "Conversation", candidates: list["Item"], fixed: dict[str, float]) -> Reading:
    """What the mail says about the candidates, computed once per ranking (``fixed``: the points
    the company has not learned its own of)."""
    title_words = {d.id: words(d.title) for d in candidates}
    org_words = {d.id: words((conv.deal_facts.get(d.id) or DealFacts()).organization) for d in candidates}

    def common(by_id: dict[int, set[str]]) -> set[str]:
        sets = list(by_id.values())
        return set.intersection(*sets) if len(sets) > 1 else set()

    first = conv.contacts[0].person_id if conv.contacts else None
    # The newest mail with the first contact (to or from whom the mail is); else with any contact.
    newest_with = first
    dated = [(h.last_by_person[first], deal_id) for deal_id, h in conv.deal_history.items()
             if first in h.last_by_person and deal_id in title_words]
    if not dated:
        newest_with = None
        dated = [(h.last_at, deal_id) for deal_id, h in conv.deal_history.items()
                 if h.last_at is not None and deal_id in title_words]
    newest = None
    if dated:
        dated.sort(reverse=True)
        if len(dated) == 1 or dated[0][0] > dated[1][0]:
            newest = dated[0][1]
    subject = words(conv.subject)
    threads = set().union(*(h.threads for d, h in conv.deal_history.items() if d in title_words)) \
        if conv.deal_history else set()
    owners = {(conv.deal_facts.get(d.id) or DealFacts()).owner_id for d in candidates}
    count = len(candidates)
    seen: dict[str, int] = {}
    for ws in title_words.values():
        for w in ws:
            seen[w] = seen.get(w, 0) + 1
    weight = {w: (math.log(count / n) / math.log(count) if count > 1 else 1.0) for w, n in seen.items()}
    people = {d.person_id for d in candidates if d.person_id is not None}
    text, aside = words(conv.text) - subject, {}
    if conv.deal_policy.aside:
        marks = set(conv.deal_policy.aside)
        plain = set().union(*(said for said in sentences(conv.text) if not said & marks))
        for said in sentences(conv.text):
            for word in said - plain - subject if said & marks else ():
                aside.setdefault(word, set()).update(said & marks)
    valued, shared = _valued(conv, candidates)
    said = subject | text
    whole, part = set(), {}
    for d in candidates:
        title = {w for w in title_words[d.id] if weight.get(w, 0.0) > 0}
        if title and title <= said:
            whole.add(d.id)
        elif title & said:
            part[d.id] = d.title
    return Reading(subject, text, aside, title_words, org_words, common(title_words), weight,
                    common(org_words), newest, newest_with, len(threads), owners == {conv.user_id},
                    first if len(people) > 1 and first in people else None,
                    [d.title for d in candidates if d.id in whole], whole, part, valued, shared,
                    {**fixed, **(conv.deal_policy.points or {})})


def _valued(conv: "Conversation", candidates: list["Item"]) -> tuple[dict[int, tuple[float, str]], dict[float, int]]:
    """The candidates whose value the subject or text names (in the deal's currency, or with none
    written), and how many candidates have each value named."""
    facts = [(d.id, conv.deal_facts.get(d.id)) for d in candidates]
    if not any(f is not None and f.value for _, f in facts):
        return {}, {}
    said = amounts(conv.subject) | amounts(conv.text)
    if not said:
        return {}, {}
    valued = {}
    for deal_id, f in facts:
        if f is None or not f.value:
            continue
        for value, currency in said:
            if abs(value - f.value) < 0.005 and (not currency or not f.currency or currency == f.currency):
                valued[deal_id] = (f.value, f.currency or currency)
                break
    shared: dict[float, int] = {}
    for value, _ in valued.values():
        shared[value] = shared.get(value, 0) + 1
    return valued, shared
