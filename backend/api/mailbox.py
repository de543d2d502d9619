"""The mailbox: threads, messages, their links to CRM items, sharing and deleting."""
from __future__ import annotations


from flask import Blueprint, g, request
from sqlalchemy import select

from .. import models as m
from ..models import InboundRecord, MailMessage, MailThread
from .auth import login_required
from .common import db_session, get_or_404, json_body, ok, paginated, scoped
from .errors import ApiError
from .linking import add_link, create_item, link_title, live_link_or_404, remove_link
from .mail_schemas import CreateItemSchema, LinkSchema, MessageSchema, ThreadPatchSchema, ThreadSchema
from .openapi import document
from .visibility import attachment_response, inbox_threads, message_or_404, messages_linked_to, remove_message, thread_or_404

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


def dump_thread(thread: MailThread) -> dict:
    data = thread_schema.dump(thread)
    data["links"] = [dict(link_schema.dump(lk), title=link_title(lk)) for lk in thread.links if not lk.removed]
    last = db_session().scalar(select(MailMessage).where(
        MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at.desc()).limit(1))
    data["last_sender"] = {"email": last.sender_email, "name": last.sender_name} if last else None
    return data


def dump_message(message: MailMessage, include_body: bool = False) -> dict:
    data = message_schema.dump(message)
    if include_body:
        data["body_text"] = message.body_text
        data["body_html"] = message.body_html
    records = db_session().scalars(select(InboundRecord).where(
        InboundRecord.company_id == g.company_id, InboundRecord.message_id == message.id)
        .order_by(InboundRecord.id))
    data["arrivals"] = [{"id": r.id, "source": r.source, "status": r.status,
                         "received_at": r.received_at.isoformat(), "decisions": r.decisions}
                        for r in records]
    return data


class _Dump:
    def __init__(self, fn):
        self.fn = fn

    def dump(self, rows, many=True):
        return [self.fn(r) for r in rows]


@bp.get("/mailbox/mailThreads")
@login_required
def list_threads():
    query = inbox_threads(request.args.get("q") or "", request.args.get("include_auto") in ("1", "true"))
    if request.args.get("needs_deal_choice") in ("1", "true"):
        query = query.where(MailThread.needs_deal_choice.is_(True))
    return paginated(query, _Dump(dump_thread), count=True)


@bp.get("/mailbox/mailThreads/<int:thread_id>")
@login_required
def get_thread(thread_id: int):
    return ok(dump_thread(thread_or_404(thread_id)))


@bp.get("/mailbox/mailThreads/<int:thread_id>/mailMessages")
@login_required
def thread_messages(thread_id: int):
    thread = thread_or_404(thread_id)
    include_body = request.args.get("include_body") in ("1", "true")
    rows = db_session().scalars(select(MailMessage).where(
        MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at, MailMessage.id))
    return ok([dump_message(r, include_body) for r in rows])


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
        query = messages_linked_to(item_type, item_id).order_by(MailMessage.sent_at.desc(), MailMessage.id.desc())
        return paginated(query, _Dump(dump_message))
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
