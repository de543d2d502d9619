"""Template filters and small display helpers shared by the page modules."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

from flask import current_app, g, has_request_context, request, url_for

from ..domain.timezones import known_zones, zone_named
from ..request_scope import PREVIEW_TYPES

ITEM_LABELS = {"deal": "Deal", "lead": "Lead", "project": "Project", "person": "Person"}
ITEM_ENDPOINTS = {"deal": "web.deal_view", "lead": "web.lead_view", "project": "web.project_view",
                  "person": "web.person_view"}
ORIGIN_LABELS = {"address": "sent to its Smart Bcc address", "auto": "linked automatically",
                 "manual": "linked by hand"}
PAGE_SIZE = 25


# The viewer's time zone: their own choice (Settings › Your account), else the browser's (the
# `tz` cookie static/js/app/app.js sets from Intl.DateTimeFormat), else UTC.
TZ_COOKIE = "tz"


def viewer_zone() -> tzinfo:
    if has_request_context() and "viewer_zone" in g:
        return g.viewer_zone
    zone = None
    if has_request_context():
        user = g.get("user")
        zone = zone_named(getattr(user, "time_zone", None)) or zone_named(request.cookies.get(TZ_COOKIE))
        g.viewer_zone = zone or UTC
    return zone or UTC


def browser_zone_name() -> str:
    """The browser's zone as it reported it ("" when unknown), for Your account."""
    name = request.cookies.get(TZ_COOKIE) if has_request_context() else None
    return name if zone_named(name) else ""


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:  # stored naive values are UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(viewer_zone())


def relative_when(value: datetime | None, now: datetime | None = None) -> str:
    """A date for lists, in the viewer's zone: "today 14:05", the weekday ("Tue") within the last
    week, "3 Nov" this year, "3 Nov 2025" before."""
    if value is None:
        return ""
    local = _local(value)
    today = _local(now or datetime.now(timezone.utc)).date()
    day = local.date()
    if day == today:
        return f"today {local:%H:%M}"
    if today - timedelta(days=7) < day < today:
        return f"{local:%a}"
    if day.year == today.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def zone_label(local: datetime) -> str:
    abbr = local.tzname() or ""
    # Zones without a letter abbreviation report "+03"; the zone's name says more then.
    return abbr if abbr[:1].isalpha() else f"{abbr} ({local.tzinfo})"


def full_when(value: datetime | None) -> str:
    """Date, time and zone in the viewer's zone: "5 Dec 2026, 16:13 EST"."""
    if value is None:
        return ""
    local = _local(value)
    return f"{local.day} {local:%b %Y, %H:%M} {zone_label(local)}"


def size(num: int | None) -> str:
    num = num or 0
    if num < 1024:
        return f"{num} bytes"
    if num < 1024 * 1024:
        return f"{num / 1024:.1f} KB"
    return f"{num / (1024 * 1024):.1f} MB"


# Attachment kinds for the icon, and whether the page previews it (the types attachment_response
# shows in the browser: images and PDFs, never SVG or HTML).
_KINDS = (("image/", "image"), ("application/pdf", "pdf"), ("text/", "text"), ("zip", "archive"),
          ("compressed", "archive"), ("spreadsheet", "sheet"), ("ms-excel", "sheet"), ("wordprocessing", "doc"),
          ("msword", "doc"), ("presentation", "slides"), ("powerpoint", "slides"), ("audio/", "audio"),
          ("video/", "video"))
_KIND_LABELS = {"image": "IMG", "pdf": "PDF", "text": "TXT", "archive": "ZIP", "sheet": "XLS", "doc": "DOC",
                "slides": "PPT", "audio": "AUD", "video": "VID", "file": "FILE"}


def attachment_kind(content_type: str | None, filename: str | None = None) -> tuple[str, str]:
    """(kind, label) of an attachment for its icon: ("pdf", "PDF"); the label is the file's
    extension when it has a short one ("XLSX"), else the kind's."""
    ctype = (content_type or "").lower()
    kind = next((k for marker, k in _KINDS if marker in ctype), "file")
    ext = (filename or "").rpartition(".")[2] if "." in (filename or "") else ""
    label = ext.upper() if ext.isascii() and ext.isalnum() and len(ext) <= 4 else _KIND_LABELS[kind]
    return kind, label


def preview_kind(content_type: str | None) -> str:
    """"image", "pdf" or "" (no preview)."""
    ctype = (content_type or "").lower().split(";")[0].strip()
    if ctype not in PREVIEW_TYPES:
        return ""
    return "pdf" if ctype == "application/pdf" else "image"


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
    app.add_template_filter(relative_when, "when")
    app.add_template_filter(full_when, "full_when")
    app.add_template_filter(attachment_kind, "attachment_kind")
    app.add_template_filter(preview_kind, "preview_kind")
    app.add_template_global(viewer_zone, "viewer_zone")
    app.add_template_global(browser_zone_name, "browser_zone_name")
    app.add_template_global(known_zones, "known_zones")
    app.add_template_filter(size, "filesize")
    app.add_template_filter(duration, "duration")
    app.add_template_global(item_url, "item_url")
    app.add_template_global(ITEM_LABELS, "ITEM_LABELS")
    app.add_template_global(ORIGIN_LABELS, "ORIGIN_LABELS")
