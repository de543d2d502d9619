"""Small query helpers the rules share."""
from __future__ import annotations

from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, bindparam
from sqlalchemy.orm import Session


def in_ids(session: Session, column, ids) -> ColumnElement:
    """``column IN ids``. On PostgreSQL as ``= ANY(array)``: one parameter, so the statement's text
    is the same for every list (the driver converts and caches it once) however long the list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return column.in_(list(ids))


def in_param(column, name: str, dialect: str, item_type=BigInteger) -> ColumnElement:
    """``column IN :name``, the list a parameter given when the statement runs (as ``in_ids`` writes
    it: ``= ANY(:name)`` on PostgreSQL, an expanding IN elsewhere), so the statement can be built once."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


_BUILT: dict[tuple, object] = {}


def built_once(session: Session, key, build):
    """``build(dialect)``, built once per ``key`` and database dialect: building a statement (and its
    cache key) on every call cost more than running it (bench/mailbox.py)."""
    dialect = session.get_bind().dialect.name
    found = _BUILT.get((key, dialect))
    if found is None:
        found = _BUILT[(key, dialect)] = build(dialect)
    return found
