"""Queries the pages share: finding items by name, names of persons and users."""
from __future__ import annotations

from flask import g
from sqlalchemy import bindparam, select

from ..domain.finder import Found, find_items
from ..domain.inbox import escape_like  # noqa: F401  (the list pages' LIKE searches import it from here)
from ..domain.items import MODELS
from ..domain.sql import built_once, in_param
from ..models import Person, User
from ..request_scope import db_session

SEARCH_LIMIT = 10


def person_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db_session().execute(select(Person.id, Person.name).where(
        Person.company_id == g.company_id, Person.id.in_(ids))).all())


def search_items(item_type: str, term: str, limit: int = SEARCH_LIMIT) -> list[Found]:
    """Items of the user's company whose title (persons: name or address) contains ``term``
    (the rule: backend/domain/finder.py)."""
    if item_type not in MODELS:
        return []
    return find_items(db_session(), g.company_id, item_type, term, limit)


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    session = db_session()
    query = built_once(session, "user_names", lambda dialect: select(User.id, User.name).where(
        User.company_id == bindparam("company_id"), in_param(User.id, "ids", dialect)))
    return dict(session.execute(query, {"company_id": g.company_id, "ids": sorted(ids)}).all())
