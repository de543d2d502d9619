"""Who is calling the add-in API: a Microsoft identity token (Outlook add-in) or a Smart Bcc API token (development)."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from ..api.auth import enforce_api_limits, user_from_bearer
from ..api.common import db_session, services
from ..api.errors import ApiError
from .tokens import TokenError, looks_like_jwt, user_for_address
from .tokens_ms import verify_ms_token


def unauthorized(message: str) -> ApiError:
    # The add-in shows ``error`` as it is, so every message says what to do next.
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="smartbcc", error="invalid_token"'})


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate():
    """The active user behind the request's bearer token; raises a 401 ApiError with the reason.

    For a verified Microsoft token of a known user, the raw token, its claims and
    its address are also kept on ``g`` (``ms_assertion``, ``ms_claims``,
    ``ms_address``) for On-Behalf-Of; with an API token they stay None.
    """
    g.ms_assertion = g.ms_claims = g.ms_address = None
    token = _bearer()
    if not token:
        raise unauthorized("Sign in to Smart Bcc: the add-in sent no token. Open the Smart Bcc pane and sign in.")
    if looks_like_jwt(token):
        try:
            claims, address = verify_ms_token(services().settings, token)
            user = user_for_address(db_session(), address)
        except TokenError as exc:
            raise unauthorized(exc.message) from exc
        g.ms_assertion, g.ms_claims, g.ms_address = token, claims, address
        return user
    user = user_from_bearer()
    if user is None:
        raise unauthorized("The Smart Bcc API token is not valid (revoked, or the user is deactivated); "
                           "enter a current token or sign in with Microsoft.")
    return user


def addin_login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = authenticate()
        g.user = user
        g.company_id = user.company_id
        # The same per-user and per-company budget as the rest of the API.
        enforce_api_limits(user)
        return view(*args, **kwargs)
    return wrapper
