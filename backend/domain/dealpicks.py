"""A company's own deal picks, read back as the evidence each candidate had then, and the ranking's
points refitted on them (backend/domain/dealfit.py) as they accumulate.

A pick is what the product records when a rep decides between open deals: a deal linked by hand
(``origin`` "manual", which includes an accepted suggestion, rule ``accepted-suggestion``), and a
deal link the rep removed (by hand, or an automatic ``confident-deal`` link undone): the deal it
was not. A conversation counts once. Nothing else is read: no labels, no guesses.

Each pick is replayed as it was: the conversation's first mail (subject, text, the contacts in
order, the rep who sent it), the contacts' deals, and only the earlier conversations (started
before it) the rep who picked may see. The fit is stored on the company (``deal_choice_fit``:
the number of picks and the points) and redone by the job ``deal_choice.refit`` (REFIT), queued
after a commit that recorded a pick (``noted``; backend/services.py queues it), every REFIT_EVERY
new picks, on the first ones in the order they were made (the newest MAX_PICKS of them): the same
picks give the same points in any process. Rankings only read the stored points, so no mail, page
or add-in waits for a fit. Below MIN_PICKS the fixed points rank.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import Company, Deal, MailMessage, MailThread, Participant, Person, ThreadLink
from .dealfit import Pick, features, fit
from .dealhistory import Earlier
from .dealrank import DealFacts, DealHistory, DealPolicy, rank
from .dealwords import aside_words
from .linkrules import Contact, Item
from .sql import in_ids

MIN_PICKS = 30  # fewer usable picks: the fixed points
REFIT_EVERY = 25  # new picks before the points are fitted again
MAX_PICKS = 400  # the newest picks a fit reads
REFIT = "deal_choice.refit"  # the job (backend/dealchoice_tasks.py)
_NOTED = "smartbcc.deal_picks"  # session.info: companies whose reps picked in this transaction


def noted(session: Session, company_id: int) -> None:
    """A rep linked or removed a deal by hand in this transaction: the company's points may be due."""
    session.info.setdefault(_NOTED, set()).add(company_id)


def take_noted(session: Session) -> list[int]:
    """The companies noted since the last call (after a commit: each gets a refit job), once each."""
    return sorted(session.info.pop(_NOTED, ()))


def forget_noted(session: Session) -> None:
    session.info.pop(_NOTED, None)


@dataclass
class _Past:
    """The conversation of an earlier pick, as the ranking reads it (duck-typed ``Conversation``)."""

    contacts: list[Contact]
    subject: str
    text: str
    user_id: int | None
    user_name: str = ""
    existing: dict = field(default_factory=dict)
    deal_policy: DealPolicy = field(default_factory=DealPolicy)
    deal_facts: dict[int, DealFacts] = field(default_factory=dict)
    deal_history: dict[int, DealHistory] = field(default_factory=dict)


def _is_pick():
    """Deal links that record a rep's decision: linked by hand (or a suggestion accepted), or
    removed after being linked by hand or on its own when confident."""
    chosen = or_(ThreadLink.origin == "manual", ThreadLink.rule == "accepted-suggestion")
    undone = and_(ThreadLink.removed.is_(True), ThreadLink.rule == "confident-deal")
    return and_(ThreadLink.item_type == "deal", or_(chosen, undone))


def count(session: Session, company_id: int) -> int:
    """How many conversations have a pick."""
    return session.scalar(select(func.count(func.distinct(ThreadLink.thread_id)))
                          .where(ThreadLink.company_id == company_id, _is_pick())) or 0


def fitted_at(picks: int) -> int:
    """The number of picks the points are fitted on: MIN_PICKS, then every REFIT_EVERY more."""
    return 0 if picks < MIN_PICKS else picks - (picks - MIN_PICKS) % REFIT_EVERY


def refresh(session: Session, company: Company | None) -> None:
    """Fits the company's points again when REFIT_EVERY new picks arrived since the last fit (one
    count query when nothing is due); forgets them when the picks fell below MIN_PICKS."""
    if company is None:
        return
    due = fitted_at(count(session, company.id))
    stored = company.deal_choice_fit or {}
    if stored.get("picks", 0) == due:
        return
    if not due:
        company.deal_choice_fit = None
        return
    usable, aside = read(session, company.id, due)
    if len(usable) < MIN_PICKS:
        usable, aside = [], []
    company.deal_choice_fit = {"picks": due, "used": len(usable), "points": fit(usable) if usable else {},
                               "aside": aside}


def read(session: Session, company_id: int, upto: int) -> tuple[list[Pick], list[str]]:
    """The first ``upto`` picks (the newest MAX_PICKS of them) with each candidate's features then,
    and the words the reps wrote next to deals they did not pick (``dealwords.aside_words``);
    picks with fewer than two candidates, or of a deal not among them, are left out."""
    threads: dict[int, dict] = {}
    for thread_id, item_id, removed, by, link_id in session.execute(
            select(ThreadLink.thread_id, ThreadLink.item_id, ThreadLink.removed, ThreadLink.created_by_id,
                   ThreadLink.id).where(ThreadLink.company_id == company_id, _is_pick()).order_by(ThreadLink.id)):
        seen = threads.setdefault(thread_id, {"picked": None, "not": set(), "by": None, "last": 0})
        if removed:
            seen["not"].add(item_id)
        else:
            seen["picked"] = item_id
        seen["by"] = by if by is not None else seen["by"]
        seen["last"] = link_id
    chosen = sorted(threads, key=lambda t: threads[t]["last"])[:upto][-MAX_PICKS:]
    if not chosen:
        return [], []
    firsts: dict[int, tuple] = {}
    for row in session.execute(
            select(MailMessage.thread_id, MailMessage.id, MailMessage.subject, MailMessage.body_text)
            .where(in_ids(session, MailMessage.thread_id, chosen), MailMessage.deleted_at.is_(None))
            .order_by(MailMessage.sent_at, MailMessage.id)):
        firsts.setdefault(row.thread_id, row)
    contacts: dict[int, list[Contact]] = {}
    for message_id, person_id, name in session.execute(
            select(Participant.message_id, Participant.person_id, Person.name)
            .join(Person, Person.id == Participant.person_id)
            .where(in_ids(session, Participant.message_id, [r.id for r in firsts.values()]),
                   Participant.user_id.is_(None)).order_by(Participant.id)):
        found = contacts.setdefault(message_id, [])
        if all(c.person_id != person_id for c in found):
            found.append(Contact(person_id, name or ""))
    owners = dict(session.execute(select(MailThread.id, MailThread.owner_id)
                                  .where(in_ids(session, MailThread.id, chosen))).all())
    people = sorted({c.person_id for cs in contacts.values() for c in cs})
    deals: dict[int, list[tuple]] = {}
    if people:
        for row in session.execute(select(Deal.id, Deal.title, Deal.person_id, Deal.status)
                                   .where(Deal.company_id == company_id, in_ids(session, Deal.person_id, people))
                                   .order_by(Deal.id)):
            deals.setdefault(row.person_id, []).append(row)
    every = Earlier.read(session, company_id, people, sorted({d.id for ds in deals.values() for d in ds}))
    replays = []
    for thread_id in chosen:
        seen, first = threads[thread_id], firsts.get(thread_id)
        if first is not None:
            replays.append(_replay(every, thread_id, seen, first, contacts.get(first.id, []), owners, deals))
    replays = [r for r in replays if r is not None]
    aside = aside_words((past.text, {d.title: (d.id == seen["picked"]) for d in candidates
                                     if seen["picked"] is not None or d.id in seen["not"]})
                        for past, candidates, seen in replays)
    out = []
    for past, candidates, seen in replays:
        past.deal_policy = DealPolicy(aside=tuple(aside))
        found = features(rank(past, candidates))
        ids = [deal_id for deal_id, _ in found]
        if seen["picked"] is not None:
            right = {ids.index(seen["picked"])} if seen["picked"] in ids else set()
        else:
            right = {i for i, deal_id in enumerate(ids) if deal_id not in seen["not"]}
        if right and len(right) < len(ids):
            out.append(Pick([f for _, f in found], right))
    return out, aside


def _replay(every: Earlier, thread_id, seen, first, people, owners, deals):
    asked = {seen["picked"], *seen["not"]}
    candidates = list({d.id: Item("deal", d.id, d.title or "", d.person_id) for c in people
                       for d in deals.get(c.person_id, []) if d.status == "open" or d.id in asked}.values())
    if len(candidates) < 2:
        return None
    past = _Past(people, first.subject or "", first.body_text or "", owners.get(thread_id))
    past.deal_facts, past.deal_history = every.before(
        [c.person_id for c in people], [d.id for d in candidates], thread_id=thread_id,
        viewer=seen["by"] if seen["by"] is not None else past.user_id)
    return past, candidates, seen
