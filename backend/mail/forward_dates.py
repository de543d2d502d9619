"""Parse the dates mail clients print in forwarded-message header blocks (RFC 2822, ISO and localized English/Italian/German/French/Spanish forms)."""
from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from .forward_labels import fold

# Built on stdlib only: python-dateutil is merely a transitive dependency here,
# and its fuzzy mode fills missing fields from today's date, which would invent
# dates for the CRM.

MAX_DATE_LENGTH = 200


def _months() -> dict[str, int]:
    names = [
        # en, it, de, fr, es, ru (genitive, as printed in dates)
        "january jan|gennaio gen|januar janner jaenner|janvier janv|enero ene|января янв",
        "february feb|febbraio|februar|fevrier fevr fev|febrero|февраля фев",
        "march mar|marzo|marz maerz mrz|mars|marzo|марта мар",
        "april apr|aprile|april|avril avr|abril abr|апреля апр",
        "may|maggio mag|mai|mai|mayo|мая",
        "june jun|giugno giu|juni|juin|junio|июня июн",
        "july jul|luglio lug|juli|juillet juil|julio|июля июл",
        "august aug|agosto ago|august|aout|agosto|августа авг",
        "september sep sept|settembre set|september|septembre|septiembre setiembre|сентября сен",
        "october oct|ottobre ott|oktober okt|octobre|octubre|октября окт",
        "november nov|novembre|november|novembre|noviembre|ноября ноя",
        "december dec|dicembre dic|dezember dez|decembre|diciembre|декабря дек",
    ]
    table: dict[str, int] = {}
    for number, group in enumerate(names, start=1):
        for word in group.replace("|", " ").split():
            table[fold(word)] = number
    return table


MONTHS = _months()

# Weekday abbreviations that collide with a month name ("mar" is Tuesday in
# Italian, French and Spanish Gmail: "mar 4 mar 2025").
_WEEKDAY_COLLISIONS = frozenset({"mar"})

_TZ_NAMES = {
    "gmt": 0, "utc": 0, "ut": 0, "z": 0, "wet": 0, "bst": 60, "west": 60, "cet": 60, "mez": 60,
    "cest": 120, "mesz": 120, "eet": 120, "eest": 180, "msk": 180, "est": -300, "edt": -240,
    "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "jst": 540,
    "ist": 330, "aest": 600, "aedt": 660,
}

_RFC_RE = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_ISO_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[t ](\d{2}):(\d{2})(?::(\d{2}))?")
_GMT_OFFSET_RE = re.compile(r"\b(?:gmt|utc)\s?([+-])\s?(\d{1,2})(?::?(\d{2}))?\b")
_NUM_OFFSET_RE = re.compile(r"(?<![\w:])([+-])(\d{2}):?(\d{2})\b")
_TIME_RE = re.compile(r"(?<!\d)(\d{1,2})[:h](\d{2})(?::(\d{2}))?(?!\d)(\s?([ap])\.?\s?m\b\.?)?")
_NUMERIC_DATE_RE = re.compile(r"(?<!\d)(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?!\d)")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")


def _make(year, month, day, hour, minute, second, offset_minutes, default_tz) -> datetime | None:
    try:
        tz = timezone(timedelta(minutes=offset_minutes)) if offset_minutes is not None else default_tz
        value = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except (ValueError, OverflowError):
        return None
    return value.astimezone(timezone.utc)


def _extract_offset(text: str) -> tuple[int | None, str]:
    match = _GMT_OFFSET_RE.search(text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return sign * minutes, text[: match.start()] + " " + text[match.end():]
    match = _NUM_OFFSET_RE.search(text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        return sign * (int(match.group(2)) * 60 + int(match.group(3))), text[: match.start()] + " " + text[match.end():]
    return None, text


def _extract_time(text: str) -> tuple[tuple[int, int, int] | None, bool, str]:
    """(hour, minute, second) or None, whether AM/PM was written, the rest."""
    match = _TIME_RE.search(text)
    if not match:
        return None, False, text
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    meridiem = match.group(5)
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError("hour out of range for AM/PM")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    return (hour, minute, second), bool(meridiem), text[: match.start()] + " " + text[match.end():]


def _ymd_from_numbers(a: str, b: str, c: str, dayfirst: bool) -> tuple[int, int, int] | None:
    if len(a) == 4:
        return int(a), int(b), int(c)
    if len(c) not in (2, 4):
        return None
    year = int(c) + (2000 if len(c) == 2 else 0)
    first, second = int(a), int(b)
    if first > 12:
        dayfirst = True
    elif second > 12:
        dayfirst = False
    return (year, second, first) if dayfirst else (year, first, second)


def parse_forward_date(value: str | None, default_tz: timezone | None = None,
                       dayfirst: bool | None = None) -> datetime | None:
    """The instant written in a forward header, as an aware UTC datetime, or None.

    ``default_tz`` applies when the text names no zone (Gmail and Outlook print
    the forwarder's local time without one); ``dayfirst`` settles all-numeric
    dates like 03/04/2025; by default they are read day first unless the time
    is written with AM/PM, which only US-English clients combine with numbers."""
    if not value:
        return None
    text = value.strip()[:MAX_DATE_LENGTH]
    default_tz = default_tz or timezone.utc
    if _RFC_RE.match(text):
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=default_tz)
            return parsed.astimezone(timezone.utc)
    lowered = fold(text)
    iso = _ISO_RE.search(lowered)
    offset, lowered = _extract_offset(lowered)
    if iso:
        year, month, day, hour, minute = (int(g) for g in iso.groups()[:5])
        return _make(year, month, day, hour, minute, int(iso.group(6) or 0), offset, default_tz)
    try:
        clock, meridiem, lowered = _extract_time(lowered)
    except ValueError:
        return None
    if dayfirst is None:
        dayfirst = not meridiem
    hour, minute, second = clock or (0, 0, 0)
    tokens = _TOKEN_RE.findall(lowered)
    if offset is None:
        for token in tokens:
            if token in _TZ_NAMES:
                offset = _TZ_NAMES[token]
                break
    numeric = _NUMERIC_DATE_RE.search(lowered)
    month_tokens = [t for t in tokens if t in MONTHS]
    if not month_tokens and numeric:
        ymd = _ymd_from_numbers(*numeric.groups(), dayfirst=bool(dayfirst))
        if ymd is None:
            return None
        return _make(*ymd, hour, minute, second, offset, default_tz)
    if not month_tokens:
        return None
    month_word = month_tokens[0]
    if len(month_tokens) > 1 and month_word in _WEEKDAY_COLLISIONS:
        month_word = month_tokens[1]
    month = MONTHS[month_word]
    numbers = [t for t in tokens if t.isdigit()]
    years = [int(t) for t in numbers if len(t) == 4]
    days = [int(t) for t in numbers if len(t) <= 2 and 1 <= int(t) <= 31]
    if not years or not days:
        return None
    return _make(years[0], month, days[0], hour, minute, second, offset, default_tz)
