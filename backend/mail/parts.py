"""Read a parsed MIME tree into a ParsedMessage: bodies, attachments, part types, and the defects met on the way."""
from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable
from email import policy
from email.message import Message

from .headers import clean_text, codec_name, decode_bytes, decode_words, unescape
from .message import AttachmentPart, ParsedMessage
from .policies import RAW_POLICY

MAX_BODY_CHARS = 2_000_000
MAX_DEFECTS = 100
MAX_MULTIPART_DEPTH = 100  # independent of max_depth, which counts enclosed messages
RAW_HEADER_SLICE = 64 * 1024  # decoding more than this of one header is wasted work

_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?\s*([\w.-]+)", re.I)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
ATTACHED_MESSAGE_TYPES = {"message/rfc822", "message/global", "message/news"}


class Budget:
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


def add_defect(pm: ParsedMessage, text: str) -> None:
    """Note a problem once; past MAX_DEFECTS, one last note says more were left out."""
    if text in pm.defects:
        return
    if len(pm.defects) < MAX_DEFECTS:
        pm.defects.append(text)
    elif len(pm.defects) == MAX_DEFECTS:
        pm.defects.append("further defects omitted")


def unfold(value: object) -> str:
    """A raw header value as one line of real text (not yet RFC 2047-decoded)."""
    return unescape(str(value)[:RAW_HEADER_SLICE]).replace("\r", "").replace("\n", "")


def raw_items(msg: Message) -> list[tuple[str, object]]:
    try:
        return list(msg.raw_items())
    except Exception:  # noqa: BLE001
        return []


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
    copy = Message(policy=RAW_POLICY)
    for name, value in raw_items(part):
        if str(name).lower().startswith("content-"):
            copy[name] = str(value)
    copy.set_payload(part.get_payload())
    return copy


def _stdlib_defects(pm: ParsedMessage, part: Message) -> None:
    for defect in list(getattr(part, "defects", []))[:20]:
        words = _CAMEL.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
        add_defect(pm, f"MIME: {words}")


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
            add_defect(pm, f"{what} in a {ctype} part; raw payload kept")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _body_text(pm: ParsedMessage, part: Message, ctype: str, charset: str | None) -> str:
    text = decode_bytes(_leaf_bytes(pm, part, ctype), charset)
    if charset and codec_name(charset) is None:
        add_defect(pm, f"unknown charset {clean_text(charset, 40)!r}; decoded by guessing")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_BODY_CHARS:
        add_defect(pm, f"{ctype} body longer than {MAX_BODY_CHARS} characters; truncated")
        text = text[:MAX_BODY_CHARS]
    return text


def _attachment(pm: ParsedMessage, part: Message, ctype: str, disposition: str | None,
                filename: str | None) -> None:
    if part.is_multipart():  # message/delivery-status and friends: blocks of fields
        try:
            data = b"\n".join(p.as_bytes(policy=policy.compat32) for p in part.get_payload())
        except Exception:  # noqa: BLE001
            data = b""
            add_defect(pm, f"{ctype} part could not be re-serialised")
    else:
        data = _leaf_bytes(pm, part, ctype)
    cid_raw = next((v for n, v in raw_items(part) if str(n).lower() == "content-id"), None)
    cid = (clean_text(unfold(cid_raw), 998).strip("<> \t") or None) if cid_raw else None
    name = (clean_text(decode_words(unescape(filename)), 255) or None) if filename else None
    pm.attachments.append(AttachmentPart(
        filename=name, content_type=ctype, content=data,
        sha256=hashlib.sha256(data).hexdigest(), content_id=cid,
        inline=disposition == "inline" or (disposition is None and cid is not None)))


def _note_type(pm: ParsedMessage, part: Message, ctype: str) -> None:
    """The part's content type (and a report's report-type) for the automatic-mail rules."""
    if ctype not in pm.content_types:
        pm.content_types.append(ctype)
    if ctype == "multipart/report":
        raw_type = next((str(v) for n, v in raw_items(part)
                         if str(n).lower() == "content-type"), "")
        match = _REPORT_TYPE.search(raw_type)
        report = match.group(1).lower() if match else ""
        if report not in pm.report_types:
            pm.report_types.append(report)


def walk(pm: ParsedMessage, root: Message, budget: Budget,
         enclosed: Callable[[Message], None]) -> None:
    """Bodies and attachments of ``root``'s part tree into ``pm``; message/rfc822 parts
    (and their kin) go to ``enclosed``, which parses them as messages of their own."""
    # An explicit stack: nesting depth in the input must not become Python recursion.
    stack: list[tuple[Message, int, bool]] = [(root, 0, False)]
    while stack:
        part, level, in_alternative = stack.pop()
        if not budget.take():
            add_defect(pm, "MIME part limit reached; remaining parts skipped")
            return
        _stdlib_defects(pm, part)
        ctype, disposition, filename, charset = _meta(part)
        _note_type(pm, part, ctype)
        maintype = ctype.partition("/")[0]
        if part.is_multipart() and ctype in ATTACHED_MESSAGE_TYPES:
            enclosed(part)
        elif part.is_multipart() and maintype == "multipart":
            if level >= MAX_MULTIPART_DEPTH:
                add_defect(pm, f"multipart nesting deeper than {MAX_MULTIPART_DEPTH}; not read")
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
