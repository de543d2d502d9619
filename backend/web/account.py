"""Settings > Your account (every user): password, personal API tokens, other sessions.
The rules are backend/domain/users.py."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from ..domain import timezones, users
from ..domain.errors import DomainError
from ..request_scope import actor, db_session
from .auth import restamp, signin_required
from .blueprint import bp
from .forms import attempt, saved


def _to_account(anchor: str = ""):
    return redirect(url_for("web.account_page") + anchor)


def _render(errors: dict | None = None, token_name: str = "", new_token: str | None = None,
            new_token_name: str | None = None, status: int = 200):
    return render_template("web/account.html", tokens=users.tokens(db_session(), actor()), errors=errors or {},
                           token_name=token_name, new_token=new_token, new_token_name=new_token_name,
                           has_account_token=bool(g.user.api_token_hash)), status


@bp.get("/settings/account")
@signin_required
def account_page():
    return _render()


@bp.post("/settings/account/password")
@signin_required
def account_password():
    _none, errors = attempt(users.change_password, g.user, request.form.get("current_password") or "",
                            request.form.get("new_password") or "", request.form.get("new_password_again") or "")
    if errors:
        return _render(errors, status=400)
    db_session().commit()
    restamp(g.user)  # this session stays signed in; every other one ends
    flash("Your password is changed. Every other session of your account was signed out.", "ok")
    return _to_account("#password")


@bp.post("/settings/account/tokens")
@signin_required
def account_token_create():
    name = (request.form.get("name") or "")[:200]
    made, errors = attempt(users.create_token, db_session(), actor(), name)
    if errors:
        return _render(errors, token_name=name, status=400)
    entry, token = made
    db_session().commit()
    # Shown in this response only: never stored, never put in the session cookie or a redirect.
    return _render(new_token=token, new_token_name=entry.name)


@bp.post("/settings/account/tokens/<int:token_id>/revoke")
@signin_required
def account_token_revoke(token_id: int):
    entry, changed = users.revoke_token(db_session(), actor(), token_id)
    saved(changed, f"The token '{entry.name}' is revoked: requests that send it are refused from now on.",
          f"The token '{entry.name}' was already revoked.")
    return _to_account("#tokens")


@bp.post("/settings/account/account-token/revoke")
@signin_required
def account_token_revoke_default():
    saved(users.revoke_account_token(g.user), "The account token is revoked: requests that send it are refused "
          "from now on.", "Your account has no account token; nothing changed.")
    return _to_account("#tokens")


@bp.post("/settings/account/sessions/sign-out-others")
@signin_required
def account_sign_out_others():
    users.sign_out_other_sessions(g.user)
    db_session().commit()
    restamp(g.user)
    flash("Every other session of your account is signed out (other browsers and devices). This one stays "
          "signed in. API tokens are not affected: revoke them below.", "ok")
    return _to_account("#sessions")


@bp.post("/settings/account/time-zone")
@signin_required
def account_time_zone():
    try:
        timezones.set_time_zone(g.user, (request.form.get("time_zone") or "")[:100])
    except DomainError as exc:
        db_session().rollback()
        return _render(exc.errors, status=400)
    db_session().commit()
    flash(f"Times are shown in {g.user.time_zone}." if g.user.time_zone
          else "Times are shown in your browser's time zone.", "ok")
    return _to_account("#time-zone")
