"""Queries the pages share: finding items by name, a thread's persons and its candidate deals."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import or_, select

from ..api.common import db_session
from ..api.linking import MODELS
from ..models import Deal, MailMessage, MailThread, Participant, Person, PersonEmail, User

SEARCH_LIMIT = 10


@dataclass
class Found:
    item_type: str
    id: int
    title: str
    detail: str


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def person_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db_session().execute(select(Person.id, Person.name).where(
        Person.company_id == g.company_id, Person.id.in_(ids))).all())


def search_items(item_type: str, term: str, limit: int = SEARCH_LIMIT) -> list[Found]:
    """Items of the user's company whose title (persons: name or address) contains ``term``."""
    term = (term or "").strip().replace("\x00", "")
    if item_type not in MODELS or not term:
        return []
    like = f"%{escape_like(term.lower())}%"
    model = MODELS[item_type]
    if item_type == "person":
        by_email = select(PersonEmail.person_id).where(
            PersonEmail.company_id == g.company_id, PersonEmail.email.like(like, escape="\\"))
        query = select(Person).where(Person.company_id == g.company_id, or_(
            Person.name.ilike(like, escape="\\"), Person.id.in_(by_email))).order_by(Person.name)
        rows = db_session().scalars(query.limit(limit)).all()
        return [Found("person", p.id, p.name, ", ".join(e.email for e in p.emails)) for p in rows]
    query = select(model).where(model.company_id == g.company_id, model.title.ilike(like, escape="\\"))
    if item_type == "deal":
        # Open deals first: those are the ones mail is usually about.
        query = query.order_by((Deal.status != "open"), Deal.title)
    else:
        query = query.order_by(model.title)
    rows = db_session().scalars(query.limit(limit)).all()
    names = person_names(r.person_id for r in rows)
    found = []
    for row in rows:
        bits = [getattr(row, "status", None), names.get(row.person_id)]
        found.append(Found(item_type, row.id, row.title, " · ".join(b for b in bits if b)))
    return found


def thread_person_ids(thread: MailThread) -> set[int]:
    """The contacts of a thread: its person links and the persons of its messages' participants."""
    linked = {lk.item_id for lk in thread.links if lk.item_type == "person" and not lk.removed}
    from_mail = set(db_session().scalars(
        select(Participant.person_id).join(MailMessage, MailMessage.id == Participant.message_id)
        .where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None),
               Participant.person_id.is_not(None))))
    return linked | from_mail


def candidate_deals(thread: MailThread) -> list[Found]:
    """The open deals of the thread's persons: what the rep picks from when several matched."""
    persons = thread_person_ids(thread)
    if not persons:
        return []
    deals = db_session().scalars(select(Deal).where(
        Deal.company_id == g.company_id, Deal.status == "open", Deal.person_id.in_(persons))
        .order_by(Deal.person_id, Deal.title)).all()
    names = person_names(d.person_id for d in deals)
    return [Found("deal", d.id, d.title, names.get(d.person_id, "")) for d in deals]


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db_session().execute(select(User.id, User.name).where(
        User.company_id == g.company_id, User.id.in_(ids))).all())
