"""Puts the pages on an app: every view module, the blueprint's hooks, the filters and error pages."""
from __future__ import annotations

# The views attach to the blueprint as they are imported.
from . import (account, appapi, auth, errors, headers, home, inbox, items, operator_mail, search,  # noqa: F401
               settings, thread_actions, users)
from .blueprint import bp
from .csrf import check_csrf, csrf_token
from .format import register_filters

# Hooks attach once, at import: a blueprint cannot change after its first registration.
bp.before_request(auth.load_user)  # first: the CSRF failure page shows who is signed in
bp.before_request(check_csrf)


def init_app(app) -> None:
    app.register_blueprint(bp)
    register_filters(app)
    errors.register(app)
    headers.register(app)

    @app.context_processor
    def _web_globals():
        # Only what the page templates need; the API renders no templates.
        return {"csrf_token": csrf_token, "current_user": auth.session_user}
