"""Small session-authenticated JSON endpoints for the pages' JavaScript (type-ahead, link, share)."""
from __future__ import annotations

from flask import flash, request

from ..api.common import json_body, ok
from ..domain import manual
from ..domain.errors import DomainError as ApiError
from ..domain.items import MAX_ID
from ..domain.visibility import thread_for
from ..request_scope import actor, db_session
from .blueprint import bp
from .auth import signin_required
from .format import ITEM_LABELS, item_url
from .lookup import search_items
from .search import suggestions
from .thread_actions import link_thread, share_thread


@bp.get("/app-api/search")
@signin_required
def app_search():
    item_type = request.args.get("type", "deal")
    if item_type not in ITEM_LABELS:
        raise ApiError(400, "Search deals, leads, projects or persons.", {"type": ["Unknown item type."]})
    term = (request.args.get("term") or "")[:200]
    found = search_items(item_type, term) if len(term.strip()) >= 1 else []
    return ok([{"item_type": f.item_type, "id": f.id, "title": f.title, "detail": f.detail,
                "url": item_url(f.item_type, f.id)} for f in found])


@bp.get("/app-api/find")
@signin_required
def app_find():
    """The header search box's suggestions, grouped by kind (backend/web/search.py)."""
    return ok(suggestions(request.args.get("q") or ""))


@bp.post("/app-api/threads/<int:thread_id>/links")
@signin_required
def app_link(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    data = json_body()
    item_type, item_id = data.get("item_type"), data.get("item_id")
    if item_type not in ITEM_LABELS or type(item_id) is not int or not 0 < item_id <= MAX_ID:
        raise ApiError(400, "Send item_type (deal, lead, project, person) and a numeric item_id.")
    try:
        message = link_thread(thread, item_type, item_id)
    except ApiError:
        db_session().rollback()
        raise
    # Shown on the page the script reloads next.
    flash(message, "ok")
    return ok({"message": message}, 201)


@bp.patch("/app-api/threads/<int:thread_id>")
@signin_required
def app_share(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    shared = json_body().get("shared")
    if not isinstance(shared, bool):
        raise ApiError(400, "Send {\"shared\": true} or {\"shared\": false}.")
    message = share_thread(thread, shared)
    return ok({"shared": thread.shared, "message": message})


@bp.delete("/app-api/threads/<int:thread_id>/links/<item_type>/<int:item_id>")
@signin_required
def app_unlink(thread_id: int, item_type: str, item_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    manual.unlink(actor(), thread, manual.live_link(thread, item_type, item_id))
    db_session().commit()
    return ok({"removed": True})
