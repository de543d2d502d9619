"""The mail inbox, one thread with its side panel, and the sandboxed body of one message."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, make_response, render_template, request, url_for
from sqlalchemy import Select, bindparam, func, select

from ..domain import inbox as inbox_rules, manual, reasons, threads as thread_rules
from ..domain.inbox import clean_term, inbox_page, inbox_threads
from ..domain.items import link_title, link_titles, titles as item_titles
from ..domain.sql import built_once, in_param
from ..domain.visibility import message_for, thread_for
from ..mail.quotes import Segment, split_html, split_text
from ..models import InboundRecord, MailMessage, MailThread, ThreadLink
from ..request_scope import actor, attachment_response, db_session, services
from .blueprint import bp
from .auth import signin_required
from . import format as page_format
from .format import ITEM_ENDPOINTS, ITEM_LABELS, page_count, page_number
from .headers import mail_body_csp
from .lookup import search_items, user_names
from .search import filter_bar, inbox_filters_of
from .sanitize import inline_image_uri, sanitize_mail_html

LINK_ORDER = ("person", "deal", "lead", "project")


@dataclass
class LinkRow:
    link: ThreadLink
    title: str
    reason: str = ""
    url: str = ""  # the item's page (thread lists)


@dataclass
class ThreadRow:
    thread: MailThread  # or a row of THREAD_LIST_COLUMNS
    sender: str
    links: list[LinkRow] = field(default_factory=list)
    owner_name: str = ""
    url: str = ""  # the thread's page


def visible_inbox(term: str = "", include_auto: bool = False):
    """The threads the user may see, exactly as the API lists them."""
    return inbox_threads(actor(), term, include_auto)


def link_rows(links: list[ThreadLink], titles: dict | None = None, why: dict | None = None) -> list[LinkRow]:
    """The live links, titled and with their reason worded now, in the panel's order."""
    session = db_session()
    live = [lk for lk in links if not lk.removed]
    if titles is None:
        titles = item_titles(session, g.company_id, ((lk.item_type, lk.item_id) for lk in live))
    if why is None:
        why = reasons.describe(session, g.company_id, live, item_titles=titles)
    live.sort(key=_link_order)
    return [LinkRow(lk, _title(titles, lk), why.get(lk.id, "")) for lk in live]


def _title(titles: dict, lk) -> str:
    """A link's item title, else its type and id (an item deleted meanwhile)."""
    return titles.get((lk.item_type, lk.item_id), f"{lk.item_type} {lk.item_id}")


def _link_order(lk) -> tuple:
    """The panel's order: by item type (LINK_ORDER), then oldest link first."""
    return (LINK_ORDER.index(lk.item_type) if lk.item_type in LINK_ORDER else 9, lk.id)


# What a thread list shows of each thread and link (the thread_list macro): read as plain rows,
# not ORM objects (building and tracking them cost more than the queries).
THREAD_LIST_COLUMNS = (MailThread.id, MailThread.subject, MailThread.snippet, MailThread.owner_id, MailThread.shared,
                       MailThread.needs_deal_choice, MailThread.message_count, MailThread.last_message_at)
LIST_LINK_COLUMNS = (ThreadLink.id, ThreadLink.thread_id, ThreadLink.item_type, ThreadLink.item_id,
                     ThreadLink.origin, ThreadLink.removed)


_ID_MARK = 918273645  # stands for the id in a URL built once per list (url_for costs ~20 µs a call)


class _Urls:
    """url_for of one endpoint taking one id, built once per list and filled in per row."""

    def __init__(self):
        self.known: dict[str, tuple[str, str]] = {}

    def __call__(self, endpoint: str, arg: str, ident: int) -> str:
        parts = self.known.get(endpoint)
        if parts is None:
            url = url_for(endpoint, **{arg: _ID_MARK})
            parts = self.known[endpoint] = tuple(url.split(str(_ID_MARK), 1)) if url.count(str(_ID_MARK)) == 1 \
                else None
            if parts is None:
                return url_for(endpoint, **{arg: ident})
        return f"{parts[0]}{ident}{parts[1]}"


def _list_link_row(lk, titles: dict, urls: _Urls) -> LinkRow:
    url = urls(ITEM_ENDPOINTS[lk.item_type], "item_id", lk.item_id) if lk.item_type in ITEM_ENDPOINTS else ""
    return LinkRow(lk, _title(titles, lk), url=url)


def thread_rows(threads: list) -> list[ThreadRow]:
    """The rows of a thread list (threads as objects or rows of THREAD_LIST_COLUMNS), in a fixed
    number of queries however many threads: owners, live links with their titles, each thread's
    newest message and, for the rep's own, its first recipient. A list shows no link reasons (the
    thread's page does), so none are worded here."""
    if not threads:
        return []
    ids = [t.id for t in threads]
    owners = user_names(t.owner_id for t in threads if t.owner_id != g.user.id)
    links: dict[int, list] = {i: [] for i in ids}
    session = db_session()
    found = session.execute(built_once(session, "list links", lambda dialect: select(
            *LIST_LINK_COLUMNS, link_title().label("title")).where(
            ThreadLink.company_id == bindparam("company_id"), in_param(ThreadLink.thread_id, "ids", dialect),
            ThreadLink.removed.is_(False))), {"company_id": g.company_id, "ids": ids}).all()
    for link in found:
        links[link.thread_id].append(link)
    titles = link_titles(found)
    newest = thread_rules.last_messages(session, g.company_id, ids)
    rows = []
    urls = _Urls()
    for thread in threads:
        last = newest.get(thread.id)
        sender = (last.sender_name or last.sender_email) if last else ""
        # The rep's own mail (from any of their addresses): who it went to says more than "me".
        if last and last.sender_user_id == g.user.id:
            sender = f"You → {last.to_name or last.to_email}" if last.to_email else "You"
        shown = sorted(links[thread.id], key=_link_order)
        rows.append(ThreadRow(thread, sender, [_list_link_row(lk, titles, urls) for lk in shown],
                              owners.get(thread.owner_id, ""), urls("web.thread_view", "thread_id", thread.id)))
    return rows


@dataclass
class Conversations:
    """One page of the threads linked to an item, newest first."""

    rows: list
    total: int
    page: int
    pages: int


def page_statements(query: Select) -> tuple[Select, Select]:
    """The count of ``query``'s threads (newest first) and one page of them (THREAD_LIST_COLUMNS and
    the count, ``total``, :offset and :limit): built once, they run for any page. The page's rows
    carry the count (a window over all the threads, which the page's sort reads anyway), so the
    count runs alone only for a page past the end."""
    return (select(func.count()).select_from(query.order_by(None).subquery()),
            query.with_only_columns(*THREAD_LIST_COLUMNS, func.count().over().label("total"))
            .offset(bindparam("offset")).limit(bindparam("limit")))


def conversations(statements: tuple[Select, Select], params: dict, size: int) -> Conversations:
    """The page (?page=, ``size`` threads) of the threads ``statements`` (page_statements) find
    with ``params``."""
    count, rows = statements
    session, page = db_session(), page_number()
    threads = session.execute(rows, {**params, "offset": (page - 1) * size, "limit": size}).all()
    total = threads[0].total if threads else (session.scalar(count, params) if page > 1 else 0)
    return Conversations(thread_rows(threads), total, page, page_count(total, size))


@bp.get("/inbox")
@signin_required
def inbox():
    term = (request.args.get("q") or "")[:200]
    include_auto = request.args.get("auto") == "1"
    page = page_number()
    filters, filter_errors = inbox_filters_of(request.args)
    # The plain inbox shows how many conversations it holds; a search shows its pages without
    # counting every match first (a common word matches a third of a big mailbox).
    # Read where they are defined (at call time), so there is one place to change them.
    size, count_limit = page_format.PAGE_SIZE, inbox_rules.PAGE_COUNT_LIMIT
    found = inbox_page(db_session(), actor(), term, include_auto, (page - 1) * size, size,
                       with_total=not clean_term(term), count_limit=count_limit, filters=filters,
                       columns=THREAD_LIST_COLUMNS)
    total = found.known_total
    pages = page_count(total, size) if total is not None else None
    return render_template("web/inbox.html", rows=thread_rows(found.rows), term=term, include_auto=include_auto,
                           page=page, pages=pages, total=total, more_than=found.more_than, more=found.more,
                           filter_bar=filter_bar(term, include_auto, filters, filter_errors)), \
        400 if filter_errors else 200


@dataclass
class MessageShown:
    """One message as the thread page shows it: the rep's note, the text body in shown and folded
    segments (HTML bodies fold their quote inside the mail frame) and the listed attachments."""
    note: list[Segment]
    segments: list[Segment]
    attachments: list


def _one_fold(segments: list[Segment]) -> list[Segment]:
    """A signature right above the quote folds with it: one "…", not two in a row."""
    merged: list[Segment] = []
    for seg in segments:
        if merged and seg.kind != "text" and merged[-1].kind != "text":
            kind = "quote" if "quote" in (seg.kind, merged[-1].kind) else seg.kind
            merged[-1] = Segment(kind, merged[-1].text + "\n\n" + seg.text)
        else:
            merged.append(seg)
    return merged


def shown_message(message: MailMessage) -> MessageShown:
    return MessageShown(note=_one_fold(split_text(message.forward_note)),
                        segments=[] if message.body_html else _one_fold(split_text(message.body_text)),
                        attachments=[a for a in message.attachments if not a.inline])


def _external_unknown(messages: list[MailMessage]):
    """The first participant who is no contact yet: the prefill for 'create a person'."""
    for message in reversed(messages):
        for p in message.participants:
            if p.user_id is None and p.person_id is None:
                return p
    return None


@bp.get("/inbox/threads/<int:thread_id>")
@signin_required
def thread_view(thread_id: int):
    thread = thread_for(db_session(), actor(), thread_id)
    show_images = request.args.get("images") == "1"
    messages = db_session().scalars(select(MailMessage).where(
        MailMessage.thread_id == thread.id, MailMessage.deleted_at.is_(None))
        .order_by(MailMessage.sent_at, MailMessage.id)).all()
    forwarders = user_names(m.forwarded_by_user_id for m in messages)
    blocked = sum(sanitize_mail_html(m.body_html).blocked_images for m in messages if m.body_html)
    find_type = request.args.get("find_type") if request.args.get("find_type") in ITEM_LABELS else "deal"
    find_term = (request.args.get("find") or "")[:200]
    found = search_items(find_type, find_term) if find_term else None
    removed = [lk for lk in thread.links if lk.removed]
    arrivals: dict[int, list[InboundRecord]] = {}
    for record in db_session().scalars(select(InboundRecord).where(
            InboundRecord.company_id == g.company_id,
            InboundRecord.message_id.in_([m.id for m in messages])).order_by(InboundRecord.id)):
        arrivals.setdefault(record.message_id, []).append(record)
    return render_template(
        "web/thread.html", thread=thread, messages=messages, forwarders=forwarders,
        links=link_rows(thread.links), removed=removed,
        removed_titles=item_titles(db_session(), g.company_id, ((lk.item_type, lk.item_id) for lk in removed)),
        is_owner=thread.owner_id == g.user.id, owner_name=user_names([thread.owner_id]).get(thread.owner_id, ""),
        deal_choice=manual.deal_choice(db_session(), actor(), thread),
        show_images=show_images, blocked_images=blocked, find_type=find_type, find_term=find_term,
        found=found, unknown=_external_unknown(messages), arrivals=arrivals,
        shown={m.id: shown_message(m) for m in messages})


@bp.get("/inbox/messages/<int:message_id>/attachments/<int:attachment_id>")
@signin_required
def message_attachment(message_id: int, attachment_id: int):
    """A download; with ?preview=1 an image or PDF is shown in the browser instead (still with
    nosniff and a sandboxing policy; any other type stays a download)."""
    return attachment_response(message_for(db_session(), actor(), message_id), attachment_id,
                               inline=request.args.get("preview") == "1")


@bp.get("/inbox/messages/<int:message_id>/body")
@signin_required
def message_body(message_id: int):
    """The sanitized HTML of one message, for a sandboxed iframe with its own strict policy."""
    message = message_for(db_session(), actor(), message_id)
    show_images = request.args.get("images") == "1"
    inline = {}
    for attachment in message.attachments:
        if attachment.content_id and attachment.content_type.startswith("image/"):
            try:
                data = services().blobs.get(attachment.sha256)
            except (OSError, ValueError):
                continue
            uri = inline_image_uri(attachment.content_type, data)
            if uri:
                inline[attachment.content_id.strip("<>")] = uri
    # The quoted history is cut off before sanitizing, and each part is sanitized on its own.
    shown, quoted = split_html(message.body_html or "")
    clean = sanitize_mail_html(shown, show_images=show_images, inline_images=inline)
    folded = sanitize_mail_html(quoted, show_images=show_images, inline_images=inline).html if quoted else ""
    response = make_response(render_template("web/mail_body.html", html=clean.html, quoted=folded))
    response.headers["Content-Security-Policy"] = mail_body_csp(show_images)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
