"""What the deal ranking (backend/domain/dealrank.py) reads of earlier conversations: the candidate
deals' owners, organisations, values and currencies, and the earlier conversations with the contacts linked to them.
Read for a mail being ranked now (backend/domain/dealevidence.py) and for a pick made earlier, as
it was then (backend/domain/dealpicks.py)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import Deal, MailThread, Organization, ThreadLink
from .dealrank import DealFacts, DealHistory
from .sql import in_ids


def earlier(session: Session, company_id: int, person_ids: list[int], deal_ids: list[int], *,
            thread_id: int | None, viewer: int | None, before: bool = False
            ) -> tuple[dict[int, DealFacts], dict[int, DealHistory]]:
    """Each candidate's facts, and the conversations with ``person_ids`` linked to it other than
    ``thread_id`` (``before``: only those started before it), that ``viewer`` may see (their own,
    or shared within the company): one query."""
    person, deal = aliased(ThreadLink), aliased(ThreadLink)
    visible = MailThread.shared.is_(True) if viewer is None else or_(MailThread.owner_id == viewer,
                                                                      MailThread.shared.is_(True))
    other = MailThread.id < (thread_id or 0) if before else MailThread.id != (thread_id or 0)
    found = (
        select(deal.item_id.label("deal_id"), deal.origin, person.item_id.label("person_id"),
               MailThread.id.label("thread_id"), MailThread.last_message_at)
        .select_from(person)
        .join(deal, and_(deal.thread_id == person.thread_id, deal.item_type == "deal", deal.removed.is_(False)))
        .join(MailThread, MailThread.id == person.thread_id)
        .where(person.company_id == company_id, person.item_type == "person",
               in_ids(session, person.item_id, person_ids), person.removed.is_(False),
               in_ids(session, deal.item_id, deal_ids), other, MailThread.message_count > 0, visible)).subquery()
    rows = session.execute(
        select(Deal.id, Deal.owner_id, Organization.name, Deal.value, Deal.currency, found.c.origin, found.c.person_id,
               found.c.thread_id, found.c.last_message_at)
        .outerjoin(Organization, Organization.id == Deal.organization_id)
        .outerjoin(found, found.c.deal_id == Deal.id)
        .where(Deal.company_id == company_id, in_ids(session, Deal.id, deal_ids)))
    return _collect(rows)


def _collect(rows) -> tuple[dict[int, DealFacts], dict[int, DealHistory]]:
    facts: dict[int, DealFacts] = {}
    history: dict[int, DealHistory] = {}
    for deal_id, owner_id, org_name, value, currency, origin, person_id, thread, last_at in rows:
        facts[deal_id] = DealFacts(owner_id, org_name or "", float(value) if value is not None else None,
                                   (currency or "").upper())
        if thread is None:
            continue
        hist = history.setdefault(deal_id, DealHistory())
        hist.threads.add(thread)
        hist.person_ids.add(person_id)
        if origin == "address":
            hist.by_address.add(thread)
        if last_at is not None and (hist.last_at is None or last_at > hist.last_at):
            hist.last_at = last_at
        if last_at is not None and (person_id not in hist.last_by_person or last_at > hist.last_by_person[person_id]):
            hist.last_by_person[person_id] = last_at
    return facts, history


@dataclass
class Earlier:
    """Every conversation with some contacts linked to some deals, read once, to answer ``earlier``
    for many conversations (dealpicks.py replays hundreds of picks): the same answers, in Python."""

    facts: dict[int, tuple]  # deal id -> (owner id, organisation name, value, currency)
    links: list[tuple]  # (deal id, origin, person id, thread id, last message at, thread owner, shared)

    @classmethod
    def read(cls, session: Session, company_id: int, person_ids: list[int], deal_ids: list[int]) -> "Earlier":
        person, deal = aliased(ThreadLink), aliased(ThreadLink)
        facts = {row[0]: tuple(row[1:]) for row in session.execute(
            select(Deal.id, Deal.owner_id, Organization.name, Deal.value, Deal.currency)
            .outerjoin(Organization, Organization.id == Deal.organization_id)
            .where(Deal.company_id == company_id, in_ids(session, Deal.id, deal_ids)))}
        links = session.execute(
            select(deal.item_id, deal.origin, person.item_id, MailThread.id, MailThread.last_message_at,
                   MailThread.owner_id, MailThread.shared)
            .select_from(person)
            .join(deal, and_(deal.thread_id == person.thread_id, deal.item_type == "deal", deal.removed.is_(False)))
            .join(MailThread, MailThread.id == person.thread_id)
            .where(person.company_id == company_id, person.item_type == "person",
                   in_ids(session, person.item_id, person_ids), person.removed.is_(False),
                   in_ids(session, deal.item_id, deal_ids), MailThread.message_count > 0)).all()
        return cls(facts, [tuple(row) for row in links])

    def before(self, person_ids: list[int], deal_ids: list[int], *, thread_id: int, viewer: int | None
               ) -> tuple[dict[int, DealFacts], dict[int, DealHistory]]:
        """What ``earlier(..., before=True)`` answers, from what was read."""
        people, deals = set(person_ids), set(deal_ids)
        rows = [(d, *self.facts[d], None, None, None, None) for d in deal_ids if d in self.facts]
        rows += [(d, *self.facts[d], origin, pid, thread, last_at)
                 for d, origin, pid, thread, last_at, owner, shared in self.links
                 if d in deals and pid in people and thread < thread_id
                 and (shared or (viewer is not None and owner == viewer))]
        return _collect(rows)
