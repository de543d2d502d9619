"""Server-rendered pages: sign-in, settings, inbox, thread, deal/lead/project/person views."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)


def init_app(app) -> None:
    from . import auth, errors, headers
    from .csrf import csrf_token
    from .format import register_filters

    app.register_blueprint(bp)
    register_filters(app)
    errors.register(app)
    headers.register(app)

    @app.context_processor
    def _web_globals():
        # Only what the page templates need; the API renders no templates.
        return {"csrf_token": csrf_token, "current_user": auth.session_user}


def _setup_blueprint() -> None:
    # Hooks and views attach once at import: a blueprint cannot change after its first registration.
    from . import appapi, auth, inbox, items, settings, thread_actions  # noqa: F401
    from .csrf import check_csrf

    bp.before_request(auth.load_user)  # first: the CSRF failure page shows who is signed in
    bp.before_request(check_csrf)


_setup_blueprint()
