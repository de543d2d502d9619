"""marshmallow schemas of the CRM resources; one per resource, ``partial=True`` for updates."""
from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..models.crm import DEAL_STATUSES


class Text(fields.Str):
    """A string with its surrounding spaces removed: "   " is blank, as the forms see it."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def Title(item_type: str) -> Text:  # noqa: N802
    return _named(f"Give the {item_type} a title.", 300)


def _named(message: str, max_length: int) -> Text:
    return Text(required=True, error_messages={"required": message, "null": message},
                validate=[validate.Length(min=1, error=message),
                          validate.Length(max=max_length, error=f"Keep it to {max_length} characters or fewer.")])


def OptionalText(max_length: int) -> Text:  # noqa: N802
    return Text(allow_none=True, validate=validate.Length(
        max=max_length, error=f"Keep it to {max_length} characters or fewer."))


# Ids are 64-bit JSON integers: 1.5 or "7" is an error (not truncated), and a larger number
# would overflow the database driver instead of failing validation.
OptionalId = lambda: fields.Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))  # noqa: E731
# The largest amount deals.value (NUMERIC(14, 2)) can hold.
MAX_MONEY = Decimal("999999999999.99")
# What the deal form offers as stages; any other is kept as typed.
STAGES = ("Qualified", "Contact made", "Demo scheduled", "Proposal sent", "Negotiation")


class Money(fields.Decimal):
    """Loaded as an exact Decimal, dumped as a JSON number (as documented), not as a string."""

    def _serialize(self, value, attr, obj, **kwargs):
        number = super()._serialize(value, attr, obj, **kwargs)
        return None if number is None else float(number)


class PersonEmailSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320),
                         error_messages={"invalid": "Use an email address such as name@example.com."})
    label = fields.Str(load_default="work", validate=validate.Length(max=32))
    primary = fields.Bool(load_default=False)


PHONE_HINT = "Use digits, spaces and + - ( ) . only, such as +44 20 7946 0958."
_PHONE = re.compile(r"\+?[0-9 ().\-/]*")


def _phone_number(value: str) -> None:
    """One message a number: its characters first, then enough digits."""
    if not _PHONE.fullmatch(value):
        raise ValidationError(PHONE_HINT)
    if sum(c.isdigit() for c in value) < 5:
        raise ValidationError("Give at least 5 digits.")


class PersonPhoneSchema(Schema):
    phone = Text(required=True, validate=[_phone_number, validate.Length(
        max=40, error="Keep it to 40 characters or fewer.")])
    label = fields.Str(load_default="work", validate=validate.Length(max=32))


class PersonSchema(Schema):
    id = fields.Int(dump_only=True)
    name = _named("Give the person a name.", 200)
    emails = fields.List(fields.Nested(PersonEmailSchema), load_default=list,
                         validate=validate.Length(max=50))
    phones = fields.List(fields.Nested(PersonPhoneSchema), load_default=list,
                         validate=validate.Length(max=20, error="At most 20 phone numbers."))
    organization_id = OptionalId()
    owner_id = OptionalId()
    created_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _distinct_emails(self, data, **_kwargs):
        seen = set()
        for entry in data.get("emails") or []:
            key = entry["email"].strip().lower()
            if key in seen:
                raise ValidationError(f"{entry['email']} is listed twice.", "emails")
            seen.add(key)


class OrganizationSchema(Schema):
    id = fields.Int(dump_only=True)
    name = _named("Give the organization a name.", 200)
    owner_id = OptionalId()
    created_at = fields.DateTime(dump_only=True)


class DealSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title("deal")
    person_id = OptionalId()
    organization_id = OptionalId()
    owner_id = OptionalId()
    status = fields.Str(load_default="open", validate=validate.OneOf(DEAL_STATUSES, error="Use open, won or lost."))
    value = Money(allow_none=True, as_string=False, places=2,
                  validate=validate.Range(min=0, max=MAX_MONEY,
                                          error="Use an amount from 0 to 999,999,999,999.99."),
                  error_messages={"invalid": "Use a number such as 12500 or 12500.50.",
                                  "special": "Use a number such as 12500 or 12500.50."})
    currency = fields.Str(allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use a 3-letter ISO code such as EUR."))
    # Free text: each company names its own steps (STAGES are what the form offers).
    stage = OptionalText(60)
    expected_close_date = fields.Date(allow_none=True, error_messages={
        "invalid": "Use a date such as 2027-03-31."})
    # Why a lost deal was lost; kept only while the deal is lost (backend/domain/editing.py).
    lost_reason = OptionalText(300)
    bcc_address = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class LeadSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title("lead")
    person_id = OptionalId()
    organization_id = OptionalId()
    owner_id = OptionalId()
    bcc_address = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProjectSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title("project")
    person_id = OptionalId()
    organization_id = OptionalId()
    owner_id = OptionalId()
    description = fields.Str(allow_none=True, validate=validate.Length(max=20000))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class UserSchema(Schema):
    id = fields.Int(dump_only=True)
    company_id = fields.Int(dump_only=True)
    email = fields.Str(dump_only=True)
    name = fields.Str(dump_only=True)
    role = fields.Str(dump_only=True)
    link_emails_to_items = fields.Bool(dump_only=True)
    default_sharing = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
