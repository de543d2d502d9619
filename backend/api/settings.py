"""Settings > Smart Bcc: the company address, accepted sender addresses, auto-link and sharing defaults."""
from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, fields, validate

from ..accounts import AccountError, change_company_domain
from ..domain import dealevidence, dealrank, history, senders
from .auth import login_required
from .common import actor, db_session, json_body, ok, services
from .errors import ApiError
from .openapi import document

bp = Blueprint("settings", __name__)


class SmartBccSettingsSchema(Schema):
    link_emails_to_items = fields.Bool()
    default_sharing = fields.Str(validate=validate.OneOf(("private", "shared")))
    company_domain = fields.Str(validate=validate.Length(min=3, max=253))
    sender_verification = fields.Str(validate=validate.OneOf(("off", "flag", "reject")))
    # What happens when a conversation's contacts have several open deals (admins; dealrank.py).
    deal_choice_policy = fields.Str(validate=validate.OneOf(
        dealrank.POLICIES, error=f"Use one of: {', '.join(dealrank.POLICIES)}."))
    deal_choice_threshold = fields.Float(validate=validate.Range(
        min=0, max=1, error="Use a number from 0 to 1, such as 0.6."))
    deal_choice_margin = fields.Float(validate=validate.Range(
        min=0, max=1, error="Use a number from 0 to 1, such as 0.3."))
    # Days of a person's unlinked conversations a new deal, lead or project takes in (admins; history.py).
    history_catch_up_days = fields.Int(strict=True, validate=validate.Range(
        min=0, max=history.MAX_DAYS, error=history.DAYS_HINT), error_messages={"invalid": history.DAYS_HINT})


class AlternativeAddressSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class ConfirmSchema(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


document("/settings/smart-bcc", "get", "Smart Bcc settings of the caller and the company")
document("/settings/smart-bcc", "patch", "Change auto-linking, default sharing or (admins) the company domain, "
         "sender verification, the deal choice policy (ask, suggest, auto_when_confident) and "
         "history_catch_up_days (0-365, 0 = off: the days of a person's unlinked conversations a new deal, lead "
         "or project takes in)",
         request=SmartBccSettingsSchema())
document("/users/me/alternative-addresses", "get", "Your alternative sender addresses")
document("/users/me/alternative-addresses", "post",
         "Add an address; a confirmation mail is sent to it, and `confirmation` says where it went",
         request=AlternativeAddressSchema())
document("/users/me/alternative-addresses/{id}", "delete", "Remove an alternative address")
document("/users/me/alternative-addresses/{id}/resend", "post",
         "Send the confirmation mail again; `confirmation` says where it went")
document("/alternative-addresses/confirm", "post", "Confirm an address with the token from the mail",
         request=ConfirmSchema())


def smart_bcc_settings() -> dict:
    data = senders.smart_bcc_settings(db_session(), services().settings, actor())
    data.update(dealevidence.policy_settings(g.user.company))
    data["history_catch_up_days"] = g.user.company.history_catch_up_days
    return data


@bp.get("/settings/smart-bcc")
@login_required
def get_settings():
    return ok(smart_bcc_settings())


@bp.patch("/settings/smart-bcc")
@login_required
def patch_settings():
    data = SmartBccSettingsSchema().load(json_body())
    if "company_domain" in data:
        if not g.user.is_admin:
            raise ApiError(403, "Only a company admin can change the company domain; ask your admin.",
                           {"company_domain": ["Admins only."]})
        try:
            change_company_domain(db_session(), g.user.company, data["company_domain"],
                                  services().settings.old_address_grace_days)
        except AccountError as exc:
            raise ApiError(400, str(exc), {"company_domain": [str(exc)]}) from exc
    if "sender_verification" in data:
        if not g.user.is_admin:
            raise ApiError(403, "Only a company admin can change sender verification; ask your admin.",
                           {"sender_verification": ["Admins only."]})
        g.user.company.sender_auth_policy = data["sender_verification"]
    if any(key in data for key in ("deal_choice_policy", "deal_choice_threshold", "deal_choice_margin")):
        dealevidence.set_policy(actor(), g.user.company, policy=data.get("deal_choice_policy"),
                                threshold=data.get("deal_choice_threshold"), margin=data.get("deal_choice_margin"))
    if "history_catch_up_days" in data:
        history.set_days(actor(), g.user.company, data["history_catch_up_days"])
    for key in ("link_emails_to_items", "default_sharing"):
        if key in data:
            setattr(g.user, key, data[key])
    db_session().commit()
    return ok(smart_bcc_settings())


def _mail_confirmation(entry, resend: bool = False):
    """Asks for the confirmation mail: committed first, then sent by the job runner (never by
    this request); the answer says where the mail goes."""
    confirmation = senders.request_confirmation(db_session(), services().settings, entry, resend=resend)
    db_session().commit()
    services().jobs.enqueue(senders.SEND_CONFIRMATION, confirmation.address_id, confirmation.nonce)
    failed = senders.not_sent(db_session(), confirmation)
    data = senders.alternative_json(entry)
    data["confirmation"] = confirmation.as_json()
    if failed:
        data["confirmation"].update(sent_to="failed", message=failed)
        data.update(confirmation_sent_at=None, confirmation_failed=True)
    return data


@bp.get("/users/me/alternative-addresses")
@login_required
def list_alternatives():
    return ok([senders.alternative_json(r) for r in senders.alternatives(db_session(), actor())])


@bp.post("/users/me/alternative-addresses")
@login_required
def add_alternative():
    data = AlternativeAddressSchema().load(json_body())
    entry = senders.add_address(db_session(), services().settings, actor(), data["email"])
    return ok(_mail_confirmation(entry), 201)


@bp.post("/users/me/alternative-addresses/<int:address_id>/resend")
@login_required
def resend_alternative(address_id: int):
    entry = senders.own_address(db_session(), actor(), address_id)
    return ok(_mail_confirmation(entry, resend=True))


@bp.delete("/users/me/alternative-addresses/<int:address_id>")
@login_required
def delete_alternative(address_id: int):
    entry = senders.own_address(db_session(), actor(), address_id)
    db_session().delete(entry)
    db_session().commit()
    return ok({"id": address_id, "deleted": True})


@bp.post("/alternative-addresses/confirm")
def confirm_alternative():
    data = ConfirmSchema().load(json_body())
    result = senders.confirm(db_session(), services().settings, data["token"])
    db_session().commit()
    status, message = senders.confirm_message(result)
    if status != 200:
        raise ApiError(status, message, {"token": [result.state]})
    return ok({"state": result.state, "email": result.email, "message": message})
