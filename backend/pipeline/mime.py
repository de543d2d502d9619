"""Turn raw RFC 5322 bytes into a ParsedMessage without ever raising, in bounded time."""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from datetime import timezone
from email import policy
from email.policy import EmailPolicy
from email.message import Message
from email.feedparser import BytesFeedParser
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from .message import AttachmentPart, ParsedMessage
from .mime_addresses import (
    clean_text, codec_name, decode_bytes, decode_words, parse_address_header, unescape,
)

MAX_HEADER_VALUE = 8 * 1024
MAX_BODY_CHARS = 2_000_000
MAX_IDS = 100
MAX_DEFECTS = 100
MAX_MULTIPART_DEPTH = 100  # independent of max_depth, which counts enclosed messages
_RAW_HEADER_SLICE = 64 * 1024  # decoding more than this of one header is wasted work
_FETCH_LIMIT = 256  # longer header values skip the header registry and stay raw text
_LEGACY_PARSE_BOUNDARIES = 2000

_LOOKUP = {
    "message-id", "in-reply-to", "references", "subject", "date", "from", "sender", "to",
    "cc", "bcc", "reply-to", "x-smartbcc-ref", "auto-submitted", "x-autoreply",
    "x-autorespond", "precedence", "list-id", "x-failed-recipients",
}
_ID = re.compile(r"<([^<>]*)>")
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?\s*([\w.-]+)", re.I)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (has )?fail|failure notice|"
    r"returned mail|mail delivery (failed|failure|system|subsystem)|delayed mail|"
    r"could not be delivered|non-?delivery|nondeliverable", re.I)
_BOUNCE_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
# Only prefixes that mail servers generate; a person may well write "out of office next week".
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|auto reply|out of office( autoreply)?)\s*:", re.I)
_ATTACHED_MESSAGE_TYPES = {"message/rfc822", "message/global", "message/news"}


class _Budget:
    """MIME parts still allowed across the whole tree, enclosed messages included, and
    limit notes that belong on the outermost message too."""

    def __init__(self, parts: int) -> None:
        self.left = max(parts, 1)
        self.exhausted = False
        self.notes: list[str] = []

    def take(self) -> bool:
        self.left -= 1
        self.exhausted = self.exhausted or self.left < 0
        return not self.exhausted


class _RawFetchPolicy(EmailPolicy):
    """policy.default, but header values are handed out as raw text (8-bit bytes as
    surrogate escapes), which Message's getters read the way compat32 does. The header
    registry costs ~2 us per byte, re-parses on every access and can raise; compat32
    itself would replace 8-bit bytes in its Header objects."""

    def header_fetch_parse(self, name, value):
        return value


class _BoundedPolicy(_RawFetchPolicy):
    """Short values still get policy.default's parsing; the feed parser asks for each
    part's Content-Type several times, so the last few parsed values are reused."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > _FETCH_LIMIT:
            return value
        return _parsed_header(name, value.replace("\r", "").replace("\n", ""))


_RAW_POLICY = _RawFetchPolicy()
_POLICY = _BoundedPolicy()


# Small on purpose: cached parse trees are large, and many live objects slow the GC down.
@functools.lru_cache(maxsize=32)
def _parsed_header(name: str, value: str):
    return _POLICY.header_factory(name, value)


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
        budget = _Budget(max_parts)
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
    six times the message at once; slices keep the parser's own line buffers as the only copy."""
    parser = BytesFeedParser(policy=chosen)
    for chunk in chunks():
        parser.feed(chunk)
    return parser.close()


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
    chosen = _POLICY
    if _count_boundary_lines(chunks) > _LEGACY_PARSE_BOUNDARIES:
        defects.append(f"more than {_LEGACY_PARSE_BOUNDARIES} boundary lines; parsed in legacy mode")
        chosen = _RAW_POLICY
    try:
        return _feed(chunks, chosen)
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting
        problem = type(exc).__name__
    if chosen is _POLICY and problem != "RecursionError":
        try:  # the header registry is the only difference between the two policies
            msg = _feed(chunks, _RAW_POLICY)
            defects.append(f"structured headers unreadable ({problem}); parsed in legacy mode")
            return msg
        except Exception as exc:  # noqa: BLE001
            problem = type(exc).__name__
    defects.append(f"MIME structure unreadable ({problem}); body kept as plain text")
    return BytesParser(policy=_RAW_POLICY).parsebytes(b"".join(chunks()), headersonly=True)


def _defect(pm: ParsedMessage, text: str) -> None:
    if text in pm.defects:
        return
    if len(pm.defects) < MAX_DEFECTS:
        pm.defects.append(text)
    elif len(pm.defects) == MAX_DEFECTS:
        pm.defects.append("further defects omitted")


def _guard(pm: ParsedMessage, what: str, fn, *args) -> None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - one unreadable field must not lose the rest
        _defect(pm, f"{what} unreadable ({type(exc).__name__})")


def _unfold(value: object) -> str:
    return unescape(str(value)[:_RAW_HEADER_SLICE]).replace("\r", "").replace("\n", "")


def _header_text(value: object, limit: int = MAX_HEADER_VALUE) -> str:
    return clean_text(decode_words(_unfold(value)), limit)


def _raw_items(msg: Message) -> list[tuple[str, object]]:
    try:
        return list(msg.raw_items())
    except Exception:  # noqa: BLE001
        return []


def _from_message(msg: Message, depth: int, limits: tuple[int, int],
                  budget: _Budget) -> ParsedMessage:
    pm = ParsedMessage()
    found: dict[str, list[str]] = {}
    _guard(pm, "headers", _read_headers, pm, msg, limits[1], found)
    _guard(pm, "header fields", _read_fields, pm, found)
    kinds: set[str] = set()
    _guard(pm, "MIME body", _walk, pm, msg, depth, limits, budget, kinds)
    _guard(pm, "auto-submission markers", _classify, pm, found, kinds)
    _guard(pm, "content hash", _hash, pm)
    return pm


def _read_headers(pm: ParsedMessage, msg: Message, cap: int,
                  found: dict[str, list[str]]) -> None:
    items = _raw_items(msg)
    for index, (name, value) in enumerate(items):
        lname = str(name).strip().lower()
        if lname in _LOOKUP and len(found.setdefault(lname, [])) < 50:
            found[lname].append(value)
        if index < cap:
            pm.headers.append((clean_text(unescape(name), 200), _header_text(value)))
    if len(items) > cap:
        _defect(pm, f"{len(items)} headers; only the first {cap} kept")


def _first(found: dict[str, list[str]], name: str) -> str | None:
    values = found.get(name)
    return _unfold(values[0]) if values else None


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    value = value[-_RAW_HEADER_SLICE:]  # the newest references are at the end
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
            _defect(pm, f"unreadable Date header {clean_text(date, 60)!r}")
    for field, header, every in (("from_", "from", False), ("to", "to", True),
                                 ("cc", "cc", True), ("bcc", "bcc", True),
                                 ("reply_to", "reply-to", True), ("sender", "sender", False)):
        values = found.get(header) or []
        if not every and len(values) > 1:
            _defect(pm, f"{len(values)} {header} headers; only the first used")
            values = values[:1]
        if not values:
            continue
        errors: list[str] = []
        addresses = parse_address_header(", ".join(_unfold(v) for v in values),
                                         header.capitalize(), errors)
        for text in errors:
            _defect(pm, text)
        if field == "sender":
            pm.sender_header = addresses[0] if addresses else None
        else:
            setattr(pm, field, addresses)


def _meta(part: Message) -> tuple[str, str | None, str | None, str | None]:
    """(content type, disposition, filename, charset). policy.default parses these headers
    on access and can raise on odd values; the raw-text reading does not."""
    for source in (lambda: part, lambda: _raw_copy(part)):
        try:
            view = source()
            return (view.get_content_type(), view.get_content_disposition(),
                    view.get_filename(), view.get_content_charset())
        except Exception:  # noqa: BLE001
            continue
    return "application/octet-stream", None, None, None


def _raw_copy(part: Message) -> Message:
    copy = Message(policy=_RAW_POLICY)
    for name, value in _raw_items(part):
        if str(name).lower().startswith("content-"):
            copy[name] = str(value)
    copy.set_payload(part.get_payload())
    return copy


def _stdlib_defects(pm: ParsedMessage, part: Message) -> None:
    for defect in list(getattr(part, "defects", []))[:20]:
        words = _CAMEL.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
        _defect(pm, f"MIME: {words}")


_BASE64_TEXT = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n"


def _clean_base64(part: Message) -> bytes | None:
    """The decoded payload of a base64 part whose text is plain, correctly padded base64 (nearly
    every attachment), or None for anything else (the standard library then decodes it and notes
    its defects). Same bytes as ``get_payload(decode=True)``, without its list of every line and
    the copies around it: a 20 MB attachment no longer needs 50 MB more to be decoded."""
    payload = part.get_payload()
    if not isinstance(payload, str) or str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    try:
        encoded = payload.encode("ascii")
    except UnicodeError:
        return None
    # Only the alphabet and line breaks (deleting them leaves nothing), a whole number of
    # quanta, and "=" only as the last one or two characters: what strict decoding accepts
    # once the line breaks are gone, checked without making that copy.
    if encoded.translate(None, _BASE64_TEXT) or (len(encoded) - encoded.count(b"\r") - encoded.count(b"\n")) % 4:
        return None
    pads = encoded.count(b"=")
    if pads:
        end = len(encoded)
        while end and encoded[end - 1] in (10, 13):
            end -= 1
        if pads > 2 or encoded[end - pads:end] != b"=" * pads:
            return None
    try:
        return binascii.a2b_base64(encoded)
    except binascii.Error:
        return None


def _leaf_bytes(pm: ParsedMessage, part: Message, ctype: str) -> bytes:
    fast = _clean_base64(part)
    if fast is not None:
        return fast
    seen = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        try:
            data = _raw_copy(part).get_payload(decode=True)
        except Exception:  # noqa: BLE001
            data = None
    for defect in part.defects[seen:]:
        if "Base64" in type(defect).__name__:
            what = ("undecodable base64" if "Length" in type(defect).__name__
                    else "damaged base64")
            _defect(pm, f"{what} in a {ctype} part; raw payload kept")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _body_text(pm: ParsedMessage, part: Message, ctype: str, charset: str | None) -> str:
    text = decode_bytes(_leaf_bytes(pm, part, ctype), charset)
    if charset and codec_name(charset) is None:
        _defect(pm, f"unknown charset {clean_text(charset, 40)!r}; decoded by guessing")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_BODY_CHARS:
        _defect(pm, f"{ctype} body longer than {MAX_BODY_CHARS} characters; truncated")
        text = text[:MAX_BODY_CHARS]
    return text


def _attachment(pm: ParsedMessage, part: Message, ctype: str, disposition: str | None,
                filename: str | None) -> None:
    if part.is_multipart():  # message/delivery-status and friends: blocks of fields
        try:
            data = b"\n".join(p.as_bytes(policy=policy.compat32) for p in part.get_payload())
        except Exception:  # noqa: BLE001
            data = b""
            _defect(pm, f"{ctype} part could not be re-serialised")
    else:
        data = _leaf_bytes(pm, part, ctype)
    cid_raw = next((v for n, v in _raw_items(part) if str(n).lower() == "content-id"), None)
    cid = (clean_text(_unfold(cid_raw), 998).strip("<> \t") or None) if cid_raw else None
    name = (clean_text(decode_words(unescape(filename)), 255) or None) if filename else None
    pm.attachments.append(AttachmentPart(
        filename=name, content_type=ctype, content=data,
        sha256=hashlib.sha256(data).hexdigest(), content_id=cid,
        inline=disposition == "inline" or (disposition is None and cid is not None)))


def _enclosed(pm: ParsedMessage, part: Message, depth: int, limits: tuple[int, int],
              budget: _Budget) -> None:
    if depth + 1 > limits[0]:
        note = f"enclosed message nested deeper than {limits[0]} levels; not parsed"
        _defect(pm, note)
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
                    _defect(pm, text)
            pm.attached_messages.append(_from_message(sub, depth + 1, limits, budget))
        except Exception as exc:  # noqa: BLE001 - e.g. RecursionError, bad base64
            _defect(pm, f"enclosed message unreadable ({type(exc).__name__})")


def _walk(pm: ParsedMessage, root: Message, depth: int, limits: tuple[int, int],
          budget: _Budget, kinds: set[str]) -> None:
    # An explicit stack: nesting depth in the input must not become Python recursion.
    stack: list[tuple[Message, int, bool]] = [(root, 0, False)]
    while stack:
        part, level, in_alternative = stack.pop()
        if not budget.take():
            _defect(pm, "MIME part limit reached; remaining parts skipped")
            return
        _stdlib_defects(pm, part)
        ctype, disposition, filename, charset = _meta(part)
        kinds.add(ctype)
        if ctype == "multipart/report":
            raw_type = next((str(v) for n, v in _raw_items(part)
                             if str(n).lower() == "content-type"), "")
            match = _REPORT_TYPE.search(raw_type)
            kinds.add("report:" + (match.group(1).lower() if match else ""))
        maintype = ctype.partition("/")[0]
        if part.is_multipart() and ctype in _ATTACHED_MESSAGE_TYPES:
            _enclosed(pm, part, depth, limits, budget)
        elif part.is_multipart() and maintype == "multipart":
            if level >= MAX_MULTIPART_DEPTH:
                _defect(pm, f"multipart nesting deeper than {MAX_MULTIPART_DEPTH}; not read")
                continue
            alternative = in_alternative or ctype == "multipart/alternative"
            children = part.get_payload()
            stack.extend((child, level + 1, alternative) for child in reversed(children))
        elif maintype in ("text", "multipart") and disposition != "attachment" and not filename:
            # A multipart without usable boundary arrives here as one opaque text part.
            slot = "html" if ctype == "text/html" else "text"
            if ctype not in ("text/plain", "text/html") and maintype == "text":
                if not in_alternative:  # text/enriched etc.: keep, but not as the body
                    _attachment(pm, part, ctype, disposition, filename)
            elif getattr(pm, slot) is None:
                setattr(pm, slot, _body_text(pm, part, ctype, charset))
            elif not in_alternative:
                _attachment(pm, part, ctype, disposition, filename)
        else:
            _attachment(pm, part, ctype, disposition, filename)


def _classify(pm: ParsedMessage, found: dict[str, list[str]], kinds: set[str]) -> None:
    def first(name: str) -> str:
        return (_first(found, name) or "").strip().lower()

    # Most specific first: DSNs often carry Auto-Submitted too, vacation(1) replies say
    # "Precedence: bulk", and ARF reports arrive with "Precedence: list".
    senders = [a.key.partition("@")[0] for a in pm.from_ + [pm.sender_header] if a]
    if "report:feedback-report" in kinds or "message/feedback-report" in kinds:
        pm.auto_kind = "complaint"
    elif ("report:delivery-status" in kinds or "message/delivery-status" in kinds
          or "x-failed-recipients" in found
          or (_BOUNCE_SENDERS.intersection(senders) and _BOUNCE_SUBJECT.search(pm.subject))):
        pm.auto_kind = "bounce"
    elif ("report:disposition-notification" in kinds
          or "message/disposition-notification" in kinds
          or first("auto-submitted").split(";")[0].strip() not in ("", "no")
          or first("x-autoreply") not in ("", "no") or "x-autorespond" in found
          or _AUTO_REPLY_SUBJECT.match(pm.subject)):
        # X-Auto-Response-Suppress is deliberately ignored: Outlook puts it on ordinary mail.
        pm.auto_kind = "auto-reply"
    elif first("precedence") in ("bulk", "list", "junk") or "list-id" in found:
        # List-Unsubscribe alone is not enough: sales tools add it to one-to-one mail, and
        # bulk senders that matter set Precedence or List-Id as well.
        pm.auto_kind = "bulk"


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
