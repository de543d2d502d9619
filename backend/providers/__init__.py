"""Microsoft Graph and Gmail: OAuth connections, fetching sent copies and replies, periodic sync."""
from __future__ import annotations


def init_app(app) -> None:
    """Registers the settings pages and the JSON API of the mailbox connections and of mail not logged."""
    from .api import bp as api_bp
    from .not_logged import bp as not_logged_bp  # also adds the home page's buttons to web_bp
    from .web import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(not_logged_bp)
