"""Settings > Users (admins): the company's users, invitations, roles, deactivation; and the page an
invitation link opens. The rules are backend/domain/users.py and backend/domain/invitations.py."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, g, redirect, render_template, request, session, url_for

from ..domain import invitations, users
from ..request_scope import actor, db_session, services
from .auth import SESSION_KEY, session_stamp, session_user, signin_required
from .blueprint import bp
from .csrf import rotate
from .forms import attempt, commit_and_mail, saved


def _to_users(anchor: str = ""):
    return redirect(url_for("web.users_page") + anchor)


def _render(errors: dict | None = None, form: dict | None = None, status: int = 200):
    rows = users.user_rows(db_session(), actor())  # 403 for members, with words that say whom to ask
    pending = invitations.invitation_rows(db_session(), services().settings, actor())
    return render_template("web/users.html", users=rows, invitations=pending, errors=errors or {},
                           form=form or {"role": "member"}, roles=users.ROLES,
                           invite_days=invitations.INVITE_DAYS), status


@bp.get("/settings/users")
@signin_required
def users_page():
    return _render()


def _mail(sent: invitations.Sent) -> None:
    commit_and_mail(invitations.SEND_INVITATION, (sent.invitation_id, sent.nonce),
                    lambda: invitations.not_sent(db_session(), sent), sent.message())


@bp.post("/settings/users/invitations")
@signin_required
def invitation_create():
    form = {key: (request.form.get(key) or "").strip()[:320] for key in ("email", "name", "role")}
    sent, errors = attempt(invitations.invite, db_session(), services().settings, actor(), form["email"],
                           form["role"] or "member", form["name"])
    if errors:
        return _render(errors, form, 400)
    _mail(sent)
    return _to_users("#invitations")


@bp.post("/settings/users/invitations/<int:invitation_id>/resend")
@signin_required
def invitation_resend(invitation_id: int):
    _mail(invitations.resend(db_session(), services().settings, actor(), invitation_id))
    return _to_users("#invitations")


@bp.post("/settings/users/invitations/<int:invitation_id>/revoke")
@signin_required
def invitation_revoke(invitation_id: int):
    invitation, changed = invitations.revoke(db_session(), actor(), invitation_id)
    saved(changed, f"The invitation for {invitation.email} is withdrawn: its link no longer works.",
          f"The invitation for {invitation.email} was already accepted or withdrawn; nothing changed.")
    return _to_users("#invitations")


@bp.post("/settings/users/<int:user_id>/role")
@signin_required
def user_role(user_id: int):
    user, changed = users.change_role(db_session(), actor(), user_id, request.form.get("role") or "")
    done = (f"{user.name} is now an admin: they can manage users and the company settings." if user.role == "admin"
            else f"{user.name} is now a member: they no longer manage users or the company settings.")
    saved(changed, done, f"{user.name} already is {'an' if user.role == 'admin' else 'a'} "
                         f"{users.ROLES[user.role].lower()}; nothing changed.")
    return _to_users(f"#user-{user.id}")


@bp.post("/settings/users/<int:user_id>/deactivate")
@signin_required
def user_deactivate(user_id: int):
    user, changed = users.deactivate(db_session(), actor(), user_id)
    saved(changed, f"{user.name} is deactivated: they are signed out, their API tokens and add-ins stop working, "
                   "and mail from their addresses is no longer logged. Their private conversations stay private.",
          f"{user.name} was already deactivated; nothing changed.")
    return _to_users(f"#user-{user.id}")


@bp.post("/settings/users/<int:user_id>/reactivate")
@signin_required
def user_reactivate(user_id: int):
    user, changed = users.reactivate(db_session(), actor(), user_id)
    saved(changed, f"{user.name} is active again: they can sign in, and their API tokens work again.",
          f"{user.name} is already active; nothing changed.")
    return _to_users(f"#user-{user.id}")


# --- the invitation link (signed in or not) ------------------------------------------------------

def _accept_form(token: str, form: dict | None = None, errors: dict | None = None, status: int = 200):
    """The form of a good link; the link's refusal (expired, used, withdrawn...) otherwise."""
    invitation = invitations.open_link(db_session(), services().settings, token).require_good()
    current = session_user()
    return render_template("web/invitation_accept.html", token=token, invitation=invitation,
                           company=invitations.company_name(db_session(), invitation),
                           form=form or {"name": invitation.name or ""}, errors=errors or {},
                           signed_in_as=current.email if current else None), status


@bp.get("/invitations/accept")
def invitation_accept_page():
    """Opening the link changes nothing (mail scanners open links too); the form accepts."""
    return _accept_form((request.args.get("token") or "")[:2000])


@bp.post("/invitations/accept")
def invitation_accept():
    token = (request.form.get("token") or "")[:2000]
    form = {"name": (request.form.get("name") or "")[:200]}
    user, errors = attempt(invitations.accept, db_session(), services().settings, token, form["name"],
                           request.form.get("password") or "", request.form.get("password_again") or "")
    if errors:
        return _accept_form(token, form, errors, 400)
    user.last_sign_in_at = datetime.now(timezone.utc)
    db_session().commit()
    # The new account's own session: whoever was signed in in this browser is signed out.
    session.clear()
    session[SESSION_KEY] = user.id
    session["pw"] = session_stamp(user)
    rotate()
    g.pop("web_user", None)
    flash(f"Welcome to Smart Bcc, {user.name}. You are signed in as {user.email}.", "ok")
    return redirect(url_for("web.home"))
