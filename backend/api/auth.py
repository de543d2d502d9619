"""Bearer-token authentication for the API; sets g.user and g.company_id."""
from __future__ import annotations

from functools import wraps

from flask import g, request
from sqlalchemy import select

from ..models import User
from ..security import hash_token
from .common import db_session
from .errors import ApiError

UNAUTHORIZED = ApiError(
    401,
    "Missing or invalid API token. Send 'Authorization: Bearer <api_token>'; "
    "`smartbcc user create` prints a token.",
    headers={"WWW-Authenticate": 'Bearer realm="smartbcc"'},
)


def user_from_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = db_session().scalar(select(User).where(User.api_token_hash == hash_token(token.strip())))
    if user is None or not user.active:
        return None
    return user


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
