"""The global search: the full results page /search?q= (works without JavaScript) and the JSON of
the header's as-you-type suggestions. The rule is backend/domain/finder.py."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import current_app, render_template, request, url_for

from ..domain import finder, inbox_filters
from ..domain.errors import DomainError
from ..request_scope import actor, db_session
from .auth import signin_required
from .blueprint import bp

PAGE_LIMIT = 20  # per kind on the results page
SUGGEST_LIMIT = 5  # per kind in the suggestions
SUGGEST_MIN = 2  # characters typed before suggestions are looked up


def result_url(found: finder.Found) -> str:
    if found.item_type == "conversation":
        return url_for("web.thread_view", thread_id=found.id)
    if found.item_type == "organization":  # its page where the app has one, else its conversations
        if "web.organization_view" in current_app.view_functions:
            return url_for("web.organization_view", organization_id=found.id)
        return url_for("web.inbox", organization_id=found.id)
    return url_for(f"web.{found.item_type}_view", item_id=found.id)


def more_url(kind: str, term: str) -> str | None:
    """Where all the matches of a kind are listed, when there is such a page."""
    return url_for("web.inbox", q=term) if kind == "conversation" else None


def suggestions(term: str) -> dict:
    """The suggestions' JSON: the groups, each with its items' title, detail and URL."""
    term = (term or "")[:finder.MAX_TERM]
    found = finder.find(db_session(), actor(), term, SUGGEST_LIMIT) if len(term.strip()) >= SUGGEST_MIN \
        else finder.Findings(term.strip())
    return {"term": found.term, "problem": found.problem, "count": found.count,
            "all_url": url_for("web.search_page", q=found.term) if found.term else url_for("web.search_page"),
            "groups": [{"kind": g.kind, "label": g.label, "more": g.more, "more_url": more_url(g.kind, found.term),
                        "items": [{"kind": f.item_type, "id": f.id, "title": f.title, "detail": f.detail,
                                   "url": result_url(f)} for f in g.items]} for g in found.groups]}


@bp.get("/search")
@signin_required
def search_page():
    term = (request.args.get("q") or "")[:finder.MAX_TERM]
    found = finder.find(db_session(), actor(), term, PAGE_LIMIT)
    return render_template("web/search.html", found=found, term=found.term, result_url=result_url,
                           more_url=more_url, limit=PAGE_LIMIT)


# ---- the /inbox page's filter bar (the rule: backend/domain/inbox_filters.py)

def inbox_filters_of(args) -> tuple[inbox_filters.InboxFilters, list[str]]:
    """The page's filters and, when some value cannot be used, the messages to show (the list is
    then shown unfiltered)."""
    try:
        return inbox_filters.read_filters(db_session(), actor(), args), []
    except DomainError as problem:
        return inbox_filters.InboxFilters(), [m for msgs in problem.errors.values() for m in msgs] or [problem.message]


@dataclass
class FilterBar:
    filters: inbox_filters.InboxFilters
    errors: list[str]
    chips: list[tuple[str, str]]  # (label, the inbox's URL without this filter) of each active filter
    clear_url: str  # the inbox without filters, the search kept
    names: dict = field(default_factory=lambda: dict(inbox_filters.FILTERS))


def filter_bar(term: str, include_auto: bool, filters: inbox_filters.InboxFilters, errors: list[str]) -> FilterBar:
    return FilterBar(filters, errors, filter_chips(term, include_auto, filters),
                     url_for("web.inbox", **_kept(term, include_auto)))


def _kept(term: str, include_auto: bool) -> dict:
    args = {"q": term} if term else {}
    if include_auto:
        args["auto"] = "1"
    return args


def filter_chips(term: str, include_auto: bool, filters: inbox_filters.InboxFilters) -> list[tuple[str, str]]:
    """(label, the inbox's URL without this filter) of each active filter; the search is kept."""
    base = _kept(term, include_auto)
    chips = []

    def without(**changes) -> str:
        args = {**base, **replace(filters, **changes).args()}
        return url_for("web.inbox", **args)

    for kind in filters.kinds:
        chips.append((inbox_filters.FILTERS[kind], without(kinds=tuple(k for k in filters.kinds if k != kind))))
    if filters.person_id:
        chips.append((f"With {filters.person_name}", without(person_id=None)))
    if filters.organization_id:
        chips.append((f"With {filters.organization_name}", without(organization_id=None)))
    if filters.after:
        chips.append((f"From {filters.after:%-d %b %Y}", without(after=None)))
    if filters.before:
        chips.append((f"Before {filters.before:%-d %b %Y}", without(before=None)))
    return chips
