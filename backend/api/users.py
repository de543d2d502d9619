"""The signed-in user, and the company's users (admins; the rules are backend/domain/users.py)."""
from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, fields

from ..domain import users
from .auth import login_required
from .common import actor, db_session, ok
from .openapi import document
from .schemas import UserSchema


class CompanyUserSchema(Schema):
    """A user as an admin sees them: their private conversations as a count only."""

    id = fields.Int(dump_only=True)
    name = fields.Str(dump_only=True)
    email = fields.Str(dump_only=True)
    role = fields.Str(dump_only=True, metadata={"enum": list(users.ROLES)})
    active = fields.Bool(dump_only=True)
    last_sign_in_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    private_threads = fields.Int(dump_only=True)
    is_you = fields.Bool(dump_only=True)


bp = Blueprint("users", __name__)
document("/users/me", "get", "The signed-in user", response=UserSchema())
document("/users", "get", "The company's users, for its admins: role, whether active, last sign-in, and how "
         "many private conversations each has (never what they hold)", response=CompanyUserSchema(), many=True)


@bp.get("/users/me")
@login_required
def me():
    data = UserSchema().dump(g.user)
    data["company"] = {"id": g.user.company.id, "name": g.user.company.name,
                       "domain": g.user.company.domain}
    return ok(data)


@bp.get("/users")
@login_required
def company_users():
    # A member gets the rule's 403 with words that say whom to ask.
    return ok(CompanyUserSchema(many=True).dump(users.user_rows(db_session(), actor())))
