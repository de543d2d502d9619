"""What every HTTP adapter (API, pages, add-ins, provider pages, inbound webhook) takes from the
request: the services, the request's database session and the acting user. The rules themselves
(backend/domain/) never read these: the adapters pass them in."""
from __future__ import annotations

import io

from flask import current_app, g, send_file
from sqlalchemy.orm import Session

from . import addresses
from .domain.actor import Actor
from .domain.errors import not_found


def services():
    return current_app.extensions["smartbcc"]


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = services().db.sessionmaker()
    return g.db_session


def actor() -> Actor:
    """The signed-in user (set by the API's, the pages' or the add-ins' authentication)."""
    if "actor" not in g or g.actor.user_id != g.user.id:
        g.actor = Actor.of(g.user)
    return g.actor


# Served as downloads only; types a browser would run or render from our origin are
# sent as opaque bytes so a hostile attachment cannot script the app.
_INERT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv",
                "application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/msword",
                "application/vnd.ms-excel")


# Of those, the ones a page may show in the browser (inline) when asked: never HTML or SVG.
PREVIEW_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif")


def attachment_response(message, attachment_id: int, inline: bool = False):
    """The bytes of one attachment of a visible message, as a download; ``inline`` shows an image
    or PDF in the browser instead (other types stay downloads)."""
    attachment = next((a for a in message.attachments if a.id == attachment_id), None)
    blobs = services().blobs
    if attachment is None or not blobs.exists(attachment.sha256):
        raise not_found("attachment")
    content_type = attachment.content_type.lower() if attachment.content_type.lower() in _INERT_TYPES \
        else "application/octet-stream"
    response = send_file(io.BytesIO(blobs.get(attachment.sha256)), mimetype=content_type,
                         as_attachment=not (inline and content_type in PREVIEW_TYPES),
                         download_name=attachment.filename or f"attachment-{attachment.id}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def item_bcc_address(company, kind: str, token: str | None) -> str:
    """The own Smart Bcc address of a deal or lead ("" before it has a token)."""
    return addresses.item_address(company.slug, kind, token, services().settings.mail_domain) if token else ""
