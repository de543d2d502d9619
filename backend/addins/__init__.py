"""Outlook add-in and Gmail add-on endpoints, and verification of their tokens."""
from __future__ import annotations


def init_app(app) -> None:
    """Registers the add-in blueprints (filled in by the add-in modules)."""
