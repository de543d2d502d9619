"""Turn raw RFC 5322 bytes into a ParsedMessage without ever raising, in bounded time."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import timezone
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from .automatic import AUTO_HEADERS, classify
from .base64_runs import Runs
from .headers import clean_text, decode_words, parse_address_header, unescape
from .message import ParsedMessage
from .parts import MAX_DEFECTS, RAW_HEADER_SLICE, Budget, add_defect, raw_items, unfold, walk
from .policies import POLICY, RAW_POLICY

MAX_HEADER_VALUE = 8 * 1024
MAX_IDS = 100
_LEGACY_PARSE_BOUNDARIES = 2000

_LOOKUP = {
    "message-id", "in-reply-to", "references", "subject", "date", "from", "sender", "to",
    "cc", "bcc", "reply-to", "x-smartbcc-ref", *AUTO_HEADERS,
}
_ID = re.compile(r"<([^<>]*)>")

FEED_CHUNK = 64 * 1024


def parse_message(raw: bytes, **limits) -> ParsedMessage:
    """Parse one raw message. Never raises; problems are listed in ``defects``."""
    try:
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    except Exception as exc:  # noqa: BLE001 - not bytes at all
        return _unreadable(exc, hashlib.sha256())

    def slices():
        view = memoryview(data)
        for start in range(0, len(data), FEED_CHUNK):
            yield bytes(view[start:start + FEED_CHUNK])
    return parse_chunks(slices, **limits)


def parse_file(path) -> ParsedMessage:
    """``parse_message(path.read_bytes())`` without the message in memory as well: the parser
    reads the file in slices, so a 20 MB message costs only what the parser itself builds."""
    # Opened here, outside the parser's guard: a missing file is an error, not an unreadable mail.
    with open(path, "rb") as fh:
        def reads():
            fh.seek(0)
            while chunk := fh.read(FEED_CHUNK):
                yield chunk
        return parse_chunks(reads)


def parse_chunks(chunks, *, max_depth: int = 5, max_parts: int = 500,
                 max_header_count: int = 2000) -> ParsedMessage:
    """Parse the message ``chunks()`` yields (a new iteration each call, from the start)."""
    try:
        defects: list[str] = []
        msg = _parse_source(chunks, defects)
        budget = Budget(max_parts)
        limits = (max(max_depth, 0), max(max_header_count, 0))
        result = _from_message(msg, 0, limits, budget)
        if budget.exhausted:
            defects.append(f"more than {max_parts} MIME parts; the rest was skipped")
        # Whole-message problems go first, so the defect cap never hides them.
        result.defects = list(dict.fromkeys(defects + budget.notes + result.defects))[:MAX_DEFECTS + 1]
        return result
    except Exception as exc:  # noqa: BLE001 - last resort, every stage guards itself too
        digest = hashlib.sha256()
        try:
            for chunk in chunks():
                digest.update(chunk)
        except Exception:  # noqa: BLE001 - the hash of what could be read
            pass
        return _unreadable(exc, digest)


def _unreadable(exc: Exception, digest) -> ParsedMessage:
    return ParsedMessage(defects=[f"message unreadable ({type(exc).__name__})"], content_hash=digest.hexdigest())


def _feed(chunks, chosen) -> Message:
    """``BytesParser(policy=chosen).parsebytes(data)``, fed in slices: parsebytes first decodes the
    whole message into one string and wraps it in a StringIO (four bytes per character), some
    six times the message at once; slices keep the parser's own line buffers as the only copy.
    Long base64 runs (attachments) go past the parser's line-by-line reading (base64_runs.py)."""
    parser = BytesFeedParser(policy=chosen)
    runs = Runs()
    for piece in runs.collapse(chunks):
        parser.feed(piece)
    return runs.restore(parser.close())


def _count_boundary_lines(chunks) -> int:
    """``data.count(b"\\n--")`` over the slices (a match may straddle two of them)."""
    count, tail = 0, b""
    for chunk in chunks():
        count += (tail + chunk[:2]).count(b"\n--") + chunk.count(b"\n--")
        tail = (tail + chunk)[-2:]
    return count


def _parse_source(chunks, defects: list[str]) -> Message:
    # Even bounded, the header registry costs ~10x the rest per part; an absurd part count
    # is an attack or a broken generator, and raw-text reading finds the same structure.
    chosen = POLICY
    if _count_boundary_lines(chunks) > _LEGACY_PARSE_BOUNDARIES:
        defects.append(f"more than {_LEGACY_PARSE_BOUNDARIES} boundary lines; parsed in legacy mode")
        chosen = RAW_POLICY
    try:
        return _feed(chunks, chosen)
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting
        problem = type(exc).__name__
    if chosen is POLICY and problem != "RecursionError":
        try:  # the header registry is the only difference between the two policies
            msg = _feed(chunks, RAW_POLICY)
            defects.append(f"structured headers unreadable ({problem}); parsed in legacy mode")
            return msg
        except Exception as exc:  # noqa: BLE001
            problem = type(exc).__name__
    defects.append(f"MIME structure unreadable ({problem}); body kept as plain text")
    return BytesParser(policy=RAW_POLICY).parsebytes(b"".join(chunks()), headersonly=True)


def _guard(pm: ParsedMessage, what: str, fn, *args) -> None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - one unreadable field must not lose the rest
        add_defect(pm, f"{what} unreadable ({type(exc).__name__})")


def _header_text(value: object, limit: int = MAX_HEADER_VALUE) -> str:
    return clean_text(decode_words(unfold(value)), limit)


def _from_message(msg: Message, depth: int, limits: tuple[int, int],
                  budget: Budget) -> ParsedMessage:
    pm = ParsedMessage()
    found: dict[str, list[str]] = {}
    _guard(pm, "headers", _read_headers, pm, msg, limits[1], found)
    _guard(pm, "header fields", _read_fields, pm, found)
    _guard(pm, "MIME body", walk, pm, msg, budget,
           lambda part: _enclosed(pm, part, depth, limits, budget))
    _guard(pm, "auto-submission markers", _automatic, pm, found)
    _guard(pm, "content hash", _hash, pm)
    return pm


def _read_headers(pm: ParsedMessage, msg: Message, cap: int,
                  found: dict[str, list[str]]) -> None:
    items = raw_items(msg)
    for index, (name, value) in enumerate(items):
        lname = str(name).strip().lower()
        if lname in _LOOKUP and len(found.setdefault(lname, [])) < 50:
            found[lname].append(value)
        if index < cap:
            pm.headers.append((clean_text(unescape(name), 200), _header_text(value)))
    if len(items) > cap:
        add_defect(pm, f"{len(items)} headers; only the first {cap} kept")


def _first(found: dict[str, list[str]], name: str) -> str | None:
    values = found.get(name)
    return unfold(values[0]) if values else None


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    value = value[-RAW_HEADER_SLICE:]  # the newest references are at the end
    found = _ID.findall(value) or re.split(r"[\s,]+", value)
    ids = [i for i in ("".join(x.split())[:998] for x in found) if i]
    return list(dict.fromkeys(ids))[-MAX_IDS:]


def _read_fields(pm: ParsedMessage, found: dict[str, list[str]]) -> None:
    ids = _ids(_first(found, "message-id"))
    pm.message_id = ids[0] if ids else None
    pm.in_reply_to = _ids(_first(found, "in-reply-to"))
    pm.references = _ids(_first(found, "references"))
    subject = found.get("subject")
    pm.subject = " ".join(_header_text(subject[0]).split()) if subject else ""
    ref = found.get("x-smartbcc-ref")
    pm.smartbcc_ref = (_header_text(ref[0], 200).strip() or None) if ref else None
    date = _first(found, "date")
    if date and date.strip():
        try:
            parsed = parsedate_to_datetime(date.strip())
            if parsed.tzinfo is None:  # "-0000" means UTC with unknown local zone
                parsed = parsed.replace(tzinfo=timezone.utc)
            pm.date = parsed.astimezone(timezone.utc)
        except Exception:  # noqa: BLE001 - ValueError, OverflowError, TypeError seen
            add_defect(pm, f"unreadable Date header {clean_text(date, 60)!r}")
    for field, header, every in (("from_", "from", False), ("to", "to", True),
                                 ("cc", "cc", True), ("bcc", "bcc", True),
                                 ("reply_to", "reply-to", True), ("sender", "sender", False)):
        values = found.get(header) or []
        if not every and len(values) > 1:
            add_defect(pm, f"{len(values)} {header} headers; only the first used")
            values = values[:1]
        if not values:
            continue
        errors: list[str] = []
        addresses = parse_address_header(", ".join(unfold(v) for v in values),
                                         header.capitalize(), errors)
        for text in errors:
            add_defect(pm, text)
        if field == "sender":
            pm.sender_header = addresses[0] if addresses else None
        else:
            setattr(pm, field, addresses)


def _enclosed(pm: ParsedMessage, part: Message, depth: int, limits: tuple[int, int],
              budget: Budget) -> None:
    if depth + 1 > limits[0]:
        note = f"enclosed message nested deeper than {limits[0]} levels; not parsed"
        add_defect(pm, note)
        budget.notes.append(note)
        return
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    for sub in part.get_payload()[:10]:
        try:
            if cte == "base64" and not sub.keys() and isinstance(sub.get_payload(), str):
                # Forbidden by RFC 2046 but sent anyway; the stdlib took the base64 as a body.
                inner: list[str] = []
                enclosed = base64.b64decode(sub.get_payload().encode("ascii", "ignore") + b"==")
                sub = _parse_source(lambda: iter((enclosed,)), inner)
                for text in inner:
                    add_defect(pm, text)
            pm.attached_messages.append(_from_message(sub, depth + 1, limits, budget))
        except Exception as exc:  # noqa: BLE001 - e.g. RecursionError, bad base64
            add_defect(pm, f"enclosed message unreadable ({type(exc).__name__})")


def _automatic(pm: ParsedMessage, found: dict[str, list[str]]) -> None:
    """Keep the header values the automatic-mail rules read, then let them decide."""
    pm.auto_headers = {name: unfold(found[name][0]) for name in AUTO_HEADERS if found.get(name)}
    verdict = classify(pm)
    pm.auto_kind, pm.auto_rule = verdict.kind, verdict.rule
    pm.auto_reason = verdict.reason if verdict.kind else None


def _hash(pm: ParsedMessage) -> None:
    """Only what survives relaying: no Received/Message-ID, whitespace and line ends
    normalised, bodies compared after transfer decoding."""
    body = pm.text if pm.text is not None else (pm.html or "")
    fields = [
        pm.sender.key if pm.sender else "",
        pm.date.isoformat() if pm.date else "",
        " ".join(pm.subject.split()).lower(),
        " ".join(body.split()),
        ",".join(sorted(a.sha256 for a in pm.attachments)),
    ]
    pm.content_hash = hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()
