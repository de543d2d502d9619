"""One error shape for the whole API: {"success": false, "error": ..., "errors": {...}}."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..domain.errors import DomainError, not_found  # noqa: F401  (re-exported for the adapters)

log = logging.getLogger(__name__)


# Rules raise DomainError; the API knows it by its old name.
ApiError = DomainError


def error_response(status: int, message: str, errors: dict | None = None, headers: dict | None = None):
    body = {"success": False, "error": message, "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.errors, exc.headers)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return error_response(400, "The request has invalid fields; see errors.", messages)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _wants_json():
            return exc
        messages = {
            404: "Not found. Check the URL; the API lives under /api/v1.",
            405: f"Method {request.method} is not allowed on this URL.",
            413: "The request is larger than the Smart Bcc limit of 20 MB, attachments included.",
        }
        # A 405 must say which methods the URL does allow.
        allow = getattr(exc, "valid_methods", None)
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name),
                              headers={"Allow": ", ".join(allow)} if allow else None)

    @app.errorhandler(OperationalError)
    def _db_down(exc: OperationalError):
        log.error("database unavailable: %s", exc.__class__.__name__)
        return error_response(503, "The database is unavailable right now; retry in a minute.",
                              headers={"Retry-After": "30"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _db_down(exc)  # type: ignore[arg-type]
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "Something went wrong on our side; it has been logged. Try again.")
        return ("Something went wrong on our side; it has been logged. Try again.", 500)
