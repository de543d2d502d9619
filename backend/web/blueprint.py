"""The pages' blueprint, on its own: the view modules attach to it, backend.web.register puts it on the app."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
