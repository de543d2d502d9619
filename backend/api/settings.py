"""Settings > Smart Bcc: the company address, accepted sender addresses, auto-link and sharing defaults."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, g
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import addresses
from ..accounts import AccountError, change_company_domain
from ..alt_addresses import add_address, confirm, send_confirmation
from ..mailer import MailError
from ..models import CompanyAddressAlias, SenderAddress
from .auth import login_required
from .common import db_session, json_body, ok, services
from .errors import ApiError
from .openapi import document

bp = Blueprint("settings", __name__)


class SmartBccSettingsSchema(Schema):
    link_emails_to_items = fields.Bool()
    default_sharing = fields.Str(validate=validate.OneOf(("private", "shared")))
    company_domain = fields.Str(validate=validate.Length(min=3, max=253))
    sender_verification = fields.Str(validate=validate.OneOf(("off", "flag", "reject")))


class AlternativeAddressSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class ConfirmSchema(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


document("/settings/smart-bcc", "get", "Smart Bcc settings of the caller and the company")
document("/settings/smart-bcc", "patch", "Change auto-linking, default sharing or (admins) the company domain",
         request=SmartBccSettingsSchema())
document("/users/me/alternative-addresses", "get", "Your alternative sender addresses")
document("/users/me/alternative-addresses", "post", "Add an address; a confirmation mail is sent to it",
         request=AlternativeAddressSchema())
document("/users/me/alternative-addresses/{id}", "delete", "Remove an alternative address")
document("/users/me/alternative-addresses/{id}/resend", "post", "Send the confirmation mail again")
document("/alternative-addresses/confirm", "post", "Confirm an address with the token from the mail",
         request=ConfirmSchema())


def alternative_json(entry: SenderAddress) -> dict:
    return {"id": entry.id, "email": entry.email, "kind": "alternative",
            "status": "verified" if entry.verified_at else "pending",
            "verified_at": entry.verified_at.isoformat() if entry.verified_at else None,
            "confirmation_sent_at": entry.confirmation_sent_at.isoformat() if entry.confirmation_sent_at else None}


def smart_bcc_settings() -> dict:
    user, company = g.user, g.user.company
    mail_domain = services().settings.mail_domain
    now = datetime.now(timezone.utc)
    aliases = db_session().scalars(select(CompanyAddressAlias).where(
        CompanyAddressAlias.company_id == company.id, CompanyAddressAlias.expires_at > now)
        .order_by(CompanyAddressAlias.expires_at.desc()))
    alternatives = db_session().scalars(select(SenderAddress).where(
        SenderAddress.user_id == user.id).order_by(SenderAddress.id))
    return {
        "company_address": addresses.company_address(company.slug, mail_domain),
        "company_domain": company.domain,
        "previous_addresses": [{"address": addresses.company_address(a.slug, mail_domain),
                                "accepted_until": a.expires_at.isoformat()} for a in aliases],
        "accepted_addresses": [{"id": None, "email": user.email, "kind": "account", "status": "verified"}]
        + [alternative_json(a) for a in alternatives],
        "link_emails_to_items": user.link_emails_to_items,
        "default_sharing": user.default_sharing,
        "can_change_domain": user.is_admin,
        "sender_verification": company.sender_auth_policy,
        "old_address_grace_days": services().settings.old_address_grace_days,
    }


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
    for key in ("link_emails_to_items", "default_sharing"):
        if key in data:
            setattr(g.user, key, data[key])
    db_session().commit()
    return ok(smart_bcc_settings())


def _own_address(address_id: int) -> SenderAddress:
    entry = db_session().scalar(select(SenderAddress).where(
        SenderAddress.id == address_id, SenderAddress.user_id == g.user.id))
    if entry is None:
        raise ApiError(404, "No such address in your list.")
    return entry


def _mail_confirmation(entry: SenderAddress) -> None:
    try:
        send_confirmation(db_session(), services().settings, entry)
    except MailError as exc:
        db_session().rollback()
        raise ApiError(503, f"The confirmation mail could not be sent: {exc}. Try 'resend' later.") from exc


@bp.get("/users/me/alternative-addresses")
@login_required
def list_alternatives():
    rows = db_session().scalars(select(SenderAddress).where(SenderAddress.user_id == g.user.id)
                                .order_by(SenderAddress.id))
    return ok([alternative_json(r) for r in rows])


@bp.post("/users/me/alternative-addresses")
@login_required
def add_alternative():
    data = AlternativeAddressSchema().load(json_body())
    try:
        entry = add_address(db_session(), services().settings, g.user, data["email"])
    except AccountError as exc:
        raise ApiError(400, str(exc), {"email": [str(exc)]}) from exc
    _mail_confirmation(entry)
    db_session().commit()
    return ok(alternative_json(entry), 201)


@bp.post("/users/me/alternative-addresses/<int:address_id>/resend")
@login_required
def resend_alternative(address_id: int):
    entry = _own_address(address_id)
    if entry.verified_at is not None:
        raise ApiError(400, f"{entry.email} is already confirmed; nothing to resend.")
    _mail_confirmation(entry)
    db_session().commit()
    return ok(alternative_json(entry))


@bp.delete("/users/me/alternative-addresses/<int:address_id>")
@login_required
def delete_alternative(address_id: int):
    entry = _own_address(address_id)
    db_session().delete(entry)
    db_session().commit()
    return ok({"id": address_id, "deleted": True})


CONFIRM_MESSAGES = {
    "verified": (200, "{email} is confirmed: Smart Bcc now accepts mail sent from it."),
    "expired": (410, "This confirmation link has expired. Open Settings > Smart Bcc and choose 'resend'."),
    "used": (409, "This link was already used; {email} is confirmed. Nothing more to do."),
    "replaced": (410, "A newer confirmation mail was sent for {email}; use the link in the newest mail."),
    "unknown": (404, "This confirmation link is not valid. Copy the whole link from the mail, or resend it "
                     "from Settings > Smart Bcc."),
}


@bp.post("/alternative-addresses/confirm")
def confirm_alternative():
    data = ConfirmSchema().load(json_body())
    result = confirm(db_session(), services().settings, data["token"])
    db_session().commit()
    status, text = CONFIRM_MESSAGES[result.state]
    message = text.format(email=result.email or "the address")
    if status != 200:
        raise ApiError(status, message, {"token": [result.state]})
    return ok({"state": result.state, "email": result.email, "message": message})
