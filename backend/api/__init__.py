"""The REST API under /api/v1, one blueprint per resource."""
from __future__ import annotations

from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _register() -> None:
    from ..intake import http as inbound_http
    from . import items, mailbox, openapi, persons, settings, users

    for module in (persons, items, users, mailbox, settings, inbound_http, openapi):
        api_bp.register_blueprint(module.bp)


_register()
