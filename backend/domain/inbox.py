"""The inbox and its search, page by page: which threads, in which order. The API and the pages
list exactly this; what a search means and how it finds messages is backend/domain/search.py."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ..models import MailThread
from . import search
from .actor import Actor
from .inbox_filters import InboxFilters, conditions as filter_conditions
from .visibility import visibility_parts, visible_threads


def escape_like(term: str) -> str:
    """A search term taken literally by LIKE (``%`` and ``_`` are not wildcards)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_term(term: str | None) -> str:
    return (term or "").strip().replace("\x00", "")


def inbox_threads(actor: Actor, term: str | search.Query = "", include_auto: bool = False, *,
                  part: ColumnElement | None = None, dialect: str | None = None) -> Select:
    """The threads of the inbox (own and shared, with mail), newest first. With ``term`` (a search,
    backend/domain/search.py; ``dialect`` then names the database's), only the threads it finds,
    ranked by relevance, then newest first. The API and the pages both list this.
    ``part``: only one of the ``visibility_parts()`` (for counting)."""
    if part is None:
        query = visible_threads(actor)
    else:
        query = select(MailThread).where(MailThread.company_id == actor.company_id, part)
    query = query.where(MailThread.message_count > 0)
    if not include_auto:
        query = query.where(MailThread.auto.is_(False))
    found = search.parse(term) if isinstance(term, str) and clean_term(term) else (term or None)
    if found is None:
        return query.order_by(MailThread.last_message_at.desc(), MailThread.id.desc())
    if dialect is None:
        raise ValueError("inbox_threads: a search needs the database's dialect")
    linked = search.deal_threads(actor.company_id, found)
    if linked is not None:
        query = query.where(linked)
    matching = search.matching_threads(actor.company_id, found, dialect)
    if matching is None:  # deal: alone: the deal's threads, newest first
        return query.order_by(MailThread.last_message_at.desc(), MailThread.id.desc())
    # The matches are found first (MATERIALIZED), through the full-text index, then joined to the
    # visible threads: left to itself the planner may walk the whole inbox testing each thread.
    matches = matching.cte("search_matches").prefix_with("MATERIALIZED", dialect="postgresql")
    return (query.join(matches, matches.c.thread_id == MailThread.id)
            .order_by(matches.c.score.desc(), MailThread.last_message_at.desc(), MailThread.id.desc()))


# The inbox page counts the conversations up to this many (above: "more than 1,000"): an exact
# count reads every visible thread's index entry, so it grows with the mailbox (bench/mailbox.py
# --sizes: 10,000 still cost 2-4 ms); the API's include_total=1 stays exact.
PAGE_COUNT_LIMIT = 1_000


@dataclass
class InboxPage:
    start: int
    ids: list[int]  # the page's thread ids, in inbox order
    more: bool  # threads follow this page
    total: int | None  # all matching threads, when asked for (None past count_limit)
    more_than: int | None = None  # counting stopped at count_limit: there are more threads than this

    @property
    def known_total(self) -> int | None:
        """``total``, or what the page itself tells when it is the last one (nothing to count)."""
        if self.total is None and not self.more and (self.ids or self.start == 0):
            return self.start + len(self.ids)
        return self.total


def inbox_page(session: Session, actor: Actor, term: str, include_auto: bool, start: int, limit: int, *,
               needs_deal_choice: bool = False, with_total: bool = False,
               count_limit: int | None = None, filters: InboxFilters | None = None,
               prefix_last: bool = False) -> InboxPage:
    """One page of the inbox (or of a search in it, ranked by relevance then recency), for the API
    and the pages. A search that cannot be read raises a DomainError (400) saying why.

    The inbox page is picked by id first: that walk is index-only (ix_mail_threads_inbox), so a
    deep page does not read the rows it skips. The exact total is counted only when asked for: it
    reads every visible thread's index entry (about 9 ms per 100,000 on PostgreSQL). A search
    finds its matches through the full-text index, then ranks them.

    ``count_limit`` (the inbox page, not the API's exact ``include_total``): the inbox is counted
    up to that many threads; past it ``total`` is None and ``more_than`` says so. The count then
    costs the same in a mailbox of any size."""
    found = search.parse(term, prefix_last=prefix_last) if clean_term(term) else None
    dialect = session.get_bind().dialect.name

    def inbox(part=None):
        query = inbox_threads(actor, found or "", include_auto, part=part, dialect=dialect)
        if needs_deal_choice:
            query = query.where(MailThread.needs_deal_choice.is_(True))
        if filters:  # the inbox filters (backend/domain/inbox_filters.py)
            query = query.where(*filter_conditions(actor, filters))
        return query

    def count(query, up_to: int | None = None):
        query = query.order_by(None)
        if up_to is not None:
            query = query.with_only_columns(MailThread.id).limit(up_to + 1)
        return select(func.count()).select_from(query.subquery()).scalar_subquery()

    query = inbox()
    total = None
    if found is not None and with_total:
        # The search runs once: the total rides along the page (counted before OFFSET/LIMIT).
        rows = session.execute(query.with_only_columns(MailThread.id, func.count().over())
                               .offset(start).limit(limit + 1)).all()
        ids = [row[0] for row in rows]
        if rows or start == 0:
            total = rows[0][1] if rows else 0
    else:
        ids = list(session.scalars(query.with_only_columns(MailThread.id).offset(start).limit(limit + 1)))
    page = InboxPage(start, ids[:limit], len(ids) > limit, total)
    if with_total and page.known_total is None:
        if found is not None:  # a page past the end
            page.total = session.scalar(select(count(query)))
        else:  # two index ranges rather than the OR tested on every thread of the company
            own, shared = (count(inbox(part), count_limit) for part in visibility_parts(actor))
            page.total = session.scalar(select(own + shared))
            if count_limit is not None and page.total > count_limit:
                page.total, page.more_than = None, count_limit
    elif with_total:
        page.total = page.known_total
    return page
