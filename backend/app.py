"""The Flask application factory: services, blueprints and error handlers."""
from __future__ import annotations

import logging

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, Settings
from .services import Services


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """The web app; without settings or services, from SMARTBCC_* (a bad value raises ConfigError)."""
    if services is None:
        services = Services.create(settings or Settings.from_env())
    settings = services.settings
    app = Flask(__name__, instance_path=str(settings.instance_dir),
                static_folder=str(PROJECT_ROOT / "static"), static_url_path="/static",
                template_folder="templates")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_message_bytes + 1024 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
    )
    app.extensions["smartbcc"] = services
    if settings.trusted_proxies:
        # Each trusted proxy appends the address it received from (and the scheme); entries further
        # left were written by the client and prove nothing. request.remote_addr is then the client.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from .api import api_bp
    from .api.errors import register_error_handlers

    from . import addins, providers
    from .web.register import init_app as init_web

    app.register_blueprint(api_bp)
    register_error_handlers(app)
    init_web(app)
    addins.init_app(app)
    providers.init_app(app)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    logging.getLogger("backend").setLevel(logging.INFO)
    return app


def services_of(app: Flask) -> Services:
    return app.extensions["smartbcc"]
