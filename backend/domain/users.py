"""Users of a company: what an admin manages (role, deactivation), what every user manages of their
own account (password, personal API tokens, other sessions), and who an API token belongs to.

Rules:
- Only an admin manages users, and only the users of their own company; another company's user
  is as absent as a missing one (404).
- An admin does not change their own role or deactivate themselves (another admin does), and the
  last active admin of a company can be neither demoted nor deactivated: a company always keeps
  someone who can manage it.
- A deactivated user is refused everywhere at once: page sessions (``session_version`` is bumped),
  their API tokens and add-in calls (every bearer check reads ``User.active``), and mail from
  their addresses. Their private conversations stay theirs: admins see how many there are, never
  what they hold.
- Two kinds of API token work: the account token `smartbcc user create` prints
  (``User.api_token_hash``, kept as it was) and named personal tokens (``ApiToken``) made on
  Settings > Your account, each shown once, with its last use.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, func, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from ..models import MailThread, User
from ..models.company import ApiToken
from ..security import check_password, hash_password, hash_token, new_api_token
from .actor import Actor
from .errors import DomainError, invalid, not_found
from .passwords import password_problem
from .sql import built_once

ROLES = {"admin": "Admin", "member": "Member"}
MAX_TOKENS = 50
TOKEN_NAME_MAX = 100
# A token's "last used" is written at most this often: not one write per API request.
LAST_USED_EVERY = timedelta(seconds=60)


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- who may ---------------------------------------------------------------------------------

def require_admin(actor: Actor, what: str = "manage the users of your company", fields=()) -> None:
    """403 unless ``actor`` is an admin; ``fields``: the request's fields it refuses ("Admins only.")."""
    if not actor.is_admin:
        raise DomainError(403, f"Only a company admin can {what}. Ask your admin to do it.",
                          {field: ["Admins only."] for field in fields} or None)


def company_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.company_id != actor.company_id:
        raise not_found("user")
    return user


def _colleague(session: Session, actor: Actor, user_id: int, verb: str) -> User:
    require_admin(actor)
    user = company_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise DomainError(400, f"You cannot {verb} your own account: another admin of your company can. "
                               "Your password and tokens are on Settings > Your account.")
    return user


def active_admins(session: Session, company_id: int) -> int:
    return session.scalar(select(func.count(User.id)).where(
        User.company_id == company_id, User.role == "admin", User.active.is_(True))) or 0


def _keep_an_admin(session: Session, user: User, verb: str) -> None:
    if user.role == "admin" and user.active and active_admins(session, user.company_id) <= 1:
        raise DomainError(400, f"{user.name} is the last active admin of the company and cannot be {verb}. "
                               "Make another user an admin first.")


# --- an admin's changes --------------------------------------------------------------------------

def change_role(session: Session, actor: Actor, user_id: int, role: str) -> tuple[User, bool]:
    """(the user, whether the role changed)."""
    if role not in ROLES:
        raise invalid("role", "Choose 'Admin' or 'Member' as the role.")
    user = _colleague(session, actor, user_id, "change the role of")
    if user.role == role:
        return user, False
    if role != "admin":
        _keep_an_admin(session, user, "made a member")
    user.role = role
    session.flush()
    return user, True


def deactivate(session: Session, actor: Actor, user_id: int) -> tuple[User, bool]:
    user = _colleague(session, actor, user_id, "deactivate")
    if not user.active:
        return user, False
    _keep_an_admin(session, user, "deactivated")
    user.active = False
    user.session_version = (user.session_version or 0) + 1  # every page session ends now
    session.flush()
    return user, True


def reactivate(session: Session, actor: Actor, user_id: int) -> tuple[User, bool]:
    user = _colleague(session, actor, user_id, "reactivate")
    if user.active:
        return user, False
    user.active = True
    session.flush()
    return user, True


def user_rows(session: Session, actor: Actor) -> list[dict]:
    """The company's users as the users page lists them; conversations as counts only."""
    require_admin(actor)
    private = dict(session.execute(
        select(MailThread.owner_id, func.count(MailThread.id))
        .where(MailThread.company_id == actor.company_id, MailThread.shared.is_(False))
        .group_by(MailThread.owner_id)).all())
    users = session.scalars(select(User).where(User.company_id == actor.company_id)
                            .order_by(User.active.desc(), func.lower(User.name), User.id))
    return [{"id": u.id, "name": u.name, "email": u.email, "role": u.role, "role_label": ROLES.get(u.role, u.role),
             "active": bool(u.active), "last_sign_in_at": u.last_sign_in_at, "created_at": u.created_at,
             "private_threads": private.get(u.id, 0), "is_you": u.id == actor.user_id} for u in users]


# --- every user's own account ------------------------------------------------------------------

def set_password(user: User, password: str) -> None:
    """Stores a password the user chose; every other session of theirs ends."""
    user.password_hash = hash_password(password)
    user.password_changed_at = now()
    user.session_version = (user.session_version or 0) + 1


def new_password_errors(user_email: str, user_name: str, new: str, again: str,
                        field: str = "new_password") -> dict[str, list[str]]:
    """Field messages for a chosen password (``field``) and its repetition (``field``_again)."""
    errors: dict[str, list[str]] = {}
    problem = password_problem(new, email=user_email, name=user_name)
    if problem:
        errors[field] = [problem]
    elif new != again:
        errors[f"{field}_again"] = ["The two passwords differ. Type the same password twice."]
    return errors


def refused(errors: dict[str, list[str]], lead: str = "") -> DomainError:
    """A 400 with every field message, for a form that shows each one next to its field."""
    return DomainError(400, lead + " ".join(m for ms in errors.values() for m in ms), errors)


def change_password(user: User, current: str, new: str, again: str) -> None:
    errors: dict[str, list[str]] = {}
    if not current:
        errors["current_password"] = ["Enter your current password."]
    elif not check_password(user.password_hash, current):
        errors["current_password"] = ["That is not your current password. Forgot it? Sign out and choose "
                                      "'Forgot your password?' on the sign-in page."]
    errors.update(new_password_errors(user.email, user.name, new, again))
    if not errors and current == new:
        errors["new_password"] = ["The new password is the same as the current one. Choose another one."]
    if errors:
        raise refused(errors, "The password was not changed: ")
    set_password(user, new)


def sign_out_other_sessions(user: User) -> None:
    user.session_version = (user.session_version or 0) + 1


# --- API tokens --------------------------------------------------------------------------------

def tokens(session: Session, actor: Actor) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def create_token(session: Session, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """A new personal token and the token itself, shown once."""
    name = " ".join((name or "").split())
    if not name:
        raise invalid("name", "Give the token a name that says where it is used, like 'CRM sync'.")
    if len(name) > TOKEN_NAME_MAX:
        raise invalid("name", f"The name can have at most {TOKEN_NAME_MAX} characters.")
    count = session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))) or 0
    if count >= MAX_TOKENS:
        raise invalid("name", f"You have {MAX_TOKENS} tokens, the most there can be. Revoke one you no "
                              "longer use first.")
    token, token_hash = new_api_token()
    entry = ApiToken(company_id=actor.company_id, user_id=actor.user_id, name=name, token_hash=token_hash)
    session.add(entry)
    session.flush()
    return entry, token


def revoke_token(session: Session, actor: Actor, token_id: int) -> tuple[ApiToken, bool]:
    entry = session.get(ApiToken, token_id)
    if entry is None or entry.user_id != actor.user_id:
        raise not_found("API token")
    if entry.revoked_at is not None:
        return entry, False
    entry.revoked_at = now()
    session.flush()
    return entry, True


def revoke_account_token(user: User) -> bool:
    if not user.api_token_hash:
        return False
    user.api_token_hash = None
    return True


def _token_owner_query(_dialect: str):
    """Built once (sql.built_once): building it, and its cache key, cost more than running it."""
    digest = bindparam("digest")
    personal = (select(User.id.label("uid"), ApiToken.id.label("tid"))
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
    account = select(User.id.label("uid"), null().label("tid")).where(User.api_token_hash == digest)
    hits = union_all(personal, account).subquery()
    return select(User, hits.c.tid).join(hits, hits.c.uid == User.id).limit(1)


def token_owner(session: Session, token: str) -> tuple[User, int | None] | None:
    """The active user a bearer token belongs to, and the personal token's id (None for the account
    token); None when the token is unknown, revoked, or its user is deactivated. One statement:
    both lookups use their unique index, and an API request pays one round trip for its user."""
    token = (token or "").strip()
    if not token:
        return None
    query = built_once(session, "token_owner", _token_owner_query)
    row = session.execute(query, {"digest": hash_token(token)}).first()
    if row is None or not row[0].active:
        return None
    return row[0], row[1]


def mark_used(session: Session, token_id: int, at: datetime | None = None) -> bool:
    """Records the token's use, at most once a minute; True when a row was written."""
    at = at or now()
    result = session.execute(update(ApiToken).where(
        ApiToken.id == token_id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < at - LAST_USED_EVERY))
        .values(last_used_at=at))
    return bool(result.rowcount)
