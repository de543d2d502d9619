"""Mail the add-ins announced whose copy has not arrived: the rep's list, and its two actions
(fetch it through the connected mailbox, or dismiss it), as JSON for the task pane and as the
home page's forms. The rules are backend/domain/expectations.py; this module only adapts them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for

from ..api.common import db_session, ok, services
from ..api.openapi import document
from ..domain import expectations
from ..domain.errors import DomainError
from ..models import SentAnnouncement
from ..request_scope import actor
from .api import addin_auth
from .connections import now_utc
from .fetch import look_now
from .web import bp as web_bp

bp = Blueprint("not_logged_api", __name__, url_prefix="/api/v1")

document("/mailbox/notLogged", "get", "Mail you sent with the add-in whose copy has not been logged in time "
                                      "(SMARTBCC_NOT_LOGGED_AFTER_MINUTES), newest first")
document("/mailbox/notLogged/{ref}/fetch", "post", "Look for that mail in your connected mailbox now and log it",
         status=200, string_params=("ref",))
document("/mailbox/notLogged/{ref}/dismiss", "post", "Stop listing that mail as not logged", status=200,
         string_params=("ref",))

def listed() -> list[dict]:
    """The signed-in rep's mail not logged (what the home page and the API show)."""
    entries = expectations.not_logged(db_session(), actor(), now=now_utc(),
                                      wait_minutes=services().settings.not_logged_after_minutes)
    db_session().commit()  # what the read found settled
    return entries


def fetch_now(ref: str) -> dict:
    """One look in the rep's mailbox for the announced mail; what happened, in a sentence."""
    session = db_session()
    ann_id = expectations.fetchable(session, actor(), ref).id
    session.rollback()  # the look runs in sessions of its own
    status = look_now(services(), ann_id)
    session.expire_all()
    ann = session.get(SentAnnouncement, ann_id)
    logged = ann.logged_at is not None
    if logged:
        message = "Found in your mailbox and logged."
    elif status == "found":
        message = "Found in your mailbox; it is being logged and leaves this list when it is."
    elif status == "pending":
        message = " ".join(filter(None, ["Your mailbox asked Smart Bcc to wait; it looks again by itself.",
                                         ann.last_error]))
    else:
        message = ann.last_error or "It was not found in your mailbox."
    return {"ref": ann.ref, "fetch_status": status, "logged": logged, "message": message}


def dismiss(ref: str) -> dict:
    ann = expectations.dismiss(db_session(), actor(), ref, now_utc())
    db_session().commit()
    return {"ref": ann.ref, "dismissed": True,
            "message": "Dismissed: it is no longer listed. If its copy arrives later, it is still logged."}


@bp.get("/mailbox/notLogged")
@addin_auth
def list_not_logged():
    return ok(listed())


@bp.post("/mailbox/notLogged/<path:ref>/fetch")
@addin_auth
def fetch_not_logged(ref: str):
    return ok(fetch_now(ref))


@bp.post("/mailbox/notLogged/<path:ref>/dismiss")
@addin_auth
def dismiss_not_logged(ref: str):
    return ok(dismiss(ref))


# The home page's buttons (the settings pages' blueprint: signed in, CSRF checked).

@web_bp.post("/not-logged/<path:ref>/fetch")
def fetch_page(ref: str):
    try:
        result = fetch_now(ref)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(result["message"], "ok" if result["logged"] or result["fetch_status"] in ("found", "pending")
              else "error")
    return redirect(url_for("web.home") + "#not-logged")


@web_bp.post("/not-logged/<path:ref>/dismiss")
def dismiss_page(ref: str):
    try:
        flash(dismiss(ref)["message"], "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("web.home") + "#not-logged")
