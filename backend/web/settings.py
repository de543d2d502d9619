"""Settings > Smart Bcc: the company address, accepted sender addresses, auto-linking, sharing, domain."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from .. import addresses
from ..accounts import AccountError, change_company_domain
from ..api.settings import SmartBccSettingsSchema
from ..domain import dealevidence, dealrank, expectations, history, senders, users
from ..domain.errors import DomainError as ApiError
from ..request_scope import actor, db_session, services
from .auth import session_user, signin_required
from .blueprint import bp
from .forms import commit_and_mail

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


def smart_bcc_settings() -> dict:
    data = senders.smart_bcc_settings(db_session(), services().settings, actor())
    data.update(dealevidence.policy_settings(g.user.company))
    data["history_catch_up_days"] = g.user.company.history_catch_up_days
    return data


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
    times = expectations.log_times(db_session(), actor(), datetime.now(timezone.utc)) if g.user.is_admin else None
    return render_template("web/settings.html", s=data, add_email=request.args.get("email", ""), log_times=times,
                           not_logged_after=services().settings.not_logged_after_minutes)


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


def _mail_confirmation(entry, resend: bool = False) -> None:
    """Commits, then queues the confirmation mail (the job runner sends it, never this request),
    and says where it goes: the address's inbox, or a named file in the outbox."""
    confirmation = senders.request_confirmation(db_session(), services().settings, entry, resend=resend)
    commit_and_mail(senders.SEND_CONFIRMATION, (confirmation.address_id, confirmation.nonce),
                    lambda: senders.not_sent(db_session(), confirmation), confirmation.message())


@bp.post("/settings/smart-bcc/addresses")
@signin_required
def address_add():
    email = (request.form.get("email") or "").strip()
    if not email or "\x00" in email:
        flash("Enter the email address you also send from.", "error")
        return _to_settings()
    try:
        entry = senders.add_address(db_session(), services().settings, actor(), email)
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.smart_bcc_settings_page", email=email[:320]) + "#accepted")
    _mail_confirmation(entry)
    return redirect(url_for("web.smart_bcc_settings_page") + "#accepted")


def _own_address(address_id: int):
    try:
        return senders.own_address(db_session(), actor(), address_id)
    except ApiError as exc:
        raise ApiError(404, f"{exc.message} Reload the settings page.") from exc


@bp.post("/settings/smart-bcc/addresses/<int:address_id>/resend")
@signin_required
def address_resend(address_id: int):
    entry = _own_address(address_id)
    if entry.verified_at is not None:
        flash(f"{entry.email} is already confirmed; nothing to resend.", "info")
    else:
        _mail_confirmation(entry, resend=True)
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


# The deal-choice form's fields, loaded by the settings API's own schema (one set of rules and
# words for the API and the page); each message is shown after the name of its field on the form.
DEAL_CHOICE_FIELDS = {"deal_choice_policy": "Deal choice", "deal_choice_threshold": "Score",
                      "deal_choice_margin": "Lead over the next deal"}


def _field_messages(errors: dict) -> str:
    """'Score: Use a number from 0 to 1, such as 0.6.' for each field named, in the form's order."""
    order = [name for name in DEAL_CHOICE_FIELDS if name in errors] + \
        [name for name in errors if name not in DEAL_CHOICE_FIELDS]
    return " ".join(f"{DEAL_CHOICE_FIELDS.get(name, 'Deal choice')}: "
                    f"{' '.join(map(str, errors[name] if isinstance(errors[name], list) else [errors[name]]))}"
                    for name in order)


@bp.post("/settings/smart-bcc/deal-choice")
@signin_required
def settings_deal_choice():
    users.require_admin(actor(), "change the deal choice policy")  # before reading the form
    form = {name: request.form[name] for name in DEAL_CHOICE_FIELDS if name in request.form}
    try:
        data = SmartBccSettingsSchema(only=tuple(DEAL_CHOICE_FIELDS)).load(form)
        dealevidence.set_policy(actor(), g.user.company, policy=data.get("deal_choice_policy"),
                                threshold=data.get("deal_choice_threshold"), margin=data.get("deal_choice_margin"))
    except ValidationError as exc:
        flash(_field_messages(exc.messages), "error")
        return redirect(url_for("web.smart_bcc_settings_page") + "#deal-choice")
    except ApiError as exc:
        db_session().rollback()
        if exc.status != 400 or not exc.errors:
            raise
        flash(_field_messages(exc.errors), "error")
        return redirect(url_for("web.smart_bcc_settings_page") + "#deal-choice")
    db_session().commit()
    flash(f"Deal choice saved. {dealrank.POLICY_WORDS[g.user.company.deal_choice_policy]}", "ok")
    return redirect(url_for("web.smart_bcc_settings_page") + "#deal-choice")


@bp.post("/settings/smart-bcc/history")
@signin_required
def settings_history():
    raw = (request.form.get("history_catch_up_days") or "").strip()
    try:
        history.set_days(actor(), g.user.company, int(raw) if raw.isdigit() else raw)
    except ApiError as exc:
        db_session().rollback()
        if exc.status != 400:  # not an admin: the error page says so
            raise
        flash(f"Days to look back: {exc.errors['history_catch_up_days'][0]}", "error")
        return redirect(url_for("web.smart_bcc_settings_page") + "#deal-choice")
    db_session().commit()
    flash(f"Saved. {history.window_words(g.user.company.history_catch_up_days)}", "ok")
    return redirect(url_for("web.smart_bcc_settings_page") + "#deal-choice")


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
    result = senders.check(db_session(), services().settings, token)
    if result.state == "pending":
        return render_template("web/confirm_ask.html", email=result.email, token=token)
    return _confirm_result(result)


@bp.post("/settings/smart-bcc/confirm")
def confirm_address():
    result = senders.confirm(db_session(), services().settings, (request.form.get("token") or "")[:2000])
    db_session().commit()
    return _confirm_result(result)


def _confirm_result(result):
    status, message = senders.confirm_message(result)
    return render_template("web/confirm.html", state=result.state, title=CONFIRM_TITLES[result.state],
                           message=message, next_step=NEXT_STEPS[result.state],
                           signed_in=session_user() is not None), status
