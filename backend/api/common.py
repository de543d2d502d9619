"""Helpers every API blueprint uses: the session, scoping, envelopes and paging."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app, g, jsonify, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .errors import ApiError, not_found

T = TypeVar("T")
MAX_LIMIT = 500


def services():
    return current_app.extensions["smartbcc"]


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = services().db.sessionmaker()
    return g.db_session


def ok(data: Any, status: int = 200, additional: dict | None = None):
    body: dict[str, Any] = {"success": True, "data": data}
    if additional:
        body["additional_data"] = additional
    response = jsonify(body)
    response.status_code = status
    return response


def scoped(model) -> Select:
    """A SELECT of ``model`` limited to the caller's company."""
    return select(model).where(model.company_id == g.company_id)


def get_or_404(model: type[T], item_id: int, what: str | None = None) -> T:
    # Another company's id looks exactly like a missing one.
    obj = db_session().scalar(scoped(model).where(model.id == item_id))
    if obj is None:
        raise not_found(what or model.__name__.lower())
    return obj


def paging() -> tuple[int, int]:
    """Pipedrive-style ``start`` and ``limit`` query parameters."""
    errors = {}
    values = {}
    for name, default in (("start", 0), ("limit", 100)):
        raw = request.args.get(name, str(default))
        try:
            values[name] = int(raw)
            if values[name] < 0:
                raise ValueError
        except ValueError:
            errors[name] = [f"Must be a whole number of 0 or more, got {raw!r}."]
    if not errors and not 1 <= values["limit"] <= MAX_LIMIT:
        errors["limit"] = [f"Must be between 1 and {MAX_LIMIT}."]
    if errors:
        raise ApiError(400, "Invalid paging parameters.", errors)
    return values["start"], values["limit"]


def paginated(query: Select, schema, *, count: bool = False):
    """Runs ``query`` for one page and answers with the pagination block."""
    start, limit = paging()
    session = db_session()
    rows = list(session.scalars(query.offset(start).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    if count:
        pagination["total"] = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return ok(schema.dump(rows, many=True), additional={"pagination": pagination})


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object as the request body, with Content-Type: application/json.")
    return data
