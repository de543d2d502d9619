"""marshmallow schemas of the CRM resources; one per resource, ``partial=True`` for updates."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..models.crm import DEAL_STATUSES

Title = lambda: fields.Str(required=True, validate=validate.Length(min=1, max=300))  # noqa: E731
# Ids are 64-bit JSON integers: 1.5 or "7" is an error (not truncated), and a larger number
# would overflow the database driver instead of failing validation.
OptionalId = lambda: fields.Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1))  # noqa: E731
# The largest amount deals.value (NUMERIC(14, 2)) can hold.
MAX_MONEY = Decimal("999999999999.99")


class Money(fields.Decimal):
    """Loaded as an exact Decimal, dumped as a JSON number (as documented), not as a string."""

    def _serialize(self, value, attr, obj, **kwargs):
        number = super()._serialize(value, attr, obj, **kwargs)
        return None if number is None else float(number)


class PersonEmailSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    label = fields.Str(load_default="work", validate=validate.Length(max=32))
    primary = fields.Bool(load_default=False)


class PersonSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    emails = fields.List(fields.Nested(PersonEmailSchema), load_default=list,
                         validate=validate.Length(max=50))
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
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    owner_id = OptionalId()
    created_at = fields.DateTime(dump_only=True)


class DealSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title()
    person_id = OptionalId()
    organization_id = OptionalId()
    owner_id = OptionalId()
    status = fields.Str(load_default="open", validate=validate.OneOf(DEAL_STATUSES))
    value = Money(allow_none=True, as_string=False, places=2,
                  validate=validate.Range(min=0, max=MAX_MONEY))
    currency = fields.Str(allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use a 3-letter ISO code such as EUR."))
    bcc_address = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class LeadSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title()
    person_id = OptionalId()
    organization_id = OptionalId()
    owner_id = OptionalId()
    bcc_address = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProjectSchema(Schema):
    id = fields.Int(dump_only=True)
    title = Title()
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
