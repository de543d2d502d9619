"""Microsoft Graph and Gmail: OAuth connections, fetching sent copies, sync."""
from __future__ import annotations


def init_app(app) -> None:
    """Registers the provider blueprints (filled in by the provider modules)."""
