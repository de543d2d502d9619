"""Which threads and messages a user may see: their own, and the company's shared ones."""
from __future__ import annotations

from flask import g
from sqlalchemy import Select, or_, select

from ..models import MailMessage, MailThread, ThreadLink
from .common import db_session
from .errors import not_found


def visible_threads() -> Select:
    return select(MailThread).where(
        MailThread.company_id == g.company_id,
        or_(MailThread.owner_id == g.user.id, MailThread.shared.is_(True)))


def visible_messages() -> Select:
    # A private thread is absent for everyone else, so are its messages.
    return (select(MailMessage).join(MailThread, MailThread.id == MailMessage.thread_id).where(
        MailMessage.company_id == g.company_id, MailMessage.deleted_at.is_(None),
        or_(MailThread.owner_id == g.user.id, MailThread.shared.is_(True))))


def thread_or_404(thread_id: int) -> MailThread:
    thread = db_session().scalar(visible_threads().where(MailThread.id == thread_id))
    if thread is None:
        raise not_found("thread")
    return thread


def message_or_404(message_id: int) -> MailMessage:
    message = db_session().scalar(visible_messages().where(MailMessage.id == message_id))
    if message is None:
        raise not_found("message")
    return message


def messages_linked_to(item_type: str, item_id: int) -> Select:
    linked = select(ThreadLink.thread_id).where(
        ThreadLink.company_id == g.company_id, ThreadLink.item_type == item_type,
        ThreadLink.item_id == item_id, ThreadLink.removed.is_(False))
    return visible_messages().where(MailMessage.thread_id.in_(linked))
