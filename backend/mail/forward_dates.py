"""Parse the dates mail clients print in forwarded-message header blocks: RFC 2822, ISO, numeric
and the localized forms of Gmail, Outlook, Apple Mail, Yahoo and HubSpot in some thirty languages
(word tables in ``forward_date_words``).

Stdlib only, and strict: a date is read only when every number in the text is accounted for
(one day, one month, one year, one time of day) and the month has a single reading. A month name
that means different months in different languages ("listopad": October in Croatian, November in
Czech and Polish) is settled by the ``language`` hint, else by the other words (a Polish weekday, the
Croatian "u" before the time, a weekday that only one of the readings falls on); when nothing
settles it, there is no date. A date without a time of day is no date either: clients always
print one, and midnight would be a guess. So is a capitalised zone it does not know ('WAT').

Left as conventions, not guesses: all-numeric dates are day first unless the time has AM/PM (or
``dayfirst`` says otherwise, or only the other order fits a printed weekday); "IST" is India,
"CST" US Central, "BST" British Summer Time; a weekday that fits no reading is ignored."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from . import forward_date_words as words
from .forward_labels import fold

MAX_DATE_LENGTH = 200
MIN_YEAR, MAX_YEAR = 1970, 2100
_APOSTROPHES = "'\u02bc\u2019`"
# Hint languages that read a shared month name like a neighbour does.
_HINT_ALIASES = {"sk": ("cs", "pl"), "bs": ("hr",), "sr": ("hr",), "nb": ("no",), "nn": ("no",)}


def _norm(value: str) -> str:
    """fold() (lower-case, accent-free, single-spaced), apostrophes dropped, and Hangul put back
    together (fold's NFKD splits it into jamo)."""
    for apostrophe in _APOSTROPHES:
        if apostrophe in value:
            value = value.replace(apostrophe, "")
    folded = fold(value)
    return folded if folded.isascii() else unicodedata.normalize("NFC", folded)


def _month_readings() -> dict[str, dict[int, frozenset[str]]]:
    """Folded month word -> {month: languages that read it so}; two keys where languages differ."""
    readings: dict[str, dict[int, set[str]]] = {}
    for lang, groups in words.MONTHS.items():
        for number, group in enumerate(groups.split("|"), start=1):
            for word in group.split():
                readings.setdefault(_norm(word), {}).setdefault(number, set()).add(lang)
    return {word: {m: frozenset(langs) for m, langs in r.items()} for word, r in readings.items()}


def _weekdays() -> tuple[dict[str, frozenset[int]], dict[str, frozenset[str]]]:
    """Folded weekday word -> the weekdays (0 = Monday) it names, and -> the languages that use it."""
    days: dict[str, set[int]] = {}
    langs: dict[str, set[str]] = {}
    for lang, groups in words.WEEKDAYS.items():
        for number, group in enumerate(groups.split("|")):
            for word in group.split():
                days.setdefault(_norm(word), set()).add(number)
                langs.setdefault(_norm(word), set()).add(lang)
    for word, codes in words.CONNECTORS.items():
        langs.setdefault(_norm(word), set()).update(codes.split())
    return ({w: frozenset(d) for w, d in days.items()}, {w: frozenset(c) for w, c in langs.items()})


MONTH_READINGS = _month_readings()
WEEKDAY_WORDS, LANGUAGE_WORDS = _weekdays()
_KNOWN_WORDS = MONTH_READINGS.keys() | WEEKDAY_WORDS.keys() | LANGUAGE_WORDS.keys()
_ENGLISH_MONTHS = {_norm(w): n for n, g in enumerate(words.MONTHS["en"].split("|"), 1) for w in g.split()}

_GMT_OFFSET_RE = re.compile(r"\b(?:gmt|utc)\s?([+\-\u2212])\s?(\d{1,2})(?::?(\d{2}))?(?!\d)", re.I)
_NUM_OFFSET_RE = re.compile(r"(?:(?<=\d:\d\d)|(?<![\w:+\-\u2212]))([+\-\u2212])(\d{2}):?(\d{2})(?![\d:])")
_ZONE_NAME_RE = re.compile(r"(?<![^\W\d_])[A-ZČ]{2,5}(?![^\W\d_])")
_UNKNOWN_ZONE_RE = re.compile(r"[A-Z]{2,4}T")
_TIME_RE = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(z(?![^\W\d_]))?(?![\d:])")
_WEAK_TIME_RE = re.compile(r"(?<![\d.])(\d{1,2})(?:\.|\s?h\s?)(\d{2})(?:[.:](\d{2}))?(?![\d.]?\d)")
_MERIDIEM_BEFORE_RE = re.compile(r"(午前|午後|上午|下午|오전|오후)\s*$")
_MERIDIEM_AFTER_RE = re.compile(r"\s*(?:([ap])\.?\s?m\.?|([μπ])\.?\s?μ\.?)(?![^\W\d_])")
_CJK_DATE_RE = re.compile(r"(?<!\d)(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일号號]")
_NUMERIC_DATE_RE = re.compile(r"(?<![\d.])(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{1,4})\.?(?!\d)")
_RFC_SHORT_YEAR_RE = re.compile(r"^(?:[a-z]{3},?\s*)?(\d{1,2})\s+([a-z]{3})\s+(\d{2})\s*$")
_CJK_WEEKDAY_RE = re.compile(r"(?:星期|週|周|礼拜|禮拜)([一二三四五六日天])|([月火水木金土日])(?:曜|\))|([월화수목금토일])(?:요일|\))")
_CJK_WEEKDAYS = {c: i for chars in ("一二三四五六日", "月火水木金土日", "월화수목금토일") for i, c in enumerate(chars)} | {"天": 6}
_DIGIT_RE = re.compile(r"\d")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+")


class _Clock(NamedTuple):
    hour: int
    minute: int
    second: int
    meridiem: bool


class _Candidate(NamedTuple):
    day: date
    langs: frozenset[str] | None  # the languages that read the month so; None: all do
    skip: int  # the token read as the month, so not as a weekday (-1: none)


def _cut(text: str, start: int, end: int) -> str:
    return text[:start] + " " + text[end:]


def _offset(sign: str, hours: str, minutes: str | None) -> int:
    hours_, minutes_ = int(hours), int(minutes or 0)
    if hours_ > 14 or minutes_ > 59:
        raise ValueError("not a UTC offset")
    return (-1 if sign in "-\u2212" else 1) * (hours_ * 60 + minutes_)


def _take_zone(text: str) -> tuple[int | None, str]:
    """The UTC offset (minutes) the original text writes, and the text without it: 'GMT+3', '-0400',
    '+03:00', or an abbreviation in capitals ('CEST', 'OESZ', 'SEČ'); all of them are cut out."""
    offset = None
    match = _GMT_OFFSET_RE.search(text)
    if match:
        offset = _offset(*match.groups())
        text = _cut(text, *match.span())
    match = _NUM_OFFSET_RE.search(text)
    if match:
        found = _offset(*match.groups())
        offset = found if offset is None else offset
        text = _cut(text, *match.span())
    for match in reversed(list(_ZONE_NAME_RE.finditer(text))):
        name = match.group()
        if name in words.ZONES:
            offset = words.ZONES[name] if offset is None else offset
            text = _cut(text, *match.span())
        elif _UNKNOWN_ZONE_RE.fullmatch(name) and _norm(name) not in _KNOWN_WORDS:
            raise ValueError(f"unknown time zone {name}")  # 'WAT', 'CAT': reading it as local time would be a guess
    return offset, text


def _clock(hour: int, minute: int, second: int, meridiem: str | None) -> _Clock:
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError("hour out of range for AM/PM")
        hour = hour % 12 + (12 if meridiem in ("p", "μ", "午後", "下午", "오후") else 0)
    return _Clock(hour, minute, second, bool(meridiem))


def _take_time(text: str, pattern: re.Pattern) -> tuple[_Clock | None, bool, str]:
    """The time of day, whether it said 'Z', and the text without it (and its AM/PM)."""
    found = list(pattern.finditer(text))
    if not found:
        return None, False, text
    if len(found) > 1:
        raise ValueError("two times of day")
    match = found[0]
    start, end = match.span()
    meridiem = None
    before = None if text.isascii() else _MERIDIEM_BEFORE_RE.search(text, max(0, start - 4), start)
    if before:
        meridiem, start = before.group(1), before.start()
    after = _MERIDIEM_AFTER_RE.match(text, end)
    if after and meridiem is None:
        meridiem, end = after.group(1) or after.group(2), after.end()
    zulu = pattern is _TIME_RE and bool(match.group(4))
    clock = _clock(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0), meridiem)
    return clock, zulu, _cut(text, start, end)


def _numeric_candidates(a: str, separator: str, b: str, c: str, dayfirst: bool) -> list[date]:
    """Readings of '28/10/2021', '2022/09/19', '27. 10. 2021', '28/10/21', preferred first."""
    if len(a) == 4:
        return [date(int(a), int(b), int(c))] if len(c) <= 2 else []
    if len(a) > 2 or len(c) not in (2, 4):
        return []
    year = int(c) if len(c) == 4 else int(c) + (2000 if int(c) < 70 else 1900)
    first, second = int(a), int(b)
    orders = [(second, first), (first, second)]  # (month, day): day first, then month first
    if separator == "." or first > 12:
        orders = orders[:1]
    elif second > 12:
        orders = orders[1:]
    elif not dayfirst:
        orders.reverse()
    readings = []
    for month, day in orders:
        try:
            readings.append(date(year, month, day))
        except ValueError:
            pass
    return readings


def _month_candidates(tokens: list[str]) -> list[_Candidate]:
    """Readings of '26. října 2021', 'Oct 27, 2021', '2021. október 26.': one month word, one day,
    one year. A word that is a month or a weekday ('mar', Tuesday in Italian) is the month only
    when no other month word is there; two different months are two candidates."""
    numbers = [t for t in tokens if t.isdigit()]
    years = [t for t in numbers if len(t) == 4]
    days = [t for t in numbers if len(t) <= 2]
    months = [i for i, t in enumerate(tokens) if t in MONTH_READINGS]
    plain = [i for i in months if tokens[i] not in WEEKDAY_WORDS]
    if len(numbers) != 2 or len(years) != 1 or len(days) != 1 or not months:
        return []
    candidates = []
    for index in plain or months:
        readings = MONTH_READINGS[tokens[index]]
        for month, langs in readings.items():
            try:
                day = date(int(years[0]), month, int(days[0]))
            except ValueError:
                continue
            candidates.append(_Candidate(day, langs if len(readings) > 1 else None, index))
    return candidates


def _rfc_short_year(text: str) -> list[_Candidate]:
    """RFC 2822's obsolete two-digit year ('Wed, 27 Oct 21'), English months only."""
    short = _RFC_SHORT_YEAR_RE.match(text.strip())
    if not short or short.group(2) not in _ENGLISH_MONTHS:
        return []
    year = int(short.group(3)) + (2000 if int(short.group(3)) < 50 else 1900)
    return [_Candidate(date(year, _ENGLISH_MONTHS[short.group(2)], int(short.group(1))), None, -1)]


def _hint_languages(language: str | None) -> frozenset[str]:
    if not language:
        return frozenset()
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return frozenset((code, *_HINT_ALIASES.get(code, ())))


def _narrow(candidates: list[_Candidate], langs: frozenset[str]) -> list[_Candidate]:
    kept = [c for c in candidates if c.langs is None or c.langs & langs]
    return kept or candidates


def _weekday_score(candidate: _Candidate, tokens: list[str], cjk_days: list[int]) -> int:
    weekday = candidate.day.weekday()
    score = sum(weekday in WEEKDAY_WORDS[t] for i, t in enumerate(tokens)
                if i != candidate.skip and t in WEEKDAY_WORDS)
    return score + sum(weekday == d for d in cjk_days)


def _choose(candidates: list[_Candidate], tokens: list[str], text: str, hint: frozenset[str],
            ordered: bool) -> date | None:
    """The one date the candidates agree on once the language hint, the words that name a
    language and the weekday have had their say; with ``ordered`` (numeric readings, most likely
    first), the first of those the weekday fits best."""
    if len({c.day for c in candidates}) == 1:
        return candidates[0].day
    if hint:
        candidates = _narrow(candidates, hint)
    evidence = frozenset().union(*(LANGUAGE_WORDS[t] for t in tokens if t in LANGUAGE_WORDS))
    candidates = _narrow(candidates, evidence)
    cjk_days = [] if text.isascii() else [
        _CJK_WEEKDAYS[next(g for g in m.groups() if g)] for m in _CJK_WEEKDAY_RE.finditer(text)]
    scores = [_weekday_score(c, tokens, cjk_days) for c in candidates]
    best = [c.day for c, s in zip(candidates, scores) if s == max(scores, default=0)]
    if not best or (not ordered and len(set(best)) > 1):
        return None
    return best[0]


def _read(text: str, default_tz, dayfirst: bool | None, language: str | None) -> datetime | None:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    offset, text = _take_zone(text)
    rest = _norm(text)
    clock, zulu, rest = _take_time(rest, _TIME_RE)
    if zulu and offset is None:
        offset = 0
    tokens = _TOKEN_RE.findall(rest)
    plain_month = any(t in MONTH_READINGS and t not in WEEKDAY_WORDS for t in tokens)
    cjk = None if rest.isascii() else _CJK_DATE_RE.search(rest)
    numeric = None if cjk or plain_month else _NUMERIC_DATE_RE.search(rest)
    if cjk or numeric:
        rest = _cut(rest, *(cjk or numeric).span())
    if clock is None:
        clock, _, rest = _take_time(rest, _WEAK_TIME_RE)
    if clock is None:
        return None
    tokens = _TOKEN_RE.findall(rest)
    if cjk or numeric:
        if any(t.isdigit() for t in tokens):
            return None
        if cjk:
            readings = [date(*(int(g) for g in cjk.groups()))]
        else:
            first_day = not clock.meridiem if dayfirst is None else dayfirst
            readings = _numeric_candidates(*numeric.groups(), dayfirst=first_day)
        candidates = [_Candidate(day, None, -1) for day in readings]
    else:
        candidates = _rfc_short_year(rest) or _month_candidates(tokens)
    found = _choose(candidates, tokens, rest, _hint_languages(language), ordered=bool(numeric))
    if found is None or not MIN_YEAR <= found.year <= MAX_YEAR:
        return None
    tz = timezone(timedelta(minutes=offset)) if offset is not None else default_tz
    moment = datetime(found.year, found.month, found.day, clock.hour, clock.minute, clock.second, tzinfo=tz)
    return moment.astimezone(timezone.utc)


def parse_forward_date(value: str | None, default_tz: timezone | None = None,
                       dayfirst: bool | None = None, language: str | None = None) -> datetime | None:
    """The instant written in a forward header, as an aware UTC datetime, or None.

    ``default_tz`` applies when the text names no zone (Gmail and Outlook print the forwarder's
    local time without one); ``dayfirst`` settles all-numeric dates like 03/04/2025 (by default
    day first, unless the time is written with AM/PM, which only US English combines with
    numbers; a weekday that fits only the other order wins); ``language`` (an ISO code like "hr",
    "pt-BR") settles month names that languages read differently."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()[:MAX_DATE_LENGTH]
    if not _DIGIT_RE.search(text):
        return None
    try:
        return _read(text, default_tz or timezone.utc, dayfirst, language)
    except (ValueError, OverflowError, ArithmeticError):
        return None
