"""Header text decoding (8-bit bytes, RFC 2047, odd charsets) and CVE-2023-27043-safe mailbox parsing."""
from __future__ import annotations

import base64
import binascii
import codecs
import email.header
import email.utils
import re
from email.errors import HeaderParseError

from .message import Address

MAX_ADDRESSES = 500
# Longer address headers are truncated before parsing: 500 mailboxes fit easily.
MAX_ADDRESS_HEADER_CHARS = 100_000

# Labels seen in real mail that Python does not know, or knows only under a narrower name.
_CHARSET_ALIASES = {
    "x-unknown": None, "unknown": None, "unknown-8bit": None, "x-user-defined": None,
    "default": None, "charset": None,
    "iso-8859-8-i": "iso-8859-8", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "x-sjis": "shift_jis", "x-mac-roman": "mac_roman",
}
# Codecs that exist but would reinterpret the bytes in surprising ways.
_REFUSED_CODECS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
# Where str.splitlines() splits ASCII text; decode_header() reads each piece as a line of its own.
_LINE_SPLITS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e]")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_PLAUSIBLE = re.compile(r"[^@\s<>()\[\]\\,;:\"\x00-\x1f\x7f]+@[^@\s<>()\[\]\\,;:\"\x00-\x1f\x7f]+")


def codec_name(charset: object) -> str | None:
    """The Python codec for a MIME charset label, or None when unknown or unsafe."""
    if not isinstance(charset, str) or not charset.strip():
        return None
    # RFC 2231 allows a language suffix ("utf-8*en"); quotes show up from sloppy senders.
    label = charset.strip().strip("\"'").lower().split("*")[0][:60]
    if label in _CHARSET_ALIASES:
        label = _CHARSET_ALIASES[label]
        if label is None:
            return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    # base64, zlib, rot13 ... are registered codecs too, but not text encodings.
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def decode_bytes(data: bytes, charset: object = None) -> str:
    """Declared charset, then UTF-8, then the declared charset with replacement, then a
    guess between UTF-8-with-replacement and latin-1 (which cannot fail)."""
    name = codec_name(charset)
    # 8-bit data labelled ascii is mislabelled, so ascii's reading of it is worthless.
    lenient = None if name == "ascii" else name
    for codec, errors in ((name, "strict"), ("utf-8", "strict"), (lenient, "replace")):
        if codec:
            try:
                return data.decode(codec, errors)
            except Exception:  # noqa: BLE001 - some codecs raise more than UnicodeError
                continue
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    # Mostly-valid UTF-8 with a few broken bytes reads better as UTF-8; otherwise legacy 8-bit.
    return text if non_ascii - bad > bad else data.decode("latin-1")


def unescape(value: object) -> str:
    """Turn a header string from BytesParser (raw 8-bit bytes kept as surrogate escapes)
    back into real text."""
    value = value if isinstance(value, str) else str(value)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return decode_bytes(value.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    raw = text.encode("utf-8", "replace")
    try:
        if encoding in "bB":
            raw = raw.rstrip(b"=")
            return base64.b64decode(raw + b"=" * (-len(raw) % 4))
        return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; never raises, undecodable words stay literal."""
    if "=?" not in value:
        return value
    words = [m.span() for m in _ENCODED_WORD.finditer(value)]
    if not words:
        return value
    if _stdlib_reads_alike(value, words):
        try:
            chunks = email.header.decode_header(value)
        except (HeaderParseError, binascii.Error, ValueError):  # undecodable base64
            pass
        else:
            # Joined by hand, not by make_header(): that one decodes strictly, raises on
            # charsets Python does not know, and puts a space between an encoded word and
            # the text it touches. Runs of words in one charset come joined as bytes.
            # decode_header() drops the value's leading whitespace; it is put back.
            lead = value[:len(value) - len(value.lstrip())]
            return lead + "".join(decode_bytes(data, charset) if charset else data.decode("ascii")
                                  for data, charset in chunks)
    return _decode_words_leniently(value)


def _stdlib_reads_alike(value: str, words: list[tuple[int, int]]) -> bool:
    """Whether email.header.decode_header() reads ``value`` right. It does not for what real
    mail also has: 8-bit text in or around encoded words (it round-trips the text through
    raw-unicode-escape, so anything above U+00FF comes back as backslash escapes), text
    it splits as separate lines (vertical tab, form feed, \x1c-\x1e), and encoded words
    RFC 2047 does not allow, with spaces or "?" inside or an empty charset (its pattern
    takes them, ours leaves them literal). Undecodable base64 makes it raise for the
    whole header instead of keeping that one word literal; decode_words() catches that."""
    return (value.isascii() and not _LINE_SPLITS.search(value)
            and [m.span() for m in email.header.ecre.finditer(value)] == words)


def _decode_words_leniently(value: str) -> str:
    """decode_words() for headers the standard library misreads (see _stdlib_reads_alike)."""
    out: list[str] = []
    pending: list = []  # [charset, bytes] of a run of adjacent words in one charset
    pos = 0

    def flush() -> None:
        if pending:
            out.append(decode_bytes(pending[1], pending[0]))
            pending.clear()

    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos:match.start()]
        charset, data = match.group(1).lower(), _word_bytes(match.group(2), match.group(3))
        pos = match.end()
        # Whitespace between adjacent encoded words is not part of the text (RFC 2047 6.2).
        if not (pending and not gap.strip()):
            flush()
            out.append(gap)
        if data is None:
            flush()
            out.append(match.group(0))
        elif pending and pending[0] == charset:
            # Joined as bytes: senders split multi-byte characters across words.
            pending[1] += data
        else:
            flush()
            pending.extend([charset, data])
    flush()
    out.append(value[pos:])
    return "".join(out)


def clean_text(value: str, limit: int) -> str:
    """Control characters (including folded newlines) become single spaces."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def _split_top_level(value: str) -> list[str]:
    """Split at commas that are outside quotes, comments and angle brackets; drop group
    names ("undisclosed-recipients:;") so their members count as ordinary mailboxes."""
    pieces: list[str] = []
    buf: list[str] = []
    quoted = escaped = angle = addressy = False
    depth = 0
    for ch in value:
        addressy = addressy or ch in "@<>"
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif depth:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth = 1
        elif ch in "<>":
            angle = ch == "<"
        elif not angle and (ch in ",;" or (ch == ":" and not addressy)):
            if ch != ":":
                pieces.append("".join(buf))
            buf, addressy = [], False
            continue
        buf.append(ch)
    pieces.append("".join(buf))
    return [p.strip() for p in pieces if p.strip()]


def _balanced(piece: str) -> bool:
    quoted = escaped = False
    depth = angles = 0
    for ch in piece:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"' and not depth:
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
        elif ch in "<>" and not depth:
            angles += 1
    return not quoted and not escaped and depth == 0 and angles in (0, 2)


def plausible_email(addr: str) -> bool:
    if len(addr) > 320 or not _PLAUSIBLE.fullmatch(addr):
        return False
    domain = addr.rpartition("@")[2]
    return not (domain.startswith(".") or domain.endswith(".") or ".." in domain)


def _parse_piece(piece: str) -> Address | None:
    """Exactly one plausible mailbox, or None. The legacy parser behind getaddresses can
    turn one malformed mailbox into a different or an extra address (CVE-2023-27043),
    so anything that does not come out as exactly one clean address is refused."""
    if not _balanced(piece):
        return None
    try:
        if getattr(email.utils, "supports_strict_parsing", False):  # Pythons with the fix
            found = email.utils.getaddresses([piece], strict=True)
        else:
            found = email.utils.getaddresses([piece])
    except Exception:  # noqa: BLE001 - the legacy parser has no documented exceptions
        return None
    if len(found) != 1:
        return None
    name, addr = found[0]
    if not plausible_email(addr):
        return None
    return Address(clean_text(decode_words(name), 256), addr)


def parse_address_header(value: str, label: str, defects: list[str]) -> list[Address]:
    """Mailboxes of one (already unfolded and unescaped) address header. Pieces that
    cannot be read unambiguously are reported in ``defects``, never guessed at."""
    if len(value) > MAX_ADDRESS_HEADER_CHARS:
        defects.append(f"{label} header longer than {MAX_ADDRESS_HEADER_CHARS} characters; truncated")
        value = value[:MAX_ADDRESS_HEADER_CHARS]
    pieces = _split_top_level(value)
    if len(pieces) > MAX_ADDRESSES:
        defects.append(f"{label} header has {len(pieces)} addresses; only {MAX_ADDRESSES} kept")
        pieces = pieces[:MAX_ADDRESSES]
    result = []
    for piece in pieces:
        address = _parse_piece(piece)
        if address is None:
            defects.append(f"{label}: refused unreadable address {clean_text(piece, 80)!r}")
        else:
            result.append(address)
    return result
