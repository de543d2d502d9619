"""The inbox and its search, page by page: which threads, in which order. The API and the pages
list exactly this; what a search means and how it finds messages is backend/domain/search.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select, text
from sqlalchemy.orm import Session

from ..models import MailMessage, MailThread
from . import search, sql
from .actor import Actor
from .inbox_filters import InboxFilters, conditions as filter_conditions
from .visibility import ANY_ACTOR, actor_params, visibility_parts, visible_threads


def escape_like(term: str) -> str:
    """A search term taken literally by LIKE (``%`` and ``_`` are not wildcards)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_term(term: str | None) -> str:
    return (term or "").strip().replace("\x00", "")


def _threads(actor: Actor, found: search.Query | None, include_auto: bool, part: ColumnElement | None,
             where) -> Select:
    """The inbox's threads (or one visibility part of them) under ``where``, narrowed to the deals a
    search names (deal:); unordered, unranked."""
    if part is None:
        query = visible_threads(actor)
    else:
        query = select(MailThread).where(MailThread.company_id == actor.company_id, part)
    query = query.where(MailThread.message_count > 0, *where)
    if not include_auto:
        query = query.where(MailThread.auto.is_(False))
    linked = search.deal_threads(actor.company_id, found) if found is not None else None
    return query.where(linked) if linked is not None else query


def inbox_threads(actor: Actor, term: str | search.Query = "", include_auto: bool = False, *,
                  part: ColumnElement | None = None, dialect: str | None = None, where=()) -> Select:
    """The threads of the inbox (own and shared, with mail), newest first. With ``term`` (a search,
    backend/domain/search.py; ``dialect`` then names the database's), only the threads it finds,
    in its order (relevance then recency, window by window of the newest matches), computed over
    all the matches. The API and the pages both list this. ``part``: only one of the
    ``visibility_parts()`` (for counting); ``where``: more conditions on the threads."""
    found = search.parse(term) if isinstance(term, str) and clean_term(term) else (term or None)
    query = _threads(actor, found, include_auto, part, where)
    newest_first = (MailThread.last_message_at.desc(), MailThread.id.desc())
    if found is None:
        return query.order_by(*newest_first)
    if dialect is None:
        raise ValueError("inbox_threads: a search needs the database's dialect")
    matching = search.matching_threads(actor.company_id, found, dialect)
    if matching is None:  # deal: alone: the deal's threads, newest first
        return query.order_by(*newest_first)
    # The matches are found first (MATERIALIZED), through the full-text index, then joined to the
    # visible threads: left to itself the planner may walk the whole inbox testing each thread.
    matches = matching.cte("search_matches").prefix_with("MATERIALIZED", dialect="postgresql")
    window = (func.row_number().over(order_by=matches.c.newest.desc()) - 1) // search.WINDOW
    ranked = (query.join(matches, matches.c.thread_id == MailThread.id)
              .with_only_columns(MailThread.id.label("id"), matches.c.score.label("score"), window.label("window"))
              .subquery("search_ranked"))
    return (select(MailThread).join(ranked, ranked.c.id == MailThread.id)
            .order_by(ranked.c.window, ranked.c.score.desc(), *newest_first))


# A search page is read from the newest matches while it lies within this many threads (whole
# windows); a deeper page ranks all the matches (the same order, search.py).
QUICK_THREADS = 2_000
# PostgreSQL: the range of message ids a search reads first, from the newest down, through the
# GIN index and the range together (only the matches' rows are read), up to 16 rows a thread the
# page needs. Each range costs the term's whole GIN bitmap (~5 ms for a word in 2.5 % of 1,000,000
# messages), and each row read ~10 us (a page from the OS cache), so one range should hold the
# page: 49,152 ids hold a word in 2.5 % of the mail's first 100 visible threads (bench/mailbox.py).
# A next range is sized from the threads found so far (times MARGIN), up to MAX_SPAN ids: the
# planner guesses a phrase's matches from its words as if unrelated (553 for 27,346 of "statement
# of work") and, past ~60,000 ids, read every candidate's row rather than those in the range
# (0.5 s). A term whose matches, judged from the ids read, number at most FEW_MATCHES is ranked all
# at once (one statement) instead, as is one that has not filled its page after MAX_READS ranges
# (its matches mostly in threads the user does not see).
FIRST_SPAN = 49_152
MAX_SPAN = 49_152
MARGIN = 1.5
FEW_MATCHES = 2_000
MAX_READS = 4


def _next_span(read: int, found: int, need: int) -> int:
    """PostgreSQL: the ids to read next, having read ``read`` ids and found ``found`` of the
    ``need`` threads: enough at the density so far (times MARGIN), at most MAX_SPAN."""
    wanted = read * (MARGIN * need / found - 1) if found else MAX_SPAN
    return int(min(MAX_SPAN, max(1, wanted)))


def _newest_threads(session: Session, actor: Actor, found: search.Query, dialect: str, threads: Select,
                    need: int) -> list[int] | None:
    """The visible threads matching ``found``, newest match first, at least ``need`` of them (all
    there are when fewer); None when it is cheaper to rank every match at once (few matches)."""
    order: list[int] = []  # visible matching threads, newest match first
    known: set[int] = set()
    newest = (select(func.max(MailMessage.id)).where(  # ix_mail_messages_company_live
        MailMessage.company_id == actor.company_id, MailMessage.deleted_at.is_(None)).scalar_subquery())
    postgresql, tsquery = dialect == "postgresql", None
    if postgresql:  # and the search's tsquery, in the same statement
        newest, tsquery = session.execute(search.pg_tsquery_text(found).add_columns(newest)).one()[::-1]
    else:
        newest = session.scalar(select(newest))
    newest = newest or 0
    # FTS5 reads its index newest first and stops at the limit: one range from the newest down.
    span = FIRST_SPAN if postgresql else newest + 1
    below, batch, read, matches = newest + 1, (16 if postgresql else 10) * need, 0, 0
    reads = 0  # range statements run
    while len(order) < need and below > 0:
        reads += 1
        since = max(0, below - span)
        found_rows = search.newest_matches(actor.company_id, found, dialect, below, since, batch,
                                           tsquery).subquery("found")
        # Each match's thread, if the user sees it (a lookup of the thread by its key, per match).
        visible = and_(MailThread.id == found_rows.c.thread_id, threads.whereclause)
        rows = session.execute(select(found_rows.c.id, MailThread.id)
                               .select_from(found_rows.outerjoin(MailThread, visible))
                               .order_by(found_rows.c.id.desc())).all()
        for _id, thread_id in rows:
            if thread_id is not None and thread_id not in known:
                known.add(thread_id)
                order.append(thread_id)
        matches += len(rows)
        if len(rows) == batch:  # more matches in this range: read on from the last one
            read += below - rows[-1][0]
            below = rows[-1][0]
        else:
            read += below - since
            below = since
        if not postgresql or len(order) >= need or below == 0:
            continue
        if matches * (newest / read) <= FEW_MATCHES or reads >= MAX_READS:  # ranked all at once, in one statement
            return None
        span = _next_span(read, len(order), need)
        batch = max(batch, int(MARGIN * matches * (need - len(order)) / max(1, len(order))))
    return order


def _from_newest_matches(session: Session, actor: Actor, found: search.Query, dialect: str, threads: Select,
                         start: int, limit: int) -> tuple[list[int], bool] | None:
    """A search page (ids, more) in search.py's order, read from the newest matches: the matching
    visible threads newest match first, up to the end of the last window the page reaches into
    (and one more thread, for ``more``); the page's windows are scored and ordered. None for a
    page deeper than QUICK_THREADS or few matches (then all matches are ranked: the same order)."""
    size = search.WINDOW
    wanted = -(-(start + limit) // size) * size  # the whole windows the page lies in
    if wanted > QUICK_THREADS:
        return None
    need = max(wanted, start + limit + 1)  # and one more thread, if any: "more" follows
    order = _newest_threads(session, actor, found, dialect, threads, need)
    if order is None or len(order) < need:  # every match was read, and they are few: ranked at once
        return None
    first = start // size * size  # the windows before the page's need no ranking
    candidates = order[first:wanted]
    scores = dict(session.execute(search.thread_scores(
        actor.company_id, found, dialect, lambda column: sql.in_ids(session, column, candidates))).all())
    last = dict(session.execute(select(MailThread.id, MailThread.last_message_at)
                                .where(sql.in_ids(session, MailThread.id, candidates))).all())
    place = {t: n // size for n, t in enumerate(candidates)}  # window, counted from the first
    ranked = sorted(candidates, key=lambda t: (last[t] or datetime.min, t), reverse=True)
    # Stable: recency stays the tie-break. (A thread whose match was deleted meanwhile scores 0.)
    ranked.sort(key=lambda t: (place[t], -scores.get(t, 0.0)))
    return ranked[start - first:start - first + limit], len(order) > start + limit


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
    rows: list = field(default_factory=list)  # inbox_page(columns=...): the page's threads as rows, in order

    @property
    def known_total(self) -> int | None:
        """``total``, or what the page itself tells when it is the last one (nothing to count)."""
        if self.total is None and not self.more and (self.ids or self.start == 0):
            return self.start + len(self.ids)
        return self.total


def inbox_page(session: Session, actor: Actor, term: str, include_auto: bool, start: int, limit: int, *,
               needs_deal_choice: bool = False, with_total: bool = False,
               count_limit: int | None = None, filters: InboxFilters | None = None,
               prefix_last: bool = False, columns: tuple = ()) -> InboxPage:
    """One page of the inbox (or of a search in it, ranked by relevance then recency), for the API
    and the pages. A search that cannot be read raises a DomainError (400) saying why.

    The inbox page is picked by id first: that walk is index-only (ix_mail_threads_inbox), so a
    deep page does not read the rows it skips. The exact total is counted only when asked for: it
    reads every visible thread's index entry (about 9 ms per 100,000 on PostgreSQL). A search
    page is read from the newest matches, window by window (search.py's order rule), unless it
    asks for the exact total, lies deeper than QUICK_THREADS, names one address, or its matches
    are few (every one read on the way, or on PostgreSQL judged from the ids read: FEW_MATCHES):
    then all matches are ranked at once, in the same order.

    ``count_limit`` (the inbox page, not the API's exact ``include_total``): the inbox is counted
    up to that many threads; past it ``total`` is None and ``more_than`` says so. The count then
    costs the same in a mailbox of any size.

    ``columns`` (of MailThread, with its id): ``rows`` holds them for the page's threads (the
    plain inbox reads them in the same statement as the page)."""
    found = search.parse(term, prefix_last=prefix_last) if clean_term(term) else None
    dialect = session.get_bind().dialect.name
    if found is None and not filters:
        return _plain_page(session, actor, include_auto, start, limit, needs_deal_choice, with_total, count_limit,
                           columns)

    where = [MailThread.needs_deal_choice.is_(True)] if needs_deal_choice else []
    if filters:  # the inbox filters (backend/domain/inbox_filters.py)
        where += filter_conditions(actor, filters)

    def inbox(part=None):
        return inbox_threads(actor, found or "", include_auto, part=part, dialect=dialect, where=where)

    if found is not None and dialect == "postgresql" and not with_total:
        # A search page reads few rows, but when the GIN index guesses thousands of matches the
        # planner goes parallel, and starting the workers costs 8-11 ms for ~1 ms of work (a word
        # that matches nothing at 3,000,000 messages: 42 ms). For this transaction only; the exact
        # total (include_total=1), which reads every match, keeps them.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    if found is not None and found.matches_messages and not found.narrow and not with_total:  # the newest matches
        quick = _from_newest_matches(session, actor, found, dialect, _threads(actor, found, include_auto, None, where),
                                     start, limit)
        if quick is not None:
            return _with_rows(session, InboxPage(start, quick[0], quick[1], None), columns)
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
            page.total = session.scalar(select(_count(query)))
        else:  # two index ranges rather than the OR tested on every thread of the company
            own, shared = (_count(inbox(part), count_limit) for part in visibility_parts(actor))
            _set_total(page, session.scalar(select(own + shared)), count_limit)
    elif with_total:
        page.total = page.known_total
    return _with_rows(session, page, columns)


def _with_rows(session: Session, page: InboxPage, columns: tuple) -> InboxPage:
    """``page.rows``: ``columns`` of the page's threads, in the page's order (a search's pages)."""
    if columns and page.ids:
        query = sql.built_once(session, ("inbox rows", columns), lambda dialect: select(*columns).where(
            sql.in_param(MailThread.id, "ids", dialect)))
        by_id = {row.id: row for row in session.execute(query, {"ids": page.ids})}
        page.rows = [by_id[i] for i in page.ids if i in by_id]
    return page


def _count(query: Select, up_to: int | None = None):
    """The number of threads ``query`` finds (up to ``up_to`` + 1), as a scalar subquery."""
    query = query.order_by(None)
    if up_to is not None:
        query = query.with_only_columns(MailThread.id).limit(up_to + 1)
    return select(func.count()).select_from(query.subquery()).scalar_subquery()


def _set_total(page: InboxPage, total: int, count_limit: int | None) -> None:
    page.total = total
    if count_limit is not None and total > count_limit:
        page.total, page.more_than = None, count_limit


def _plain_statements(include_auto: bool, needs_deal_choice: bool, count_limit: int | None, columns: tuple):
    """The plain inbox's page (:start, :limit; ids, or ``columns`` of the page's threads looked up
    by the ids picked first, in one statement) and its count, for any actor (ANY_ACTOR)."""
    where = [MailThread.needs_deal_choice.is_(True)] if needs_deal_choice else []

    def inbox(part=None):
        return inbox_threads(ANY_ACTOR, "", include_auto, part=part, where=where)
    ids = inbox().with_only_columns(MailThread.id).offset(bindparam("start")).limit(bindparam("limit"))
    if columns:
        picked = ids.subquery("page")
        ids = (select(*columns).join(picked, picked.c.id == MailThread.id)
               .order_by(MailThread.last_message_at.desc(), MailThread.id.desc()))
    own, shared = (_count(inbox(part), count_limit) for part in visibility_parts(ANY_ACTOR))
    return ids, select(own + shared)


def _plain_page(session: Session, actor: Actor, include_auto: bool, start: int, limit: int,
                needs_deal_choice: bool, with_total: bool, count_limit: int | None, columns: tuple) -> InboxPage:
    """inbox_page without a search or filters (every list's first request): the same statements,
    built once (sql.built_once) with the actor and the page as parameters."""
    page_query, count_query = sql.built_once(
        session, ("inbox page", include_auto, needs_deal_choice, count_limit, columns),
        lambda _dialect: _plain_statements(include_auto, needs_deal_choice, count_limit, columns))
    params = actor_params(actor)
    found = session.execute(page_query, {**params, "start": start, "limit": limit + 1}).all()
    rows = found[:limit] if columns else []
    page = InboxPage(start, [row.id for row in found[:limit]], len(found) > limit, None, rows=rows)
    if with_total:
        page.total = page.known_total
        if page.total is None:  # two index ranges rather than the OR tested on every thread of the company
            _set_total(page, session.scalar(count_query, params), count_limit)
    return page
