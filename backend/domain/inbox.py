"""The inbox and its search, page by page: which threads, in which order, and how a search
finds them fast. The API and the pages list exactly this."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ..models import MailMessage, MailThread
from .actor import Actor
from .visibility import visibility_parts, visible_threads


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


def inbox_threads(actor: Actor, term: str = "", include_auto: bool = False, *,
                  part: ColumnElement | None = None) -> Select:
    """The threads of the inbox (own and shared, with mail), newest first; ``term`` searches
    subject, snippet and sender of their messages. The API and the pages both list this.
    ``part``: only one of the ``visibility_parts()`` (for counting)."""
    if part is None:
        query = visible_threads(actor)
    else:
        query = select(MailThread).where(MailThread.company_id == actor.company_id, part)
    query = query.where(MailThread.message_count > 0)
    if not include_auto:
        query = query.where(MailThread.auto.is_(False))
    term = clean_term(term)
    if term:
        # The matches are found first (MATERIALIZED): left to itself the planner may instead walk
        # the whole inbox newest first, testing each thread's messages, hoping for an early page
        # (inbox_page does that itself, within bounds, for terms that are common).
        matching = select(MailMessage.thread_id).where(
            MailMessage.company_id == actor.company_id, MailMessage.deleted_at.is_(None), message_matches(term)
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


def inbox_page(session: Session, actor: Actor, term: str, include_auto: bool, start: int, limit: int, *,
               needs_deal_choice: bool = False, with_total: bool = False) -> InboxPage:
    """One page of the inbox (or of a search in it), for the API and the pages.

    The page is picked by id first: that walk is index-only (ix_mail_threads_inbox), so a deep
    page does not read the rows it skips. The exact total is counted only when asked for: it
    reads every visible thread's index entry (about 9 ms per 100,000 on PostgreSQL)."""
    def inbox(part=None, term=term):
        query = inbox_threads(actor, term, include_auto, part=part)
        if needs_deal_choice:
            query = query.where(MailThread.needs_deal_choice.is_(True))
        return query

    def count(query):
        return select(func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()

    query = inbox()
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
        ids = _recent_matches(session, inbox(term=""), clean_term(term), start, limit) if searching else None
        if ids is None:
            ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    page = InboxPage(start, ids[:limit], len(ids) > limit, total)
    if with_total and page.known_total is None:
        if searching:  # a page past the end
            page.total = session.scalar(select(count(query)))
        else:  # two index ranges rather than the OR tested on every thread of the company
            own, shared = (count(inbox(part)) for part in visibility_parts(actor))
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


def _recent_matches(session: Session, inbox: Select, term: str, start: int, limit: int) -> list[int] | None:
    """Up to limit + 1 ids of the page of a search, when the newest RECENT_WINDOW threads hold
    that many matches (or are the whole inbox); None when the caller must search everything."""
    edge = session.execute(inbox.with_only_columns(MailThread.last_message_at, MailThread.id)
                           .offset(RECENT_WINDOW - 1).limit(1)).first()
    has_match = (select(MailMessage.id).where(MailMessage.thread_id == MailThread.id, message_matches(term),
                                              MailMessage.deleted_at.is_(None)).exists())
    query = inbox.where(has_match)
    if edge is not None:  # the inbox is longer than the window: stop at its last thread
        query = query.where(tuple_(MailThread.last_message_at, MailThread.id) >= tuple_(*edge))
    ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    return ids if edge is None or len(ids) > limit else None
