"""A per-session CSRF token, checked on every state-changing request of the web blueprint."""
from __future__ import annotations

import hmac
import secrets

from flask import request, session

FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(Exception):
    """The request did not carry this session's token (a forged or stale form)."""


def csrf_token() -> str:
    """The session's token, created on first use so signed-out forms (sign-in) carry one too."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate() -> None:
    # A fresh token at sign-in, so a token planted before sign-in is worthless after it.
    session["csrf"] = secrets.token_urlsafe(32)


def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.headers.get(HEADER) or request.form.get(FORM_FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        raise CsrfError()


