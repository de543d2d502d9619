"""POST /api/v1/inbound/mime: raw RFC 5322 bytes from an inbound-parse webhook or a relay."""
from __future__ import annotations

import logging

from flask import Blueprint, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..api.common import db_session, ok, services
from ..api.errors import ApiError
from ..api.openapi import document
from ..models import Company
from ..security import hash_token
from .accept import accept_message
from .checks import Rejection, route_address, too_large, unknown_address

log = logging.getLogger(__name__)
bp = Blueprint("inbound", __name__)
document("/inbound/mime", "post", "Deliver one raw message (message/rfc822) to Smart Bcc addresses")

RAW_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")


def _company_from_secret() -> Company:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip() or request.headers.get("X-SmartBcc-Inbound-Secret", "").strip()
    if scheme.lower() != "bearer" and not request.headers.get("X-SmartBcc-Inbound-Secret"):
        secret = ""
    company = None
    if secret:
        company = db_session().scalar(select(Company).where(Company.inbound_secret_hash == hash_token(secret)))
    if company is None:
        raise ApiError(401, "Missing or invalid inbound secret. Send 'Authorization: Bearer <inbound_secret>'; "
                            "`smartbcc company inbound-secret --company-id ID` issues one.")
    return company


def _raw_and_recipients() -> tuple[bytes, list[str], str | None]:
    try:
        return _read_request()
    except RequestEntityTooLarge:
        # Past MAX_CONTENT_LENGTH: the same words as the acceptance check and SMTP's 552 5.3.4.
        rejection = too_large(services().settings.max_message_bytes)
        raise ApiError(rejection.http_status, rejection.message, {"mime": [rejection.message]}) from None


def _read_request() -> tuple[bytes, list[str], str | None]:
    recipients = [r for r in request.args.getlist("recipient") if r.strip()]
    sender = request.args.get("sender")
    if request.mimetype == "multipart/form-data":
        recipients += [r for r in request.form.getlist("recipient") if r.strip()]
        sender = sender or request.form.get("sender")
        upload = request.files.get("mime")
        raw = upload.read() if upload else request.form.get("mime", "").encode("utf-8", "surrogateescape")
    elif request.mimetype in RAW_TYPES:
        raw = request.get_data(cache=False)
    else:
        raise ApiError(415, "Send the raw message with Content-Type: message/rfc822, or as the form field "
                            "'mime' of a multipart/form-data request.")
    errors = {}
    if not raw.strip():
        errors["mime"] = ["The message is empty."]
    if not recipients:
        errors["recipient"] = ["Name the Smart Bcc address the message was sent to (?recipient=...)."]
    if errors:
        raise ApiError(400, "The request is missing the message or its recipient.", errors)
    return raw, recipients, sender


@bp.post("/inbound/mime")
def inbound_mime():
    company = _company_from_secret()
    from ..ratelimit import Limit

    settings = services().settings
    verdict = services().limiter.hit(f"smtp:company:{company.id}", Limit.parse(settings.smtp_limit_per_company))
    if not verdict.allowed:
        raise ApiError(429, f"Too many messages to Smart Bcc right now; retry in {verdict.retry_after} seconds.",
                       headers={"Retry-After": str(verdict.retry_after)})
    raw, recipients, sender = _raw_and_recipients()
    svc = services()
    routes = []
    for address in recipients:
        route = route_address(db_session(), address, svc.settings)
        # Another company's address is as unknown to this secret as a made-up one.
        if route is None or route.company_id != company.id:
            rejection = unknown_address(address)
            raise ApiError(rejection.http_status, rejection.message, {"recipient": [rejection.message]})
        routes.append(route)
    db_session().close()
    try:
        ids = accept_message(svc, raw, source="http", envelope_from=sender, routes=routes)
    except Rejection as rejection:
        raise ApiError(rejection.http_status, rejection.message) from rejection
    except Exception:
        # Our fault (storage, database): nothing was stored, and the caller should retry.
        log.exception("accepting an inbound message failed")
        raise ApiError(503, "Smart Bcc could not store the message right now; nothing was stored. "
                            "Retry in a minute.", headers={"Retry-After": "30"}) from None
    return ok({"inbound_ids": ids, "status": "accepted"}, 201)
