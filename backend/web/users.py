"""Settings > Users (admins): the company's users, invitations, roles, deactivation; and the page an
invitation link opens. The rules are backend/domain/users.py and backend/domain/invitations.py."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, g, redirect, render_template, request, session, url_for

from ..domain import invitations, users
from ..domain.errors import DomainError
from ..request_scope import actor, db_session, services
from .auth import SESSION_KEY, session_stamp, session_user, signin_required
from .blueprint import bp
from .csrf import rotate


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
    """Commits, then queues the mail (the job runner sends it, never this request), and says where it goes."""
    db_session().commit()
    services().jobs.enqueue(invitations.SEND_INVITATION, sent.invitation_id, sent.nonce)
    failed = invitations.not_sent(db_session(), sent)
    flash(failed or sent.message(), "error" if failed else "ok")


@bp.post("/settings/users/invitations")
@signin_required
def invitation_create():
    form = {key: (request.form.get(key) or "").strip()[:320] for key in ("email", "name", "role")}
    try:
        sent = invitations.invite(db_session(), services().settings, actor(), form["email"],
                                  form["role"] or "member", form["name"])
    except DomainError as exc:
        db_session().rollback()
        if not exc.errors:
            raise
        return _render(exc.errors, form, 400)
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
    db_session().commit()
    if changed:
        flash(f"The invitation for {invitation.email} is withdrawn: its link no longer works.", "ok")
    else:
        flash(f"The invitation for {invitation.email} was already accepted or withdrawn; nothing changed.", "info")
    return _to_users("#invitations")


@bp.post("/settings/users/<int:user_id>/role")
@signin_required
def user_role(user_id: int):
    user, changed = users.change_role(db_session(), actor(), user_id, request.form.get("role") or "")
    db_session().commit()
    label = users.ROLES[user.role]
    if not changed:
        flash(f"{user.name} already is {'an' if user.role == 'admin' else 'a'} {label.lower()}; nothing changed.",
              "info")
    elif user.role == "admin":
        flash(f"{user.name} is now an admin: they can manage users and the company settings.", "ok")
    else:
        flash(f"{user.name} is now a member: they no longer manage users or the company settings.", "ok")
    return _to_users(f"#user-{user.id}")


@bp.post("/settings/users/<int:user_id>/deactivate")
@signin_required
def user_deactivate(user_id: int):
    user, changed = users.deactivate(db_session(), actor(), user_id)
    db_session().commit()
    if changed:
        flash(f"{user.name} is deactivated: they are signed out, their API tokens and add-ins stop working, and "
              "mail from their addresses is no longer logged. Their private conversations stay private.", "ok")
    else:
        flash(f"{user.name} was already deactivated; nothing changed.", "info")
    return _to_users(f"#user-{user.id}")


@bp.post("/settings/users/<int:user_id>/reactivate")
@signin_required
def user_reactivate(user_id: int):
    user, changed = users.reactivate(db_session(), actor(), user_id)
    db_session().commit()
    if changed:
        flash(f"{user.name} is active again: they can sign in, and their API tokens work again.", "ok")
    else:
        flash(f"{user.name} is already active; nothing changed.", "info")
    return _to_users(f"#user-{user.id}")


# --- the invitation link (signed in or not) ------------------------------------------------------

def _accept_form(opened, token: str, form: dict, errors: dict, status: int = 200):
    current = session_user()
    return render_template("web/invitation_accept.html", token=token, invitation=opened.invitation,
                           company=invitations.company_name(db_session(), opened.invitation), form=form,
                           errors=errors,
                           signed_in_as=current.email if current else None), status


def _opened(token: str):
    opened = invitations.open_link(db_session(), services().settings, token)
    if opened.state != "pending":
        raise opened.refusal()
    return opened


@bp.get("/invitations/accept")
def invitation_accept_page():
    """Opening the link changes nothing (mail scanners open links too); the form accepts."""
    token = (request.args.get("token") or "")[:2000]
    opened = _opened(token)
    return _accept_form(opened, token, {"name": opened.invitation.name or ""}, {})


@bp.post("/invitations/accept")
def invitation_accept():
    token = (request.form.get("token") or "")[:2000]
    form = {"name": (request.form.get("name") or "")[:200]}
    try:
        user = invitations.accept(db_session(), services().settings, token, form["name"],
                                  request.form.get("password") or "", request.form.get("password_again") or "")
    except DomainError as exc:
        db_session().rollback()
        if not exc.errors:
            raise
        return _accept_form(_opened(token), token, form, exc.errors, 400)
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
