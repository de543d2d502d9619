"""The mailbox: threads, messages, their links to CRM items, sharing and deleting."""
from __future__ import annotations


from flask import Blueprint, g, request
from sqlalchemy import func, inspect, literal, select, union_all
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from .. import models as m
from ..models import Attachment, InboundRecord, MailMessage, MailThread, Participant, ThreadLink
from .auth import login_required
from .common import db_session, get_or_404, json_body, ok, paginated, paging, scoped
from .errors import ApiError
from .linking import MODELS, add_link, create_item, live_link_or_404, remove_link
from .mail_schemas import CreateItemSchema, LinkSchema, MessageSchema, ThreadPatchSchema, ThreadSchema
from .openapi import document
from .visibility import (attachment_response, inbox_threads, message_or_404, messages_linked_to, remove_message,
                         thread_or_404, visibility_parts)

bp = Blueprint("mailbox", __name__)
thread_schema, message_schema, link_schema = ThreadSchema(), MessageSchema(), LinkSchema()

document("/mailbox/mailThreads", "get", "Threads you can see, newest first", response=thread_schema, many=True)
document("/mailbox/mailThreads/{id}", "get", "One thread with its links", response=thread_schema)
document("/mailbox/mailThreads/{id}", "patch", "Link to a deal/lead/project, or share", request=ThreadPatchSchema())
document("/mailbox/mailThreads/{id}/mailMessages", "get", "The messages of a thread", response=message_schema, many=True)
document("/mailbox/mailThreads/{id}/links", "post", "Link the thread to an item", request=link_schema)
document("/mailbox/mailThreads/{id}/links/{item_type}/{item_id}", "delete", "Unlink one item from the thread",
         string_params=("item_type",))
document("/mailbox/mailThreads/{id}/create-item", "post", "Create an item from the thread and link it",
         request=CreateItemSchema())
document("/mailbox/mailMessages/{id}", "get", "One message (?include_body=1 for bodies)", response=message_schema)
document("/mailbox/mailMessages/{id}/attachments/{attachment_id}", "get", "Download one attachment")
document("/mailbox/mailMessages/{id}", "delete", "Delete a message from the mailbox and every item view")


# Page-sized lists are dumped in a constant number of queries, whatever their length: the
# children of all rows are loaded together rather than one lazy load (or lookup) per row.
IN_CHUNK = 500  # ids per IN (...) list; a thread's messages are not paged


def _chunks(ids: list[int]):
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start:start + IN_CHUNK]


def _load_children(parents: list, attr: str, model, key) -> None:
    """Fills the ``attr`` collection of every parent that has not loaded it, with one query per
    IN_CHUNK parents, in the relationship's order (by id)."""
    todo = [p for p in parents if attr in inspect(p).unloaded]
    if not todo:
        return
    found: dict[int, list] = {p.id: [] for p in todo}
    for ids in _chunks(list(found)):
        for child in db_session().scalars(select(model).where(key.in_(ids)).order_by(model.id)):
            found[getattr(child, key.key)].append(child)
    for parent in todo:
        set_committed_value(parent, attr, found[parent.id])


def _link_titles(links: list[ThreadLink]) -> dict[tuple[str, int], str]:
    """Titles (persons: names) of the linked items, in one query over the item types present."""
    wanted: dict[str, set[int]] = {}
    for link in links:
        if link.item_type in MODELS:
            wanted.setdefault(link.item_type, set()).add(link.item_id)
    if not wanted:
        return {}
    parts = []
    for item_type, ids in wanted.items():
        model = MODELS[item_type]
        label = model.name if item_type == "person" else model.title
        parts.append(select(literal(item_type).label("item_type"), model.id.label("id"), label.label("title"))
                     .where(model.company_id == g.company_id, model.id.in_(ids)))
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return {(row.item_type, row.id): row.title or "" for row in db_session().execute(query)}


def _last_senders(thread_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Sender of each thread's newest live message, in one query (one index probe per thread)."""
    newest = (select(MailMessage.id)
              .where(MailMessage.thread_id == MailThread.id, MailMessage.deleted_at.is_(None))
              .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc()).limit(1)
              .correlate(MailThread).scalar_subquery())
    rows = db_session().execute(
        select(MailMessage.thread_id, MailMessage.sender_email, MailMessage.sender_name)
        .where(MailMessage.id.in_(select(newest).where(MailThread.id.in_(thread_ids)))))
    return {thread_id: (email, name) for thread_id, email, name in rows}


def dump_threads(threads: list[MailThread]) -> list[dict]:
    """Threads with their live links (titled) and last sender: three queries for any number."""
    if not threads:
        return []
    _load_children(threads, "links", ThreadLink, ThreadLink.thread_id)
    live = {t.id: [lk for lk in t.links if not lk.removed] for t in threads}
    titles = _link_titles([lk for links in live.values() for lk in links])
    senders = _last_senders([t.id for t in threads])
    out = []
    for thread in threads:
        data = thread_schema.dump(thread)
        data["links"] = [dict(link_schema.dump(lk), title=titles.get((lk.item_type, lk.item_id), ""))
                         for lk in live[thread.id]]
        last = senders.get(thread.id)
        data["last_sender"] = {"email": last[0], "name": last[1]} if last else None
        out.append(data)
    return out


def dump_thread(thread: MailThread) -> dict:
    return dump_threads([thread])[0]


def dump_messages(messages: list[MailMessage], include_body: bool = False) -> list[dict]:
    """Messages with participants, attachments and arrivals: three queries for any number."""
    if not messages:
        return []
    _load_children(messages, "participants", Participant, Participant.message_id)
    _load_children(messages, "attachments", Attachment, Attachment.message_id)
    arrivals: dict[int, list[InboundRecord]] = {msg.id: [] for msg in messages}
    for ids in _chunks(list(arrivals)):
        # "company_id + 0" keeps the company filter but stops SQLite (no statistics) from walking
        # the whole company's arrivals through its company_id index instead of message_id's.
        for record in db_session().scalars(select(InboundRecord).where(
                (InboundRecord.company_id + 0) == g.company_id, InboundRecord.message_id.in_(ids))
                .order_by(InboundRecord.id)):
            arrivals[record.message_id].append(record)
    out = []
    for message in messages:
        data = message_schema.dump(message)
        if include_body:
            data["body_text"] = message.body_text
            data["body_html"] = message.body_html
        data["arrivals"] = [{"id": r.id, "source": r.source, "status": r.status,
                             "received_at": r.received_at.isoformat(), "decisions": r.decisions}
                            for r in arrivals[message.id]]
        out.append(data)
    return out


def dump_message(message: MailMessage, include_body: bool = False) -> dict:
    return dump_messages([message], include_body)[0]


# Lists leave the bodies in the database unless asked for: they can be megabytes per message.
WITHOUT_BODIES = (defer(MailMessage.body_text), defer(MailMessage.body_html))


class _Dump:
    def __init__(self, fn):
        self.fn = fn

    def dump(self, rows, many=True):
        return [self.fn(r) for r in rows]


class _DumpAll:
    """A schema-like object for ``paginated`` that dumps the whole page in one call."""

    def __init__(self, fn):
        self.fn = fn

    def dump(self, rows, many=True):
        return self.fn(list(rows))


@bp.get("/mailbox/mailThreads")
@login_required
def list_threads():
    term = request.args.get("q") or ""
    include_auto = request.args.get("include_auto") in ("1", "true")
    needs_deal_choice = request.args.get("needs_deal_choice") in ("1", "true")

    def inbox(part=None):
        query = inbox_threads(term, include_auto, part=part)
        if needs_deal_choice:
            query = query.where(MailThread.needs_deal_choice.is_(True))
        return query

    def count(query):
        return select(func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()

    query = inbox()
    # Like ``paginated(query, ..., count=True)``, but the page is picked by id first: that walk
    # is index-only (ix_mail_threads_inbox), so a deep page does not read the rows it skips.
    start, limit = paging()
    session = db_session()
    searching = bool(term.strip())
    total = None
    if searching:
        # The search runs once: the total rides along the page (counted before OFFSET/LIMIT).
        rows = session.execute(query.with_only_columns(MailThread.id, func.count().over())
                               .offset(start).limit(limit + 1)).all()
        ids = [row[0] for row in rows]
        if rows or start == 0:
            total = rows[0][1] if rows else 0
    else:
        ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    more = len(ids) > limit
    ids = ids[:limit]
    by_id = {t.id: t for t in session.scalars(select(MailThread).where(MailThread.id.in_(ids)))} if ids else {}
    threads = [by_id[i] for i in ids if i in by_id]
    pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    if total is None:
        if searching:  # a page past the end
            total = session.scalar(select(count(query)))
        else:  # two index ranges rather than the OR tested on every thread of the company
            own, shared = (count(inbox(part)) for part in visibility_parts())
            total = session.scalar(select(own + shared))
    pagination["total"] = total
    return ok(dump_threads(threads), additional={"pagination": pagination})


@bp.get("/mailbox/mailThreads/<int:thread_id>")
@login_required
def get_thread(thread_id: int):
    return ok(dump_thread(thread_or_404(thread_id)))


@bp.get("/mailbox/mailThreads/<int:thread_id>/mailMessages")
@login_required
def thread_messages(thread_id: int):
    thread = thread_or_404(thread_id)
    include_body = request.args.get("include_body") in ("1", "true")
    query = (select(MailMessage).where(MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
             .order_by(MailMessage.sent_at, MailMessage.id))
    if not include_body:
        query = query.options(*WITHOUT_BODIES)
    return ok(dump_messages(list(db_session().scalars(query)), include_body))


def _owner_only(thread: MailThread, action: str) -> None:
    if thread.owner_id != g.user.id:
        raise ApiError(403, f"Only the thread's owner can {action}; it was shared with you.")


@bp.patch("/mailbox/mailThreads/<int:thread_id>")
@login_required
def patch_thread(thread_id: int):
    thread = thread_or_404(thread_id)
    data = ThreadPatchSchema().load(json_body())
    if "shared" in data:
        _owner_only(thread, "share or unshare it")
        thread.shared = data["shared"]
    for field, item_type in (("deal_id", "deal"), ("lead_id", "lead"), ("project_id", "project")):
        if field not in data:
            continue
        current = [lk for lk in thread.links if lk.item_type == item_type and not lk.removed]
        if data[field] is None:
            for lk in current:
                remove_link(thread, lk)
            continue
        # Setting deal_id replaces the thread's deal, the way a rep picks one.
        for lk in current:
            if lk.item_id != data[field]:
                remove_link(thread, lk)
        add_link(thread, item_type, data[field], field=field)
    db_session().commit()
    return ok(dump_thread(thread))


@bp.post("/mailbox/mailThreads/<int:thread_id>/links")
@login_required
def post_link(thread_id: int):
    thread = thread_or_404(thread_id)
    data = link_schema.load(json_body())
    add_link(thread, data["item_type"], data["item_id"])
    db_session().commit()
    return ok(dump_thread(thread), 201)


@bp.delete("/mailbox/mailThreads/<int:thread_id>/links/<item_type>/<int:item_id>")
@login_required
def delete_link(thread_id: int, item_type: str, item_id: int):
    thread = thread_or_404(thread_id)
    remove_link(thread, live_link_or_404(thread, item_type, item_id))
    db_session().commit()
    return ok(dump_thread(thread))


@bp.post("/mailbox/mailThreads/<int:thread_id>/create-item")
@login_required
def post_create_item(thread_id: int):
    thread = thread_or_404(thread_id)
    data = CreateItemSchema().load(json_body())
    item = create_item(thread, data)
    db_session().commit()
    return ok({"item_type": data["type"], "item_id": item.id, "thread": dump_thread(thread)}, 201)


@bp.get("/mailbox/mailMessages/<int:message_id>")
@login_required
def get_message(message_id: int):
    include_body = request.args.get("include_body") in ("1", "true")
    return ok(dump_message(message_or_404(message_id), include_body))


@bp.get("/mailbox/mailMessages/<int:message_id>/attachments/<int:attachment_id>")
@login_required
def get_attachment(message_id: int, attachment_id: int):
    return attachment_response(message_or_404(message_id), attachment_id)


@bp.delete("/mailbox/mailMessages/<int:message_id>")
@login_required
def delete_message(message_id: int):
    message = message_or_404(message_id)
    _owner_only(message.thread, "delete its messages")
    remove_message(message)
    db_session().commit()
    return ok({"id": message_id, "deleted": True})


def _item_messages(item_type: str, model):
    def view(item_id: int):
        get_or_404(model, item_id, item_type)
        query = (messages_linked_to(item_type, item_id).order_by(MailMessage.sent_at.desc(), MailMessage.id.desc())
                 .options(*WITHOUT_BODIES))
        return paginated(query, _DumpAll(dump_messages))
    view.__name__ = f"{item_type}_mail_messages"
    return login_required(view)


for _type, _model, _path in (("deal", m.Deal, "deals"), ("lead", m.Lead, "leads"),
                             ("project", m.Project, "projects"), ("person", m.Person, "persons")):
    bp.add_url_rule(f"/{_path}/<int:item_id>/mailMessages", view_func=_item_messages(_type, _model),
                    methods=["GET"])
    document(f"/{_path}/{{id}}/mailMessages", "get", f"Messages of the threads linked to a {_type}",
             response=message_schema, many=True)


@bp.get("/mailbox/inbound")
@login_required
def list_inbound():
    """Arrivals of the caller's mail (admins: the company's), e.g. ``?status=failed``."""
    query = scoped(InboundRecord).order_by(InboundRecord.id.desc())
    if not g.user.is_admin:
        query = query.where(InboundRecord.user_id == g.user.id)
    status = request.args.get("status")
    if status:
        query = query.where(InboundRecord.status == status)
    return paginated(query, _Dump(lambda r: {
        "id": r.id, "source": r.source, "status": r.status, "error": r.error,
        "received_at": r.received_at.isoformat(), "message_id": r.message_id,
        "recipients": r.recipients, "decisions": r.decisions}))
