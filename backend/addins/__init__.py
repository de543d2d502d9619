"""Outlook add-in and Gmail add-on endpoints, and verification of their tokens."""
from __future__ import annotations


def init_app(app) -> None:
    """Registers the add-in API (/api/v1/addin), its scripts and the Gmail add-on card endpoints."""
    from . import gmail, outlook

    app.register_blueprint(outlook.api)
    app.register_blueprint(outlook.assets)
    app.register_blueprint(gmail.bp)
