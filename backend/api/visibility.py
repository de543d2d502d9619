"""Which threads and messages a user may see: their own, and the company's shared ones."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import g
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, tuple_

from ..models import MailMessage, MailThread, ThreadLink
from .common import db_session
from .errors import not_found


def visible_threads() -> Select:
    return select(MailThread).where(
        MailThread.company_id == g.company_id,
        or_(MailThread.owner_id == g.user.id, MailThread.shared.is_(True)))


def visibility_parts() -> tuple[ColumnElement, ColumnElement]:
    """The rule above as two disjoint parts, the user's own threads and colleagues' shared ones.
    Counting each part is an index range (ix_mail_threads_visible); counting their OR means
    testing the OR on every thread of the company."""
    return (MailThread.owner_id == g.user.id,
            and_(MailThread.owner_id != g.user.id, MailThread.shared.is_(True)))


def visible_messages(*, by_thread: bool = False) -> Select:
    """``by_thread``: the caller narrows the messages by thread; "company_id + 0" then keeps the
    company filter but stops SQLite (no statistics) from walking all the company's messages
    through its company_id index instead of reaching them through their threads."""
    # A private thread is absent for everyone else, so are its messages.
    company_id = MailMessage.company_id + 0 if by_thread else MailMessage.company_id
    return (select(MailMessage).join(MailThread, MailThread.id == MailMessage.thread_id).where(
        company_id == g.company_id, MailMessage.deleted_at.is_(None),
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
    return visible_messages(by_thread=True).where(MailMessage.thread_id.in_(linked))


def escape_like(term: str) -> str:
    """A search term taken literally by LIKE (``%`` and ``_`` are not wildcards)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_term(term: str | None) -> str:
    return (term or "").strip().replace("\x00", "")


def message_matches(term: str) -> ColumnElement:
    """A live message whose subject, snippet or sender contains ``term`` (any case)."""
    # PostgreSQL reads these four from the trigram indexes on lower(column) (models/mail.py,
    # SEARCHED_COLUMNS): an index is used only for exactly the expression it was built on.
    # The pattern is rendered into the statement (quoted by the dialect), not bound: with a
    # parameter, a prepared statement's generic plan cannot judge the pattern and scans.
    like = bindparam("search_pattern", f"%{escape_like(term.lower())}%", literal_execute=True)
    return or_(func.lower(MailMessage.subject).like(like, escape="\\"),
               func.lower(MailMessage.snippet).like(like, escape="\\"),
               func.lower(MailMessage.sender_email).like(like, escape="\\"),
               func.lower(MailMessage.sender_name).like(like, escape="\\"))


def inbox_threads(term: str = "", include_auto: bool = False, *, part: ColumnElement | None = None) -> Select:
    """The threads of the inbox (own and shared, with mail), newest first; ``term`` searches
    subject, snippet and sender of their messages. The API and the pages both list this.
    ``part``: only one of the ``visibility_parts()`` (for counting)."""
    if part is None:
        query = visible_threads()
    else:
        query = select(MailThread).where(MailThread.company_id == g.company_id, part)
    query = query.where(MailThread.message_count > 0)
    if not include_auto:
        query = query.where(MailThread.auto.is_(False))
    term = clean_term(term)
    if term:
        # The matches are found first (MATERIALIZED): left to itself the planner may instead walk
        # the whole inbox newest first, testing each thread's messages, hoping for an early page
        # (inbox_page does that itself, within bounds, for terms that are common).
        matching = select(MailMessage.thread_id).where(
            MailMessage.company_id == g.company_id, MailMessage.deleted_at.is_(None), message_matches(term)
        ).cte("search_matches").prefix_with("MATERIALIZED", dialect="postgresql")
        query = query.where(MailThread.id.in_(select(matching.c.thread_id)))
    return query.order_by(MailThread.last_message_at.desc(), MailThread.id.desc())


@dataclass
class InboxPage:
    start: int
    ids: list[int]  # the page's thread ids, in inbox order
    more: bool  # threads follow this page
    total: int | None  # all matching threads, when asked for

    @property
    def known_total(self) -> int | None:
        """``total``, or what the page itself tells when it is the last one (nothing to count)."""
        if self.total is None and not self.more and (self.ids or self.start == 0):
            return self.start + len(self.ids)
        return self.total


def inbox_page(term: str, include_auto: bool, start: int, limit: int, *, needs_deal_choice: bool = False,
               with_total: bool = False) -> InboxPage:
    """One page of the inbox (or of a search in it), for the API and the pages.

    The page is picked by id first: that walk is index-only (ix_mail_threads_inbox), so a deep
    page does not read the rows it skips. The exact total is counted only when asked for: it
    reads every visible thread's index entry (about 9 ms per 100,000 on PostgreSQL)."""
    def inbox(part=None, term=term):
        query = inbox_threads(term, include_auto, part=part)
        if needs_deal_choice:
            query = query.where(MailThread.needs_deal_choice.is_(True))
        return query

    def count(query):
        return select(func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()

    query = inbox()
    session = db_session()
    searching = bool(clean_term(term))
    total = None
    if searching and with_total:
        # The search runs once: the total rides along the page (counted before OFFSET/LIMIT).
        rows = session.execute(query.with_only_columns(MailThread.id, func.count().over())
                               .offset(start).limit(limit + 1)).all()
        ids = [row[0] for row in rows]
        if rows or start == 0:
            total = rows[0][1] if rows else 0
    else:
        ids = _recent_matches(inbox(term=""), clean_term(term), start, limit) if searching else None
        if ids is None:
            ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    page = InboxPage(start, ids[:limit], len(ids) > limit, total)
    if with_total and page.known_total is None:
        if searching:  # a page past the end
            page.total = session.scalar(select(count(query)))
        else:  # two index ranges rather than the OR tested on every thread of the company
            own, shared = (count(inbox(part)) for part in visibility_parts())
            page.total = session.scalar(select(own + shared))
    elif with_total:
        page.total = page.known_total
    return page


# A search first looks through this many of the newest inbox threads, testing each one's
# messages, newest first, and stops at a full page. A common word fills the page within a few
# hundred threads; matching every message in the company would take seconds (a word in a third of
# a million messages: 2.6 s, bench/mailbox.py). A rarer term does not fill it, and is then searched
# matches-first (few matches: fast), which costs one bounded walk more.
RECENT_WINDOW = 2000


def _recent_matches(inbox: Select, term: str, start: int, limit: int) -> list[int] | None:
    """Up to limit + 1 ids of the page of a search, when the newest RECENT_WINDOW threads hold
    that many matches (or are the whole inbox); None when the caller must search everything."""
    session = db_session()
    edge = session.execute(inbox.with_only_columns(MailThread.last_message_at, MailThread.id)
                           .offset(RECENT_WINDOW - 1).limit(1)).first()
    has_match = (select(MailMessage.id).where(MailMessage.thread_id == MailThread.id, message_matches(term),
                                              MailMessage.deleted_at.is_(None)).exists())
    query = inbox.where(has_match)
    if edge is not None:  # the inbox is longer than the window: stop at its last thread
        query = query.where(tuple_(MailThread.last_message_at, MailThread.id) >= tuple_(*edge))
    ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    return ids if edge is None or len(ids) > limit else None


def remove_message(message: MailMessage) -> None:
    """Removes a message from every view. A tombstone stays: its Message-ID remains
    known so that a later copy of the same mail is not logged again."""
    message.deleted_at = datetime.now(timezone.utc)
    message.body_text = message.body_html = None
    thread = message.thread
    thread.message_count = max(0, (thread.message_count or 1) - 1)


# Served as downloads only; types a browser would run or render from our origin are
# sent as opaque bytes so a hostile attachment cannot script the app.
_INERT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv",
                "application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/msword",
                "application/vnd.ms-excel")


def attachment_response(message: MailMessage, attachment_id: int):
    """The bytes of one attachment of a visible message, as a download."""
    import io

    from flask import current_app, send_file

    from .errors import not_found

    attachment = next((a for a in message.attachments if a.id == attachment_id), None)
    blobs = current_app.extensions["smartbcc"].blobs
    if attachment is None or not blobs.exists(attachment.sha256):
        raise not_found("attachment")
    content_type = attachment.content_type.lower() if attachment.content_type.lower() in _INERT_TYPES \
        else "application/octet-stream"
    response = send_file(io.BytesIO(blobs.get(attachment.sha256)), mimetype=content_type, as_attachment=True,
                         download_name=attachment.filename or f"attachment-{attachment.id}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
