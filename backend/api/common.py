"""Helpers every API blueprint uses: the session, scoping, envelopes and paging."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import g, jsonify, request
from sqlalchemy import ColumnElement, Select, select

from ..domain import items, sql
from ..domain.items import MAX_ID
from ..request_scope import actor, db_session, services  # noqa: F401  (the API's names for them)
from .errors import ApiError

T = TypeVar("T")
MAX_LIMIT = 500
MAX_START = 2**62


def _whole_number(raw: str) -> int | None:
    """``raw`` as an int if it is plain ASCII digits (int() would also take " 5", "+5", "1_0")."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 30:
        return int(raw)
    return None


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
    return items.item_for(db_session(), g.company_id, model, item_id, what)


def paging() -> tuple[int, int]:
    """Pipedrive-style ``start`` and ``limit`` query parameters."""
    errors = {}
    values = {}
    for name, default in (("start", 0), ("limit", 100)):
        raw = request.args.get(name, str(default))
        value = _whole_number(raw)
        if value is None:
            errors[name] = [f"Must be a whole number of 0 or more, got {raw[:40]!r}."]
        else:
            values[name] = value
    if "start" in values and values["start"] > MAX_START:
        errors["start"] = [f"Must be at most {MAX_START}."]
    if "limit" in values and not 1 <= values["limit"] <= MAX_LIMIT:
        errors["limit"] = [f"Must be between 1 and {MAX_LIMIT}."]
    if errors:
        raise ApiError(400, "Invalid paging parameters.", errors)
    return values["start"], values["limit"]


def in_ids(column, ids: list[int]) -> ColumnElement:
    """``column IN ids`` for the request's session (see domain.sql.in_ids)."""
    return sql.in_ids(db_session(), column, ids)


def pagination(start: int, limit: int, more: bool, total: int | None = None) -> dict:
    """The Pipedrive-style ``additional_data.pagination`` block of a list answer."""
    block = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        block["next_start"] = start + limit
    if total is not None:
        block["total"] = total
    return block


def paginated(query: Select, schema, *, as_rows: bool = False):
    """Runs ``query`` for one page and answers with the pagination block. ``as_rows``: the query
    selects columns, and the page is a list of rows rather than of objects."""
    start, limit = paging()
    session = db_session()
    page = query.offset(start).limit(limit + 1)
    rows = session.execute(page).all() if as_rows else list(session.scalars(page))
    return ok(schema.dump(rows[:limit], many=True),
              additional={"pagination": pagination(start, limit, len(rows) > limit)})


def id_arg(name: str) -> int | None:
    """An optional id in the query string; anything but a valid id is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    value = _whole_number(raw)
    if value is None or not 1 <= value <= MAX_ID:
        raise ApiError(400, "Invalid filter.", {name: ["Must be a whole number."]})
    return value


def text_arg(name: str) -> str | None:
    """An optional text query parameter, stripped; NUL characters are a 400 (PostgreSQL refuses them)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if "\x00" in raw:
        raise ApiError(400, "Invalid filter.", {name: ["Must not contain NUL characters."]})
    return raw.strip()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object as the request body, with Content-Type: application/json.",
                       {"_schema": ["The body is not a JSON object."]})
    # PostgreSQL cannot store NUL in text; refuse it here rather than fail in the database.
    bad = {str(key)[:64]: ["Must not contain NUL characters."] for key, value in data.items()
           if _has_nul(key) or _has_nul(value)}
    if bad:
        raise ApiError(400, "The request has invalid fields; see errors.", bad)
    return data
