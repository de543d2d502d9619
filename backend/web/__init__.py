"""Server-rendered pages: sign-in, settings, inbox, thread, deal/lead/person views."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)


def init_app(app) -> None:
    app.register_blueprint(bp)
