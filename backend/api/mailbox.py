"""The mailbox: threads, messages, their links to CRM items, sharing and deleting."""
from __future__ import annotations


from flask import Blueprint, g, request
from marshmallow import Schema, fields
from sqlalchemy import BigInteger, Select, bindparam, select

from .. import models as m
from ..models import Attachment, InboundRecord, MailMessage, MailThread, Participant, ThreadLink
from .auth import login_required
from .common import db_session, get_or_404, json_body, ok, paginated, pagination, paging, services
from .fastdump import RowDump
from .mail_schemas import (AcceptSuggestionSchema, AttachmentSchema, CreateItemSchema, LinkSchema, MessageSchema,
                           INBOX_FILTER_PARAMS, ParticipantSchema, ThreadPatchSchema, ThreadSchema)
from .openapi import FLAG, document
from .prepared import Children, children_of, prepared, rows_by
from ..domain import manual, privacy, reasons, threads
from ..domain.errors import DomainError as ApiError
from ..domain.items import link_title, link_titles
from ..domain.inbox import inbox_page
from ..domain.inbox_filters import read_filters
from ..domain.visibility import ANY_ACTOR, actor_params, message_for, thread_for, visible_arrivals
from ..request_scope import actor, attachment_response

bp = Blueprint("mailbox", __name__)


# What one thread adds when it waits for a deal (documentation only: built by domain/manual.py).
class EvidenceSchema(Schema):
    rule = fields.Str(metadata={"description": "address-used, linked-before, similar-text, sender-owns, "
                                               "recent-activity or unlinked-by-hand"})
    points = fields.Float()
    reason = fields.Str()


class DealCandidateSchema(Schema):
    item_type = fields.Str()
    id = fields.Int()
    title = fields.Str()
    person_name = fields.Str()
    score = fields.Float(metadata={"description": "0-1: the evidence's points over 100"})
    reasons = fields.List(fields.Str(), metadata={"description": "The evidence, in words a rep reads"})
    evidence = fields.List(fields.Nested(EvidenceSchema))


class DealChoiceSchema(Schema):
    policy = fields.Str(metadata={"enum": ["ask", "suggest", "auto_when_confident"]})
    candidates = fields.List(fields.Nested(DealCandidateSchema), metadata={"description": "Best first"})
    top = fields.Nested(DealCandidateSchema, allow_none=True)
    suggested = fields.Nested(DealCandidateSchema, allow_none=True, metadata={
        "description": "Pre-selected under the suggest policy; null otherwise"})


class VisibilityOfferSchema(Schema):
    current = fields.Str(metadata={"enum": ["private", "shared"]})
    offered = fields.Str(metadata={"enum": ["private", "shared"]})
    can_act = fields.Bool(metadata={"description": "You own the thread, so you may accept or dismiss it"})
    text = fields.Str()


class ThreadDetailSchema(ThreadSchema):
    deal_choice = fields.Nested(DealChoiceSchema, allow_none=True, dump_only=True, metadata={
        "description": "One thread only (not lists): when it needs a deal, the ranked candidates"})
    visibility_offer = fields.Nested(VisibilityOfferSchema, allow_none=True, dump_only=True, metadata={
        "description": "A later mail was marked private or shared in the add-in and differs: the change offered "
                       "to the owner (accept or dismiss it); null when there is none"})



thread_schema, message_schema, link_schema = ThreadSchema(), MessageSchema(), LinkSchema()

document("/mailbox/mailThreads", "get", "Threads you can see, newest first", response=thread_schema, many=True,
         paged=True, query=(
             ("q", "string", "Full-text search: words, \"phrases\", an address or domain, from:, to:, deal:, "
                             "has:attachment, -term (see the README)."),
             ("include_auto", FLAG, "Also automatic mail (bounces, out-of-office replies)."),
             ("needs_deal_choice", FLAG, "Only threads whose contact has several open deals to choose from."),
             ("include_total", FLAG, "Add additional_data.pagination.total, the number of matching threads "
                                     "(costs a count of all of them)."), *INBOX_FILTER_PARAMS))
document("/mailbox/mailThreads/{id}", "get", "One thread with its links and, when it needs a deal, the ranked "
         "candidates (deal_choice)", response=ThreadDetailSchema())
document("/mailbox/mailThreads/{id}/accept-suggestion", "post",
         "Link the thread to its top-ranked deal; 409 when that deal was closed or deleted meanwhile",
         request=AcceptSuggestionSchema(), response=ThreadDetailSchema())
document("/mailbox/mailThreads/{id}", "patch", "Link to a deal/lead/project, or share", request=ThreadPatchSchema())
document("/mailbox/mailThreads/{id}/visibility-offer/{answer}", "post", "accept: give the thread the visibility "
         "a later mail was marked with; dismiss: keep it and drop the offer (owner only; 409 when none is left)",
         response=ThreadDetailSchema(), status=200, string_params=("answer",))
document("/mailbox/mailThreads/{id}/mailMessages", "get", "The messages of a thread, oldest first",
         response=message_schema, many=True, query=(("include_body", FLAG, "Add body_text and body_html."),))
document("/mailbox/mailThreads/{id}/links", "post", "Link the thread to an item", request=link_schema)
document("/mailbox/mailThreads/{id}/links/{item_type}/{item_id}", "delete", "Unlink one item from the thread",
         string_params=("item_type",))
document("/mailbox/mailThreads/{id}/create-item", "post", "Create an item from the thread and link it",
         request=CreateItemSchema())
document("/mailbox/mailMessages/{id}", "get", "One message", response=message_schema,
         query=(("include_body", FLAG, "Add body_text and body_html."),))
document("/mailbox/mailMessages/{id}/attachments/{attachment_id}", "get", "Download one attachment")
document("/mailbox/mailMessages/{id}", "delete", "Delete a message from the mailbox and every item view")


# Page-sized lists are dumped in a constant number of queries, whatever their length: the
# children of all rows are loaded together rather than one lazy load (or lookup) per row. They
# are read as plain rows (only the columns the answer shows), not as ORM objects: building and
# tracking a few hundred objects per page cost more than the queries (bench/mailbox.py); their
# statements are built once (prepared.py) and the rows dumped by position (fastdump.row_dumper).


def _columns(model, schema, *extra: str) -> tuple:
    """The model's columns that ``schema`` dumps (by attribute name), plus ``extra``."""
    table = model.__table__.c
    names = [field.attribute or name for name, field in schema.dump_fields.items()] + list(extra)
    return tuple(dict.fromkeys(table[n] for n in names if n in table))


participant_schema, attachment_schema = ParticipantSchema(), AttachmentSchema()
# The message itself, without the lists that come from other tables (added by dump_messages).
message_head_schema = MessageSchema(exclude=("participants", "attachments"))
THREAD_COLUMNS = _columns(MailThread, thread_schema)
LINK_COLUMNS = _columns(ThreadLink, link_schema, "thread_id", "id", "origin", "rule", "facts", "reason", "removed",
                        "created_at", "created_by_id")
MESSAGE_COLUMNS = _columns(MailMessage, message_head_schema, "sender_email", "sender_name",
                           "forwarded_by_email", "forwarded_by_user_id")
BODY_COLUMNS = (MailMessage.body_text, MailMessage.body_html)
PARTICIPANT_COLUMNS = _columns(Participant, participant_schema, "message_id")
ATTACHMENT_COLUMNS = _columns(Attachment, attachment_schema, "message_id")
ARRIVAL_COLUMNS = (InboundRecord.id, InboundRecord.message_id, InboundRecord.source, InboundRecord.status,
                   InboundRecord.received_at, InboundRecord.decisions)


# A message's lists, read for a page of messages by one statement (prepared.children_of). "company_id
# + 0" keeps the arrivals' company filter but stops SQLite (no statistics) from walking the whole
# company's arrivals through its company_id index instead of message_id's.
MESSAGE_CHILDREN = (Children("participants", PARTICIPANT_COLUMNS, Participant.message_id),
                    Children("attachments", ATTACHMENT_COLUMNS, Attachment.message_id),
                    Children("arrivals", ARRIVAL_COLUMNS, InboundRecord.message_id,
                             ((InboundRecord.company_id + 0) == bindparam("company_id"),), company=True))

# A list's links with their items' titles (built once here: the expression costs more to build than to run).
LIVE_LINK_COLUMNS = LINK_COLUMNS + (link_title().label("title"),)

THREAD_DUMP, LINK_DUMP = RowDump(thread_schema, THREAD_COLUMNS), RowDump(link_schema, LINK_COLUMNS)
MESSAGE_DUMP = RowDump(message_head_schema, MESSAGE_COLUMNS)
PARTICIPANT_DUMP = RowDump(participant_schema, PARTICIPANT_COLUMNS)
ATTACHMENT_DUMP = RowDump(attachment_schema, ATTACHMENT_COLUMNS)

def dump_threads(threads_: list) -> list[dict]:
    """Threads (objects or rows) with their live links (titled, with the reason worded now) and
    last sender: a fixed number of queries for any number."""
    if not threads_:
        return []
    session = db_session()
    ids = [t.id for t in threads_]
    live = rows_by(ids, LIVE_LINK_COLUMNS, ThreadLink.thread_id, "live links", ThreadLink.removed.is_(False))
    all_links = [lk for links in live.values() for lk in links]
    titles = link_titles(all_links)
    why = reasons.describe(session, g.company_id, all_links, item_titles=titles)
    last = threads.last_messages(session, g.company_id, ids)
    dump_thread_row, dump_link_row = THREAD_DUMP.of(threads_), LINK_DUMP.fast  # links: rows of rows_by
    out = []
    for thread in threads_:
        data = dump_thread_row(thread)
        links = data["links"] = []
        for lk in live[thread.id]:
            link = dump_link_row(lk)
            link["title"] = titles.get((lk.item_type, lk.item_id), "")
            link["reason"] = why.get(lk.id, lk.reason)
            links.append(link)
        newest = last.get(thread.id)
        data["last_sender"] = {"email": newest.sender_email, "name": newest.sender_name,
                               "user_id": newest.sender_user_id} if newest else None
        out.append(data)
    return out


def dump_thread(thread: MailThread) -> dict:
    """One thread, with the ranked deal candidates when it waits for a deal (lists leave them out)."""
    data = dump_threads([thread])[0]
    data["deal_choice"] = manual.deal_choice(db_session(), actor(), thread)
    data["visibility_offer"] = privacy.offer_json(thread, actor())
    return data


def dump_messages(messages: list, include_body: bool = False) -> list[dict]:
    """Messages (objects or rows) with participants, attachments and arrivals: one query for any
    number (per 500 messages)."""
    if not messages:
        return []
    participants, attachments, arrivals = children_of([msg.id for msg in messages], MESSAGE_CHILDREN)
    dump_head = MESSAGE_DUMP.of(messages)
    dump_participant, dump_attachment = PARTICIPANT_DUMP.fast, ATTACHMENT_DUMP.fast  # tuples of children_of
    out = []
    for message in messages:
        data = dump_head(message)
        data["participants"] = [dump_participant(p) for p in participants[message.id]]
        data["attachments"] = [dump_attachment(a) for a in attachments[message.id]]
        if include_body:
            data["body_text"] = message.body_text
            data["body_html"] = message.body_html
        data["arrivals"] = [{"id": r_id, "source": source, "status": status,
                             "received_at": received_at.isoformat(), "decisions": decisions}
                            for r_id, _message, source, status, received_at, decisions in arrivals[message.id]]
        out.append(data)
    return out


def dump_message(message: MailMessage, include_body: bool = False) -> dict:
    return dump_messages([message], include_body)[0]


def message_rows(query: Select, include_body: bool = False) -> Select:
    """``query`` (of MailMessage) reading only what dump_messages shows."""
    return query.with_only_columns(*MESSAGE_COLUMNS, *(BODY_COLUMNS if include_body else ()))


class _Dump:
    def __init__(self, fn):
        self.fn = fn

    def dump(self, rows, many=True):
        return [self.fn(r) for r in rows]


@bp.get("/mailbox/mailThreads")
@login_required
def list_threads():
    start, limit = paging()
    page = inbox_page(db_session(), actor(), request.args.get("q") or "", request.args.get("include_auto") in ("1", "true"), start, limit,
                      needs_deal_choice=request.args.get("needs_deal_choice") in ("1", "true"),
                      with_total=request.args.get("include_total") in ("1", "true"),
                      filters=read_filters(db_session(), actor(), request.args), columns=THREAD_COLUMNS)
    return ok(dump_threads(page.rows), additional={"pagination": pagination(start, limit, page.more, page.total)})


@bp.get("/mailbox/mailThreads/<int:thread_id>")
@login_required
def get_thread(thread_id: int):
    return ok(dump_thread(thread_for(db_session(), actor(), thread_id)))


@bp.get("/mailbox/mailThreads/<int:thread_id>/mailMessages")
@login_required
def thread_messages(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    include_body = request.args.get("include_body") in ("1", "true")
    # Lists leave the bodies in the database unless asked for: they can be megabytes per message.
    query = prepared(("thread messages", include_body), lambda _dialect: message_rows(select(MailMessage).where(
        MailMessage.thread_id == bindparam("thread_id"), MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at, MailMessage.id), include_body))
    return ok(dump_messages(db_session().execute(query, {"thread_id": thread.id}).all(), include_body))


@bp.patch("/mailbox/mailThreads/<int:thread_id>")
@login_required
def patch_thread(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    data = ThreadPatchSchema().load(json_body())
    session, who = db_session(), actor()
    if "shared" in data:
        manual.share(who, thread, data["shared"])
    for field, item_type in (("deal_id", "deal"), ("lead_id", "lead"), ("project_id", "project")):
        if field not in data:
            continue
        if data[field] is None:
            for lk in manual.live_links(thread, item_type):
                manual.unlink(who, thread, lk)
        elif item_type == "deal":
            # Setting deal_id replaces the thread's deal, the way a rep picks one.
            manual.set_deal(session, who, thread, data[field], field)
        else:
            for lk in manual.live_links(thread, item_type):
                if lk.item_id != data[field]:
                    manual.unlink(who, thread, lk)
            manual.link(session, who, thread, item_type, data[field], field)
    db_session().commit()
    return ok(dump_thread(thread))


@bp.post("/mailbox/mailThreads/<int:thread_id>/links")
@login_required
def post_link(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    data = link_schema.load(json_body())
    manual.link(db_session(), actor(), thread, data["item_type"], data["item_id"])
    db_session().commit()
    return ok(dump_thread(thread), 201)


@bp.post("/mailbox/mailThreads/<int:thread_id>/accept-suggestion")
@login_required
def accept_suggestion(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    data = AcceptSuggestionSchema().load(json_body() if request.content_length else {})
    manual.accept_suggestion(db_session(), actor(), thread, data.get("deal_id"))
    db_session().commit()
    return ok(dump_thread(thread))


@bp.post("/mailbox/mailThreads/<int:thread_id>/visibility-offer/<answer>")
@login_required
def answer_visibility_offer(thread_id: int, answer: str):
    thread = thread_for(db_session(), actor(), thread_id)
    if answer not in ("accept", "dismiss"):
        raise ApiError(404, "Use …/visibility-offer/accept or …/visibility-offer/dismiss.")
    (privacy.accept_offer if answer == "accept" else privacy.dismiss_offer)(actor(), thread)
    db_session().commit()
    return ok(dump_thread(thread))


@bp.delete("/mailbox/mailThreads/<int:thread_id>/links/<item_type>/<int:item_id>")
@login_required
def delete_link(thread_id: int, item_type: str, item_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    manual.unlink(actor(), thread, manual.live_link(thread, item_type, item_id))
    db_session().commit()
    return ok(dump_thread(thread))


@bp.post("/mailbox/mailThreads/<int:thread_id>/create-item")
@login_required
def post_create_item(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    data = CreateItemSchema().load(json_body())
    item = manual.create_item(db_session(), actor(), thread, data)
    db_session().commit()
    return ok({"item_type": data["type"], "item_id": item.id, "thread": dump_thread(thread)}, 201)


@bp.get("/mailbox/mailMessages/<int:message_id>")
@login_required
def get_message(message_id: int):
    include_body = request.args.get("include_body") in ("1", "true")
    return ok(dump_message(message_for(db_session(), actor(), message_id), include_body))


@bp.get("/mailbox/mailMessages/<int:message_id>/attachments/<int:attachment_id>")
@login_required
def get_attachment(message_id: int, attachment_id: int):
    return attachment_response(message_for(db_session(), actor(), message_id), attachment_id)


@bp.delete("/mailbox/mailMessages/<int:message_id>")
@login_required
def delete_message(message_id: int):
    session = db_session()
    deletion = threads.delete_message(session, actor(), message_id)
    session.commit()
    threads.drop_unused_blobs(session, services().blobs, deletion.blobs)
    return ok({"id": message_id, "deleted": True})


def _item_messages(item_type: str, model):
    def build(_dialect):  # for any actor and item (visibility.ANY_ACTOR), built once
        linked = threads.linked_messages(ANY_ACTOR, item_type, bindparam("item_id", type_=BigInteger))
        return message_rows(linked).offset(bindparam("start")).limit(bindparam("limit"))

    def view(item_id: int):
        get_or_404(model, item_id, item_type)
        start, limit = paging()
        rows = db_session().execute(prepared(("item messages", item_type), build), {
            **actor_params(actor()), "item_id": item_id, "start": start, "limit": limit + 1}).all()
        return ok(dump_messages(rows[:limit]), additional={"pagination": pagination(start, limit, len(rows) > limit)})
    view.__name__ = f"{item_type}_mail_messages"
    return login_required(view)


for _type, _model, _path in (("deal", m.Deal, "deals"), ("lead", m.Lead, "leads"),
                             ("project", m.Project, "projects"), ("person", m.Person, "persons")):
    bp.add_url_rule(f"/{_path}/<int:item_id>/mailMessages", view_func=_item_messages(_type, _model),
                    methods=["GET"])
    document(f"/{_path}/{{id}}/mailMessages", "get", f"Messages of the threads linked to a {_type}, newest first",
             response=message_schema, many=True, paged=True)


@bp.get("/mailbox/inbound")
@login_required
def list_inbound():
    """Arrivals of the caller's mail (admins: the company's), e.g. ``?status=failed``."""
    query = visible_arrivals(actor()).order_by(InboundRecord.id.desc())
    status = request.args.get("status")
    if status:
        query = query.where(InboundRecord.status == status)
    return paginated(query, _Dump(lambda r: {
        "id": r.id, "source": r.source, "status": r.status, "error": r.error,
        "received_at": r.received_at.isoformat(), "message_id": r.message_id,
        "recipients": r.recipients, "decisions": r.decisions}))
