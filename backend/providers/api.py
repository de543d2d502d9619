"""JSON API: the user's mailbox connections, and the add-in's "I just sent this" announcement."""
from __future__ import annotations

import re
from functools import wraps

from flask import Blueprint, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..addins import cors
from ..addins.auth import addin_login_required
from ..api.auth import login_required
from ..api.common import db_session, json_body, ok, services
from ..api.errors import ApiError, not_found
from ..api.openapi import document
from ..domain import expectations
from ..intake.checks import route_address
from ..models import SentAnnouncement
from . import obo
from .announcements import announcement_json
from .connections import LABELS, connection_json, disconnect, user_connections

bp = Blueprint("providers_api", __name__, url_prefix="/api/v1")

document("/connections", "get", "Your mailbox connections (Outlook, Gmail) and their state")
document("/addin/sent", "post", "Announce a message the add-in just sent, so its sent copy is fetched")
document("/addin/sent", "get", "Your recent announcements and whether the sent copy was found")
document("/connections/{provider}", "delete", "Disconnect a mailbox (outlook or gmail)", status=200,
         string_params=("provider",))
document("/addin/sent/{id}", "get", "One announcement and whether the sent copy was found")

_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def addin_auth(view):
    """Authentication of the add-in endpoints, kept in this one decorator.

    The Outlook add-in's Microsoft token or a Smart Bcc API token, verified by
    backend.addins.auth (same ``g.user``, same rate limits). Only for a verified
    Microsoft token, ``g.ms_assertion`` holds the raw token (for On-Behalf-Of).
    """
    @wraps(view)
    @addin_login_required
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)
    return wrapper


@bp.after_request
def _addin_cors(response):
    # Outlook on the web calls the add-in endpoints cross-origin, like /addin/resolve.
    if request.path.startswith("/api/v1/addin/"):
        cors.apply(response, services().settings.base_url)
    return response


@bp.get("/connections")
@login_required
def list_connections():
    rows = user_connections(db_session(), g.user.id)
    return ok([connection_json(services().settings, p, rows.get(p)) for p in LABELS])


@bp.delete("/connections/<provider>")
@login_required
def delete_connection(provider: str):
    if provider not in LABELS or not disconnect(services(), g.user.id, provider):
        raise not_found("connection")
    return ok({"provider": provider, "connected": False})


def _text(body: dict, name: str, limit: int, errors: dict, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors[name] = ["Missing data for required field."]
        return None
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return None
    value = value.strip()
    if not value or len(value) > limit or not _PRINTABLE.match(value):
        errors[name] = [f"Must be 1 to {limit} printable characters without spaces."]
        return None
    return value


MAX_RECIPIENTS = 100


def _subject(body: dict, errors: dict) -> str | None:
    value = body.get("subject")
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value:
        errors["subject"] = ["Must be a string."]
        return None
    return value.strip()[:998] or None


def _recipients(body: dict, errors: dict) -> list[str]:
    """The mail's To and Cc, as the add-in read them (shown when its copy does not arrive)."""
    value = body.get("recipients")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v.strip()) <= 320
                                              and "\x00" not in v for v in value):
        errors["recipients"] = ["Must be a list of email addresses (each at most 320 characters)."]
        return []
    return [v.strip() for v in value][:MAX_RECIPIENTS]


@bp.post("/addin/sent")
@addin_auth
def announce_sent():
    body = json_body()
    errors: dict = {}
    ref = _text(body, "ref", 200, errors)
    address = _text(body, "address", 320, errors)
    message_id = _text(body, "internet_message_id", 998, errors, required=False)
    subject, recipients = _subject(body, errors), _recipients(body, errors)
    provider = body.get("provider")
    if provider is not None and provider not in LABELS:
        errors["provider"] = [f"Must be one of: {', '.join(LABELS)}."]
    if address and "address" not in errors:
        route = route_address(db_session(), address, services().settings)
        if route is None or route.company_id != g.user.company_id:
            errors["address"] = ["Not a Smart Bcc address of your company; use the address the add-in inserted."]
    if errors:
        raise ApiError(400, "The request has invalid fields; see errors.", errors)
    session = db_session()
    existing = session.scalar(select(SentAnnouncement).where(
        SentAnnouncement.user_id == g.user.id, SentAnnouncement.ref == ref))
    if existing is not None:  # the add-in retried: the first announcement stands
        return ok(announcement_json(existing))
    ann = SentAnnouncement(company_id=g.user.company_id, user_id=g.user.id, ref=ref, address=address,
                           internet_message_id=message_id, provider=provider, status="pending",
                           subject=subject, recipients=recipients)
    session.add(ann)
    expectations.settle_if_stored(session, ann)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(select(SentAnnouncement).where(
            SentAnnouncement.user_id == g.user.id, SentAnnouncement.ref == ref))
        return ok(announcement_json(existing))
    ann_id = ann.id
    if g.get("ms_assertion") and obo.wanted(services(), g.user.id, provider):
        # No working Outlook connection: the add-in's own token gets the access (On-Behalf-Of).
        obo.exchange_for_announcement(services(), ann_id, assertion=g.ms_assertion, claims=g.ms_claims,
                                      address=g.ms_address)
    services().jobs.enqueue("providers.fetch_sent", ann_id)
    session.expire_all()
    return ok(announcement_json(session.get(SentAnnouncement, ann_id)), status=201)


@bp.get("/addin/sent")
@addin_auth
def list_announcements():
    rows = db_session().scalars(select(SentAnnouncement).where(SentAnnouncement.user_id == g.user.id)
                                .order_by(SentAnnouncement.id.desc()).limit(50))
    return ok([announcement_json(a) for a in rows])


@bp.get("/addin/sent/<int:announcement_id>")
@addin_auth
def get_announcement(announcement_id: int):
    ann = db_session().get(SentAnnouncement, announcement_id)
    if ann is None or ann.user_id != g.user.id:
        raise not_found("announcement")
    return ok(announcement_json(ann))
