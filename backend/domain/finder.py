"""The global search (the header's search box and /search): conversations, persons, organisations,
deals and leads matching what the user typed, grouped by kind.

Conversations are the inbox's search (backend/domain/search.py) through the inbox rule
(backend/domain/inbox.py), so a colleague's private conversation is never found; the CRM records
are the company's, found by title or name (persons also by address), case-insensitively.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import MailThread
from ..models.crm import Deal, Organization, Person, PersonEmail
from .actor import Actor
from .errors import DomainError
from .inbox import clean_term, escape_like, inbox_page
from .items import MODELS

MAX_TERM = 200
KINDS = ("conversation", "person", "organization", "deal", "lead")
KIND_LABELS = {"conversation": "Conversations", "person": "Persons", "organization": "Organisations",
               "deal": "Deals", "lead": "Leads"}


@dataclass
class Found:
    item_type: str
    id: int
    title: str
    detail: str


@dataclass
class Group:
    kind: str
    items: list[Found]
    more: bool  # more than the items were found

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class Findings:
    term: str
    groups: list[Group] = field(default_factory=list)
    problem: str = ""  # the conversation search could not read the term (says why)

    @property
    def count(self) -> int:
        return sum(len(g.items) for g in self.groups)


def find_items(session: Session, company_id: int, item_type: str, term: str, limit: int) -> list[Found]:
    """Records of the company (deal, lead, project, person, organization) whose title or name
    contains ``term`` (persons: or an address), at most ``limit``."""
    term = clean_term(term)
    if not term or not (item_type in MODELS or item_type == "organization"):
        return []
    like = f"%{escape_like(term.lower())}%"
    if item_type == "organization":
        rows = session.scalars(select(Organization).where(
            Organization.company_id == company_id, Organization.name.ilike(like, escape="\\"))
            .order_by(Organization.name, Organization.id).limit(limit)).all()
        return [Found("organization", o.id, o.name, "") for o in rows]
    if item_type == "person":
        by_email = select(PersonEmail.person_id).where(
            PersonEmail.company_id == company_id, PersonEmail.email.like(like, escape="\\"))
        rows = session.scalars(select(Person).where(Person.company_id == company_id, or_(
            Person.name.ilike(like, escape="\\"), Person.id.in_(by_email))).order_by(Person.name, Person.id)
            .limit(limit)).all()
        return [Found("person", p.id, p.name, ", ".join(e.email for e in p.emails)) for p in rows]
    model = MODELS[item_type]
    query = select(model).where(model.company_id == company_id, model.title.ilike(like, escape="\\"))
    if item_type == "deal":
        # Open deals first: those are the ones mail is usually about.
        query = query.order_by((Deal.status != "open"), Deal.title, Deal.id)
    else:
        query = query.order_by(model.title, model.id)
    rows = session.scalars(query.limit(limit)).all()
    names = _person_names(session, company_id, (r.person_id for r in rows))
    found = []
    for row in rows:
        bits = [getattr(row, "status", None), names.get(row.person_id)]
        found.append(Found(item_type, row.id, row.title, " · ".join(b for b in bits if b)))
    return found


def _person_names(session: Session, company_id: int, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(
        Person.company_id == company_id, Person.id.in_(ids))).all())


def find_conversations(session: Session, actor: Actor, term: str, limit: int) -> tuple[list[Found], bool]:
    """The conversations the inbox's search finds for ``term`` (best first; its last word also finds
    the words it begins, as the box suggests while the rep types) that the actor may see,
    and whether there are more. A term the search cannot read raises a DomainError (400)."""
    page = inbox_page(session, actor, term, False, 0, limit, prefix_last=True)  # found as you type
    if not page.ids:
        return [], False
    rows = {t.id: t for t in session.scalars(select(MailThread).where(MailThread.id.in_(page.ids)))}
    return ([Found("conversation", i, rows[i].subject or "(no subject)", rows[i].snippet or "")
             for i in page.ids if i in rows], page.more)


def find(session: Session, actor: Actor, term: str, limit: int = 5) -> Findings:
    """Up to ``limit`` matches of each kind, in KINDS' order; kinds without matches are left out."""
    term = clean_term(term)[:MAX_TERM]
    findings = Findings(term)
    if not term:
        return findings
    plain = term.replace('"', " ").strip()  # records by name: the search's quotes are not part of it
    for kind in KINDS:
        if kind == "conversation":
            try:
                items, more = find_conversations(session, actor, term, limit)
            except DomainError as problem:
                findings.problem = problem.message
                continue
        else:
            items = find_items(session, actor.company_id, kind, plain, limit + 1)
            items, more = items[:limit], len(items) > limit
        if items:
            findings.groups.append(Group(kind, items, more))
    return findings
