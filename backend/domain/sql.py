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
