"""Plain-words HTML error pages for the web pages; /api/ and /app-api/ keep their JSON shape."""
from __future__ import annotations

import logging

from flask import g, render_template, request
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..api.errors import ApiError, error_response
from .csrf import CsrfError

log = logging.getLogger(__name__)

TITLES = {400: "Something in the request was wrong", 401: "Please sign in", 403: "Not allowed",
          404: "Not found", 405: "Not possible here", 409: "Already done", 410: "No longer valid",
          413: "Too large", 500: "Something went wrong", 503: "Unavailable right now"}
MESSAGES = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    403: "You are not allowed to do this. If you think you should be, ask your company admin.",
    404: "This page does not exist, or you do not have access to it. Check the address, or start "
         "again from the inbox.",
    405: "This address cannot be used that way. Go back and use the buttons on the page.",
    413: "That is larger than Smart Bcc accepts (20 MB, attachments included).",
    500: "Something went wrong on our side; it has been logged. Try again in a moment.",
    503: "The database is unavailable right now; try again in a minute.",
}
CSRF_MESSAGE = ("This form has expired or did not come from this site, so nothing was changed. "
                "Go back, reload the page and try again.")


def _json_path() -> bool:
    return request.path.startswith(("/api/", "/app-api/"))


def render_error(status: int, message: str | None = None):
    """The error page; falls back to bare HTML if the template itself cannot render."""
    g.web_error_page = True
    title = TITLES.get(status, "Something went wrong")
    message = message or MESSAGES.get(status) or MESSAGES[500]
    try:
        return render_template("web/error.html", status=status, title=title, message=message), status
    except Exception:  # the page for a broken database or template must still be a page
        log.exception("error page could not be rendered")
        html = (f"<!doctype html><meta charset='utf-8'><title>{escape(title)}</title>"
                f"<h1>{escape(title)}</h1><p>{escape(message)}</p><p><a href='/'>Start page</a></p>")
        return html, status, {"Content-Type": "text/html; charset=utf-8"}


def register(app) -> None:
    """Wraps the API's handlers: JSON for /api/ and JSON callers, pages for everyone else."""
    handlers = app.error_handler_spec[None][None]
    api_http = handlers.get(HTTPException)
    api_error = handlers.get(ApiError)
    api_unexpected = handlers.get(Exception)
    api_db_down = handlers.get(OperationalError)

    def wants_json() -> bool:
        return _json_path() or request.accept_mimetypes.best == "application/json"

    @app.errorhandler(CsrfError)
    def _csrf(_exc):
        if _json_path():
            return error_response(400, CSRF_MESSAGE)
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        # The API's lookups (thread_or_404, add_link) raise ApiError inside pages too.
        if request.blueprint == "web" and not _json_path():
            return render_error(exc.status, exc.message)
        return api_error(exc) if api_error else error_response(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if request.path.startswith("/app-api/"):
            return error_response(exc.code or 500, MESSAGES.get(exc.code, exc.description or exc.name))
        if wants_json() and api_http is not None:
            return api_http(exc)
        return render_error(exc.code or 500, MESSAGES.get(exc.code) or exc.description)

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        if wants_json() and api_db_down is not None:
            return api_db_down(exc)
        log.error("database unavailable: %s", exc.__class__.__name__)
        return render_error(503)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if wants_json() and api_unexpected is not None:
            return api_unexpected(exc)
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _db_down(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
