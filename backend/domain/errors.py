"""The one error a rule raises when the caller must act: a status, a sentence, field messages."""
from __future__ import annotations


class DomainError(Exception):
    """An error the caller can act on; ``message`` says what to do. ``status`` follows HTTP
    (400 bad input, 403 not allowed, 404 missing or not visible) so every adapter maps it the
    same way: a JSON error, a flashed message on a page, one ``error:`` line on the CLI."""

    def __init__(self, status: int, message: str, errors: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


def not_found(what: str = "item") -> DomainError:
    # Another company's id, or a private thread of a colleague, looks exactly like a missing one.
    return DomainError(404, f"No such {what}, or you do not have access to it.")


def invalid(field: str, message: str) -> DomainError:
    return DomainError(400, message, {field: [message]})
