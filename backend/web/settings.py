"""Settings > Smart Bcc: the company address, accepted sender addresses, auto-linking, sharing, domain."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import addresses
from ..accounts import AccountError, change_company_domain
from ..alt_addresses import add_address, check, confirm, send_confirmation
from ..request_scope import db_session, services
from ..api.errors import ApiError
from ..api.settings import CONFIRM_MESSAGES, smart_bcc_settings
from ..mailer import MailError
from ..models import SenderAddress
from .blueprint import bp
from .auth import session_user, signin_required

NEXT_STEPS = {
    "verified": "Mail you send from this address with your Smart Bcc address in Bcc is now logged.",
    "expired": "Sign in, open Settings > Smart Bcc and choose 'Resend confirmation' next to the address.",
    "used": "Nothing more to do.",
    "replaced": "Open the newest confirmation mail for this address and use its link.",
    "unknown": "Copy the whole link from the mail into the address bar, or resend the confirmation "
               "from Settings > Smart Bcc.",
}
CONFIRM_TITLES = {"verified": "Address confirmed", "expired": "Link expired", "used": "Link already used",
                  "replaced": "A newer link was sent", "unknown": "Link not valid"}


def _to_settings():
    return redirect(url_for("web.smart_bcc_settings_page"))


def _datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


@bp.get("/settings")
@signin_required
def settings_index():
    return _to_settings()


@bp.get("/settings/smart-bcc")
@signin_required
def smart_bcc_settings_page():
    data = smart_bcc_settings()
    for entry in data["previous_addresses"]:
        entry["until"] = _datetime(entry["accepted_until"])
    return render_template("web/settings.html", s=data, add_email=request.args.get("email", ""))


@bp.post("/settings/smart-bcc/linking")
@signin_required
def settings_linking():
    g.user.link_emails_to_items = request.form.get("link_emails_to_items") == "on"
    db_session().commit()
    if g.user.link_emails_to_items:
        flash("Linking is on: new mail is linked to the deals, leads and projects of its contacts.", "ok")
    else:
        flash("Linking is off: new mail is linked only to its contacts and to deal or lead addresses.", "ok")
    return _to_settings()


@bp.post("/settings/smart-bcc/sharing")
@signin_required
def settings_sharing():
    value = request.form.get("default_sharing")
    if value not in ("private", "shared"):
        flash("Choose either 'Private' or 'Shared'.", "error")
        return _to_settings()
    g.user.default_sharing = value
    db_session().commit()
    flash(f"Mail you receive from now on is {value} by default. Threads you already have keep their "
          "sharing.", "ok")
    return _to_settings()


def _mail_confirmation(entry: SenderAddress) -> bool:
    try:
        send_confirmation(db_session(), services().settings, entry)
    except MailError as exc:
        db_session().rollback()
        flash(f"The confirmation mail could not be sent ({exc}). Try 'Resend confirmation' later.", "error")
        return False
    return True


@bp.post("/settings/smart-bcc/addresses")
@signin_required
def address_add():
    email = (request.form.get("email") or "").strip()
    if not email or "\x00" in email:
        flash("Enter the email address you also send from.", "error")
        return _to_settings()
    try:
        entry = add_address(db_session(), services().settings, g.user, email)
    except AccountError as exc:
        db_session().rollback()
        flash(str(exc), "error")
        return redirect(url_for("web.smart_bcc_settings_page", email=email[:320]) + "#accepted")
    if _mail_confirmation(entry):
        db_session().commit()
        flash(f"We sent a confirmation mail to {entry.email}. Open the link in it within 48 hours; "
              "until then mail from this address is not accepted.", "ok")
    return redirect(url_for("web.smart_bcc_settings_page") + "#accepted")


def _own_address(address_id: int) -> SenderAddress:
    entry = db_session().scalar(select(SenderAddress).where(
        SenderAddress.id == address_id, SenderAddress.user_id == g.user.id))
    if entry is None:
        raise ApiError(404, "That address is not in your list (any more). Reload the settings page.")
    return entry


@bp.post("/settings/smart-bcc/addresses/<int:address_id>/resend")
@signin_required
def address_resend(address_id: int):
    entry = _own_address(address_id)
    if entry.verified_at is not None:
        flash(f"{entry.email} is already confirmed; nothing to resend.", "info")
    elif _mail_confirmation(entry):
        db_session().commit()
        flash(f"A new confirmation mail is on its way to {entry.email}. Links in earlier mails no longer "
              "work.", "ok")
    return redirect(url_for("web.smart_bcc_settings_page") + "#accepted")


@bp.post("/settings/smart-bcc/addresses/<int:address_id>/delete")
@signin_required
def address_delete(address_id: int):
    entry = _own_address(address_id)
    email = entry.email
    db_session().delete(entry)
    db_session().commit()
    flash(f"{email} is removed: Smart Bcc no longer accepts mail sent from it.", "ok")
    return redirect(url_for("web.smart_bcc_settings_page") + "#accepted")


@bp.post("/settings/smart-bcc/verification")
@signin_required
def settings_verification():
    if not g.user.is_admin:
        raise ApiError(403, "Only a company admin can change sender verification. Ask your admin to do it.")
    value = request.form.get("sender_verification")
    if value not in ("off", "flag", "reject"):
        flash("Choose one of the sender verification options.", "error")
        return _to_settings()
    g.user.company.sender_auth_policy = value
    db_session().commit()
    words = {"off": "Senders are not checked.", "flag": "Unverified mail is logged and marked.",
             "reject": "Unverified mail is refused, with a bounce that says why."}
    flash(f"Sender verification saved. {words[value]}", "ok")
    return _to_settings()


def _admin_only() -> None:
    if not g.user.is_admin:
        raise ApiError(403, "Only a company admin can change the company domain. Ask your admin to do it.")


@bp.get("/settings/company-domain")
@signin_required
def company_domain_page():
    _admin_only()
    data = smart_bcc_settings()
    grace = data["old_address_grace_days"]
    until = datetime.now(timezone.utc) + timedelta(days=grace)
    return render_template("web/company_domain.html", s=data, grace=grace, until=until,
                           domain=request.args.get("domain", ""))


@bp.post("/settings/company-domain")
@signin_required
def company_domain_post():
    _admin_only()
    domain = (request.form.get("domain") or "").strip()
    old = addresses.company_address(g.user.company.slug, services().settings.mail_domain)
    try:
        changed = change_company_domain(db_session(), g.user.company, domain,
                                        services().settings.old_address_grace_days)
    except AccountError as exc:
        db_session().rollback()
        flash(str(exc), "error")
        return redirect(url_for("web.company_domain_page", domain=domain[:253]))
    db_session().commit()
    if changed is None:
        flash(f"The company domain already is {g.user.company.domain}; nothing changed.", "info")
        return _to_settings()
    new = addresses.company_address(g.user.company.slug, services().settings.mail_domain)
    if new == old:
        flash(f"The company domain is now {g.user.company.domain}; the Smart Bcc address stays {new}.", "ok")
    else:
        flash(f"The company domain is now {g.user.company.domain} and your Smart Bcc address is {new}. "
              f"The old address {old} keeps working for {services().settings.old_address_grace_days} days; "
              "tell your team to use the new one.", "ok")
    return _to_settings()


@bp.get("/settings/smart-bcc/confirm")
def confirm_page():
    """The link in the confirmation mail: works signed in or not, in any browser. Opening it
    changes nothing (mail scanners open links too); its button confirms."""
    token = (request.args.get("token") or "")[:2000]
    result = check(db_session(), services().settings, token)
    if result.state == "pending":
        return render_template("web/confirm_ask.html", email=result.email, token=token)
    return _confirm_result(result)


@bp.post("/settings/smart-bcc/confirm")
def confirm_address():
    result = confirm(db_session(), services().settings, (request.form.get("token") or "")[:2000])
    db_session().commit()
    return _confirm_result(result)


def _confirm_result(result):
    status, text = CONFIRM_MESSAGES[result.state]
    message = text.format(email=result.email or "the address")
    return render_template("web/confirm.html", state=result.state, title=CONFIRM_TITLES[result.state],
                           message=message, next_step=NEXT_STEPS[result.state],
                           signed_in=session_user() is not None), status
