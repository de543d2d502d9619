"""Statements the API runs on every page, built once per database dialect with their values as
parameters: building a statement (and its cache key) each request cost more than running it
(bench/mailbox.py)."""
from __future__ import annotations

from flask import g
from sqlalchemy import Select, select

from ..domain.sql import built_once, in_param
from .common import db_session


def ids_in(column, dialect: str):
    """``column IN :ids`` (domain.sql.in_param)."""
    return in_param(column, "ids", dialect)


def prepared(name: str, build) -> Select:
    """The statement ``build(dialect)``, built once per dialect (domain.sql.built_once)."""
    return built_once(db_session(), ("api", name), build)


IN_CHUNK = 500  # ids per list; a thread's messages are not paged


def _chunks(ids: list[int]):
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start:start + IN_CHUNK]


def rows_by(parent_ids: list[int], columns: tuple, key, name: str, *where, company: bool = False) -> dict[int, list]:
    """Rows of ``columns`` grouped by ``key`` (one of ``parent_ids``), in id order; one query per
    IN_CHUNK parents. ``name`` names the statement (built once); ``company``: ``where`` compares
    with bindparam("company_id"), the caller's company."""
    found: dict[int, list] = {i: [] for i in parent_ids}
    ident = key.table.c.id
    at = [c.key for c in columns].index(key.key)
    query = prepared(name, lambda dialect: select(*columns).where(ids_in(key, dialect), *where).order_by(ident))
    params = {"company_id": g.company_id} if company else {}
    for ids in _chunks(list(found)):
        for row in db_session().execute(query, {**params, "ids": ids}):
            found[row[at]].append(row)
    return found
