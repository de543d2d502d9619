"""Queries the pages share: finding items by name, names of persons and users."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import or_, select

from ..domain.inbox import escape_like
from ..domain.items import MODELS
from ..models import Deal, Person, PersonEmail, User
from ..request_scope import db_session

SEARCH_LIMIT = 10


@dataclass
class Found:
    item_type: str
    id: int
    title: str
    detail: str


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


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db_session().execute(select(User.id, User.name).where(
        User.company_id == g.company_id, User.id.in_(ids))).all())
