"""The signed-in user."""
from __future__ import annotations

from flask import Blueprint, g

from .auth import login_required
from .common import ok
from .openapi import document
from .schemas import UserSchema

bp = Blueprint("users", __name__)
document("/users/me", "get", "The signed-in user", response=UserSchema())


@bp.get("/users/me")
@login_required
def me():
    data = UserSchema().dump(g.user)
    data["company"] = {"id": g.user.company.id, "name": g.user.company.name,
                       "domain": g.user.company.domain}
    return ok(data)
