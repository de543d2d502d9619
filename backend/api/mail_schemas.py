"""marshmallow schemas of threads, messages and links."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..models.mail import LINK_TYPES


class LinkSchema(Schema):
    id = fields.Int(dump_only=True)
    item_type = fields.Str(required=True, validate=validate.OneOf(LINK_TYPES))
    item_id = fields.Int(required=True, validate=validate.Range(min=1))
    origin = fields.Str(dump_only=True)
    rule = fields.Str(dump_only=True, allow_none=True, metadata={
        "description": "The link rule that made it (item-address, contacts, contact-leads, contact-projects, "
                       "only-open-deal); null when linked by hand"})
    reason = fields.Str(dump_only=True, metadata={"description": "Why, in words, true now"})
    title = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ThreadSchema(Schema):
    id = fields.Int(dump_only=True)
    subject = fields.Str(dump_only=True)
    snippet = fields.Str(dump_only=True)
    owner_id = fields.Int(dump_only=True)
    shared = fields.Bool(dump_only=True)
    needs_deal_choice = fields.Bool(dump_only=True)
    auto = fields.Bool(dump_only=True)
    message_count = fields.Int(dump_only=True)
    first_message_at = fields.DateTime(dump_only=True)
    last_message_at = fields.DateTime(dump_only=True)


class AcceptSuggestionSchema(Schema):
    deal_id = fields.Int(validate=validate.Range(min=1, max=2**63 - 1), metadata={
        "description": "The top suggestion the rep was shown; 409 when it is no longer that (or was closed or "
                       "deleted). Left out: whatever is ranked first now"})


class ThreadPatchSchema(Schema):
    deal_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    lead_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    project_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    shared = fields.Bool()


class CreateItemSchema(Schema):
    type = fields.Str(required=True, validate=validate.OneOf(LINK_TYPES))
    title = fields.Str(validate=validate.Length(min=1, max=300))
    name = fields.Str(validate=validate.Length(min=1, max=200))
    email = fields.Email()
    person_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    organization_id = fields.Int(allow_none=True, validate=validate.Range(min=1))
    value = fields.Decimal(allow_none=True, places=2, validate=validate.Range(min=0))
    currency = fields.Str(allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$"))


class ParticipantSchema(Schema):
    role = fields.Str()
    email = fields.Str()
    name = fields.Str()
    person_id = fields.Int(allow_none=True)
    user_id = fields.Int(allow_none=True)


class AttachmentSchema(Schema):
    id = fields.Int()
    filename = fields.Str(allow_none=True)
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    inline = fields.Bool()


class MessageSchema(Schema):
    id = fields.Int(dump_only=True)
    thread_id = fields.Int(dump_only=True)
    owner_id = fields.Int(dump_only=True)
    subject = fields.Str(dump_only=True)
    sent_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    sender = fields.Method("_sender", dump_only=True)
    snippet = fields.Str(dump_only=True)
    message_id_header = fields.Str(dump_only=True, data_key="message_id")
    forwarded_by = fields.Method("_forwarded_by", dump_only=True)
    auto_kind = fields.Str(dump_only=True, allow_none=True)
    participants = fields.List(fields.Nested(ParticipantSchema), dump_only=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), dump_only=True)
    defects = fields.List(fields.Str(), dump_only=True)

    def _sender(self, obj):
        return {"email": obj.sender_email, "name": obj.sender_name}

    def _forwarded_by(self, obj):
        if not obj.forwarded_by_email:
            return None
        return {"email": obj.forwarded_by_email, "user_id": obj.forwarded_by_user_id}


# The inbox filters of GET /mailbox/mailThreads (backend/domain/inbox_filters.py): bad values are a 400
# with errors.<parameter>.
INBOX_FILTER_PARAMS = (
    ("filter", "string", "Only threads passing these filters (repeat it, or separate names by commas): "
                         "needs_deal (waits for a deal to be chosen), not_linked (no deal, lead or project), mine, "
                         "shared_with_me, with_attachments (inline images do not count)."),
    ("person_id", "integer", "Only threads with mail from or to this person, or linked to them."),
    ("organization_id", "integer", "Only the organisation's conversations: threads with mail from or to one of its "
                                   "persons, or linked to one of its persons, deals, leads or projects (the "
                                   "organisation's page lists the same)."),
    ("after", "string", "YYYY-MM-DD (UTC): only threads whose last message is on or after this day."),
    ("before", "string", "YYYY-MM-DD (UTC): only threads whose first message is before this day."),
)
