"""Statements the API runs on every page, built once per database dialect with their values as
parameters: building a statement (and its cache key) each request cost more than running it
(bench/mailbox.py)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g
from sqlalchemy import Integer, Select, cast, literal, null, select, union_all

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


@dataclass(frozen=True)
class Children:
    """One kind of child rows for ``children_of``: ``columns`` of the rows whose ``key`` is one of the
    parents, in id order; ``where`` compares with bindparam("company_id") when ``company``."""

    name: str
    columns: tuple
    key: object
    where: tuple = ()
    company: bool = False


def children_of(parent_ids: list[int], kinds: tuple[Children, ...]) -> list[dict[int, list[tuple]]]:
    """For each of ``kinds``, its rows grouped by parent (as ``rows_by`` gives them, rows as tuples of
    its ``columns``), all kinds read by one statement (UNION ALL) per IN_CHUNK parents: a page of
    messages asks once for its participants, attachments and arrivals instead of three times (each
    round trip cost ~1 ms on a 2-core machine, bench/README.md). Each kind has its own slots in the
    wide row, the others' NULL (typed as the column, which PostgreSQL's UNION needs)."""
    found: list[dict[int, list[tuple]]] = [{i: [] for i in parent_ids} for _ in kinds]
    spans, start = [], 3
    for kind in kinds:
        spans.append((start, start + len(kind.columns)))
        start += len(kind.columns)
    every = [c for kind in kinds for c in kind.columns]

    def build(dialect):
        parts = []
        for n, kind in enumerate(kinds):
            lo, hi = spans[n]
            slots = [c if lo <= 3 + i < hi else cast(null(), c.type) for i, c in enumerate(every)]
            ident = kind.key.table.c.id
            parts.append(select(literal(n, Integer).label("kind"), kind.key.label("parent"), ident.label("sort_id"),
                                *[slot.label(f"c{i}") for i, slot in enumerate(slots)])
                         .where(ids_in(kind.key, dialect), *kind.where))
        return union_all(*parts).order_by("kind", "sort_id")

    query = prepared("children " + ",".join(kind.name for kind in kinds), build)
    params = {"company_id": g.company_id} if any(kind.company for kind in kinds) else {}
    for ids in _chunks(list(found[0])):
        for row in db_session().execute(query, {**params, "ids": ids}):
            lo, hi = spans[row[0]]
            found[row[0]][row[1]].append(tuple(row[lo:hi]))
    return found
