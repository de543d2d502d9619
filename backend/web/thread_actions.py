"""What a rep does from a thread's side panel: link, unlink, create an item, share, delete a message."""
from __future__ import annotations


from flask import flash, g, redirect, request, url_for
from marshmallow import ValidationError

from ..api.common import MAX_ID, db_session
from ..api.errors import ApiError
from ..api.linking import add_link, create_item, link_titles, remove_link
from ..api.mail_schemas import CreateItemSchema
from ..api.visibility import message_or_404, remove_message, thread_or_404
from ..models import MailMessage, MailThread
from . import bp
from .auth import signin_required
from .format import ITEM_LABELS


def _back(thread_id: int):
    return redirect(url_for("web.thread_view", thread_id=thread_id))


def form_item() -> tuple[str, int]:
    item_type = request.form.get("item_type", "")
    raw = request.form.get("item_id", "")
    if item_type not in ITEM_LABELS or not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID):
        raise ApiError(400, "Pick an item from the list first, then choose 'Link'.")
    return item_type, int(raw)


def require_owner(thread: MailThread, action: str) -> None:
    if thread.owner_id != g.user.id:
        raise ApiError(403, f"Only the person who owns this thread can {action}; it was shared with you.")


def link_thread(thread: MailThread, item_type: str, item_id: int) -> str:
    """Links and commits; returns the sentence to show. A deal replaces the thread's deal, as in the API."""
    if item_type == "deal":
        for lk in thread.links:
            if lk.item_type == "deal" and not lk.removed and lk.item_id != item_id:
                remove_link(thread, lk)
    link = add_link(thread, item_type, item_id)
    db_session().commit()
    title = link_titles([link]).get((item_type, item_id), "")
    return f"Linked to {ITEM_LABELS[item_type].lower()} '{title}'."


def share_thread(thread: MailThread, shared: bool) -> str:
    require_owner(thread, "share or unshare it")
    thread.shared = shared
    db_session().commit()
    if shared:
        return "Shared: everyone in your company can now see this thread."
    return "Private again: only you can see this thread."


@bp.post("/inbox/threads/<int:thread_id>/link")
@signin_required
def thread_link(thread_id: int):
    thread = thread_or_404(thread_id)
    item_type, item_id = form_item()
    try:
        flash(link_thread(thread, item_type, item_id), "ok")
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
    return _back(thread_id)


@bp.post("/inbox/threads/<int:thread_id>/unlink")
@signin_required
def thread_unlink(thread_id: int):
    thread = thread_or_404(thread_id)
    item_type, item_id = form_item()
    link = next((lk for lk in thread.links if lk.item_type == item_type and lk.item_id == item_id
                 and not lk.removed), None)
    if link is None:
        flash(f"This thread is not linked to that {item_type} (any more).", "error")
        return _back(thread_id)
    title = link_titles([link]).get((item_type, item_id), "")
    remove_link(thread, link)
    db_session().commit()
    flash(f"Unlinked {ITEM_LABELS[item_type].lower()} '{title}'. New mail in this thread will not link it "
          "again automatically.", "ok")
    return _back(thread_id)


def create_data(form) -> dict:
    """The create-item form as CreateItemSchema input; empty fields are left out."""
    raw = {key: (form.get(key) or "").strip() for key in ("type", "title", "name", "email")}
    data = {key: value for key, value in raw.items() if value}
    if "\x00" in "".join(data.values()):
        raise ApiError(400, "The text contains characters that cannot be stored; remove them and try again.")
    try:
        return CreateItemSchema().load(data)
    except ValidationError as exc:
        fields = exc.messages if isinstance(exc.messages, dict) else {}
        if "email" in fields:
            raise ApiError(400, f"'{raw['email']}' is not a valid email address.") from exc
        if "type" in fields:
            raise ApiError(400, "Choose what to create: deal, lead, project or person.") from exc
        raise ApiError(400, "Check the fields: a title has at most 300 characters, a name at most 200.") from exc


@bp.post("/inbox/threads/<int:thread_id>/create")
@signin_required
def thread_create(thread_id: int):
    thread = thread_or_404(thread_id)
    try:
        data = create_data(request.form)
        item = create_item(thread, data)
        db_session().commit()
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return _back(thread_id)
    title = getattr(item, "title", None) or getattr(item, "name", "")
    flash(f"Created {ITEM_LABELS[data['type']].lower()} '{title}' and linked this thread to it.", "ok")
    return _back(thread_id)


@bp.post("/inbox/threads/<int:thread_id>/share")
@signin_required
def thread_share(thread_id: int):
    thread = thread_or_404(thread_id)
    flash(share_thread(thread, request.form.get("shared") == "1"), "ok")
    return _back(thread_id)


@bp.post("/inbox/messages/<int:message_id>/delete")
@signin_required
def message_delete(message_id: int):
    message: MailMessage = message_or_404(message_id)
    thread = message.thread
    require_owner(thread, "delete its messages")
    remove_message(message)
    db_session().commit()
    flash("The message is deleted; it no longer shows in the inbox or on any deal, lead, person or project.",
          "ok")
    if thread.message_count == 0:
        return redirect(url_for("web.inbox"))
    return _back(thread.id)
