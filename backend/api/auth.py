"""Bearer-token authentication for the API; sets g.user and g.company_id."""
from __future__ import annotations

import logging
from functools import wraps

from flask import g, request

from ..domain import users
from ..models import User
from .common import db_session, services
from .errors import ApiError

log = logging.getLogger(__name__)

UNAUTHORIZED = ApiError(
    401,
    "Missing or invalid API token. Send 'Authorization: Bearer <api_token>'; make a token on "
    "Settings > Your account (or `smartbcc user create` prints one).",
    headers={"WWW-Authenticate": 'Bearer realm="smartbcc"'},
)


def user_from_bearer() -> User | None:
    """The active user of the request's bearer token: a personal API token (Settings > Your account)
    or the account token `smartbcc user create` prints. A revoked token, or any token of a
    deactivated user, is refused on its next request."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = users.token_owner(db_session(), token.strip())
    if found is None:
        return None
    user, token_id = found
    if token_id is not None:
        _record_use(token_id)
    return user


def _record_use(token_id: int) -> None:
    # Its own short transaction, at most once a minute per token: the request's session stays as it is.
    try:
        with services().db.session() as session:
            users.mark_used(session, token_id)
    except Exception:  # a "last used" date is never worth refusing the request for
        log.warning("could not record the use of API token %s", token_id, exc_info=True)


def enforce_api_limits(user: User) -> None:
    from flask import current_app

    from ..ratelimit import Limit

    services = current_app.extensions["smartbcc"]
    settings = services.settings
    verdict = services.limiter.check_all([
        (f"api:user:{user.id}", Limit.parse(settings.api_limit_per_user)),
        (f"api:company:{user.company_id}", Limit.parse(settings.api_limit_per_company)),
    ])
    if not verdict.allowed:
        raise ApiError(429, f"Too many requests; retry in {verdict.retry_after} seconds.",
                       headers={"Retry-After": str(verdict.retry_after)})


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = getattr(g, "user", None) or user_from_bearer()
        if user is None:
            raise UNAUTHORIZED
        g.user = user
        g.company_id = user.company_id
        enforce_api_limits(user)
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            raise ApiError(403, "Only a company admin can do this; ask your admin.")
        return view(*args, **kwargs)
    return wrapper
