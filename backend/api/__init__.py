"""The REST API under /api/v1, one blueprint per resource."""
from __future__ import annotations

from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _register() -> None:
    from . import items, openapi, persons, users

    for module in (persons, items, users, openapi):
        api_bp.register_blueprint(module.bp)


_register()
