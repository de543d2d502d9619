"""Which threads and messages a user may see: their own, and the company's shared ones."""
from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ..models import InboundRecord, MailMessage, MailThread, ThreadLink
from .actor import Actor
from .errors import DomainError, not_found
from .sql import built_once


# An actor whose ids are the parameters :company_id and :user_id: a statement built from it once
# (sql.built_once) runs for any actor with ``actor_params(actor)``. Building the rules' statements
# (and their cache keys) on every request cost more Python time than running them (bench/mailbox.py).
ANY_ACTOR = Actor(user_id=bindparam("user_id", type_=BigInteger),  # type: ignore[arg-type]
                  company_id=bindparam("company_id", type_=BigInteger), name="", email="")  # type: ignore[arg-type]


def actor_params(actor: Actor) -> dict[str, int]:
    """The values of ANY_ACTOR's parameters for ``actor``."""
    return {"company_id": actor.company_id, "user_id": actor.user_id}


def visible_threads(actor: Actor) -> Select:
    return select(MailThread).where(
        MailThread.company_id == actor.company_id,
        or_(MailThread.owner_id == actor.user_id, MailThread.shared.is_(True)))


def visibility_parts(actor: Actor) -> tuple[ColumnElement, ColumnElement]:
    """The rule above as two disjoint parts, the user's own threads and colleagues' shared ones.
    Counting each part is an index range (ix_mail_threads_visible); counting their OR means
    testing the OR on every thread of the company."""
    return (MailThread.owner_id == actor.user_id,
            and_(MailThread.owner_id != actor.user_id, MailThread.shared.is_(True)))


def visible_messages(actor: Actor, *, by_thread: bool = False) -> Select:
    """Live messages of visible threads. ``by_thread``: the caller narrows the messages by thread;
    "company_id + 0" then keeps the company filter but stops SQLite (no statistics) from walking
    all the company's messages through its company_id index instead of reaching them through
    their threads."""
    # A private thread is absent for everyone else, so are its messages.
    company_id = MailMessage.company_id + 0 if by_thread else MailMessage.company_id
    return (select(MailMessage).join(MailThread, MailThread.id == MailMessage.thread_id).where(
        company_id == actor.company_id, MailMessage.deleted_at.is_(None),
        or_(MailThread.owner_id == actor.user_id, MailThread.shared.is_(True))))


def thread_for(session: Session, actor: Actor, thread_id: int) -> MailThread:
    """The thread if the actor may see it; 404 otherwise (a colleague's private thread, another
    company's or a missing one all look the same). A thread whose messages were all deleted is
    gone."""
    query = built_once(session, "thread_for", lambda _dialect: visible_threads(ANY_ACTOR).where(
        MailThread.id == bindparam("thread_id", type_=BigInteger), MailThread.message_count > 0))
    thread = session.scalar(query, {**actor_params(actor), "thread_id": thread_id})
    if thread is None:
        raise not_found("thread")
    return thread


def message_for(session: Session, actor: Actor, message_id: int) -> MailMessage:
    query = built_once(session, "message_for", lambda _dialect: visible_messages(ANY_ACTOR).where(
        MailMessage.id == bindparam("message_id", type_=BigInteger)))
    message = session.scalar(query, {**actor_params(actor), "message_id": message_id})
    if message is None:
        raise not_found("message")
    return message


def require_owner(thread: MailThread, actor: Actor, action: str) -> None:
    """Sharing and deleting are the owner's: a colleague who sees a shared thread may only read
    it and link it."""
    if thread.owner_id != actor.user_id:
        raise DomainError(403, f"Only the person who owns this thread can {action}; it was shared with you.")


def linked_thread_ids(actor: Actor, item_type: str, item_id: int) -> Select:
    return select(ThreadLink.thread_id).where(
        ThreadLink.company_id == actor.company_id, ThreadLink.item_type == item_type,
        ThreadLink.item_id == item_id, ThreadLink.removed.is_(False))


def messages_linked_to(actor: Actor, item_type: str, item_id: int) -> Select:
    return visible_messages(actor, by_thread=True).where(
        MailMessage.thread_id.in_(linked_thread_ids(actor, item_type, item_id)))


def threads_linked_to(actor: Actor, item_type: str, item_id: int) -> Select:
    """Visible threads with mail linked to an item, newest first."""
    return (visible_threads(actor).where(MailThread.id.in_(linked_thread_ids(actor, item_type, item_id)),
                                         MailThread.message_count > 0)
            .order_by(MailThread.last_message_at.desc(), MailThread.id.desc()))


def thread_id_by_message_id(session: Session, actor: Actor, message_id_header: str) -> int | None:
    """The visible thread holding a live message with this Message-ID (without angle brackets)."""
    return session.scalar(visible_messages(actor).where(
        MailMessage.message_id_header == message_id_header[:255]).with_only_columns(MailMessage.thread_id).limit(1))


def visible_arrivals(actor: Actor) -> Select:
    """Arrivals (inbound records) the actor may list: their own mail's; an admin, the company's
    (to see what failed and retry it)."""
    query = select(InboundRecord).where(InboundRecord.company_id == actor.company_id)
    if not actor.is_admin:
        query = query.where(InboundRecord.user_id == actor.user_id)
    return query
