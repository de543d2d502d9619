"""What a rep does from a thread's side panel: link, unlink, create an item, share, delete a message."""
from __future__ import annotations


from flask import flash, redirect, request, url_for
from marshmallow import ValidationError

from ..api.mail_schemas import CreateItemSchema
from ..domain import manual, privacy, threads
from ..domain.errors import DomainError as ApiError
from ..domain.items import MAX_ID
from ..domain.visibility import thread_for
from ..models import MailThread
from ..request_scope import actor, db_session, services
from .blueprint import bp
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


def link_thread(thread: MailThread, item_type: str, item_id: int) -> str:
    """Links and commits; returns the sentence to show. A deal replaces the thread's deal, as in the API."""
    session, who = db_session(), actor()
    if item_type == "deal":
        link = manual.set_deal(session, who, thread, item_id, "item_id")
    else:
        link = manual.link(session, who, thread, item_type, item_id)
    session.commit()
    return f"Linked to {manual.link_sentence(session, who, link)}."


def share_thread(thread: MailThread, shared: bool) -> str:
    manual.share(actor(), thread, shared)
    db_session().commit()
    if shared:
        return "Shared: everyone in your company can now see this thread."
    return "Private again: only you can see this thread."


@bp.post("/inbox/threads/<int:thread_id>/link")
@signin_required
def thread_link(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    item_type, item_id = form_item()
    try:
        flash(link_thread(thread, item_type, item_id), "ok")
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
    return _back(thread_id)


@bp.post("/inbox/threads/<int:thread_id>/accept")
@signin_required
def thread_accept(thread_id: int):
    """The 'Accept the suggestion' button: links the top-ranked deal the rep saw (backend/domain/dealrank.py)."""
    thread = thread_for(db_session(), actor(), thread_id)
    raw = request.form.get("deal_id", "")
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID):
        flash("Reload the conversation and choose 'Accept the suggestion' again.", "error")
        return _back(thread_id)
    try:
        link, top = manual.accept_suggestion(db_session(), actor(), thread, int(raw))
        db_session().commit()
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return _back(thread_id)
    flash(f"Linked to deal '{top.item.title}', the suggested deal.", "ok")
    return _back(thread_id)


@bp.post("/inbox/threads/<int:thread_id>/unlink")
@signin_required
def thread_unlink(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    item_type, item_id = form_item()
    try:
        link = manual.live_link(thread, item_type, item_id)
    except ApiError as exc:
        flash(exc.message, "error")
        return _back(thread_id)
    name = manual.link_sentence(db_session(), actor(), link)
    manual.unlink(actor(), thread, link)
    db_session().commit()
    flash(f"Unlinked {name}. New mail in this thread will not link it again automatically.", "ok")
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
    thread = thread_for(db_session(), actor(), thread_id)
    try:
        data = create_data(request.form)
        item = manual.create_item(db_session(), actor(), thread, data)
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
    thread = thread_for(db_session(), actor(), thread_id)
    flash(share_thread(thread, request.form.get("shared") == "1"), "ok")
    return _back(thread_id)


@bp.post("/inbox/threads/<int:thread_id>/visibility-offer")
@signin_required
def thread_visibility_offer(thread_id: int):
    """The offer a mail marked private or shared made (backend/domain/privacy.py): accept or dismiss."""
    thread = thread_for(db_session(), actor(), thread_id)
    answer = request.form.get("answer")
    if answer not in ("accept", "dismiss"):
        flash("Choose whether to change who sees the conversation, or to keep it as it is.", "error")
        return _back(thread_id)
    try:
        if answer == "accept":
            done = privacy.accept_offer(actor(), thread)
            message = ("Shared: everyone in your company can now see this thread." if done == "shared"
                       else "Private: only you can see this thread now.")
        else:
            message = f"Kept {privacy.dismiss_offer(actor(), thread)}; the offer is gone."
        db_session().commit()
    except ApiError as exc:
        db_session().rollback()
        flash(exc.message, "error")
        return _back(thread_id)
    flash(message, "ok")
    return _back(thread_id)


@bp.post("/inbox/messages/<int:message_id>/delete")
@signin_required
def message_delete(message_id: int):
    session = db_session()
    deletion = threads.delete_message(session, actor(), message_id)
    session.commit()
    threads.drop_unused_blobs(session, services().blobs, deletion.blobs)
    flash("The message is deleted; it no longer shows in the inbox or on any deal, lead, person or project.",
          "ok")
    if deletion.thread.message_count == 0:
        return redirect(url_for("web.inbox"))
    return _back(deletion.thread.id)
