"""Template filters and small display helpers shared by the page modules."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, request, url_for

ITEM_LABELS = {"deal": "Deal", "lead": "Lead", "project": "Project", "person": "Person"}
ITEM_ENDPOINTS = {"deal": "web.deal_view", "lead": "web.lead_view", "project": "web.project_view",
                  "person": "web.person_view"}
ORIGIN_LABELS = {"address": "sent to its Smart Bcc address", "auto": "linked automatically",
                 "manual": "linked by hand"}
PAGE_SIZE = 25


def when(value: datetime | None) -> str:
    """A short UTC date: the time for today, otherwise day and month (and year if not this one)."""
    if value is None:
        return ""
    now = datetime.now(timezone.utc)
    if value.date() == now.date():
        return value.strftime("%H:%M")
    if value.year == now.year:
        return f"{value.day} {value:%b}"
    return f"{value.day} {value:%b %Y}"


def full_when(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y, %H:%M} UTC" if value else ""


def size(num: int | None) -> str:
    num = num or 0
    if num < 1024:
        return f"{num} bytes"
    if num < 1024 * 1024:
        return f"{num / 1024:.1f} KB"
    return f"{num / (1024 * 1024):.1f} MB"


def item_url(item_type: str, item_id: int) -> str:
    return url_for(ITEM_ENDPOINTS[item_type], item_id=item_id)


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def page_count(total: int, per_page: int) -> int:
    """How many pages of ``per_page`` rows ``total`` rows fill (at least one, for the empty list)."""
    return max(1, -(-total // per_page))


def capitalize_first(text: str) -> str:
    # Jinja's capitalize lower-cases the rest, which would mangle deal titles inside reasons.
    return text[:1].upper() + text[1:] if text else ""


def duration(seconds: float | None) -> str:
    """A wait in words: "40 s", "3 min 5 s", "2 h 10 min"."""
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def has_endpoint(name: str) -> bool:
    # Pages of optional modules (mailbox connections) are linked only when they are installed.
    return name in current_app.view_functions


def register_filters(app) -> None:
    app.add_template_global(has_endpoint, "has_endpoint")
    app.add_template_filter(capitalize_first, "capitalize_first")
    app.add_template_filter(when, "when")
    app.add_template_filter(full_when, "full_when")
    app.add_template_filter(size, "filesize")
    app.add_template_filter(duration, "duration")
    app.add_template_global(item_url, "item_url")
    app.add_template_global(ITEM_LABELS, "ITEM_LABELS")
    app.add_template_global(ORIGIN_LABELS, "ORIGIN_LABELS")
