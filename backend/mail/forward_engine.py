"""email-forward-parser (PyPI, Apache-2.0, a port of crisp-oss/email-forward-parser)
as the first engine for inline forwards: it knows the separators and header labels
of Gmail, Outlook (2013/2019/new/web), Apple Mail, Thunderbird, Yahoo, HubSpot,
Missive, MailMate and IONOS in some twenty languages.

Two guards wrap it, both measured (see docs/architecture-notes.md):
- its patterns backtrack badly on long lines ("Dne , , , …" of 40 KB takes a
  minute), so it only reads the first ``MAX_LINES`` lines, each cut to
  ``MAX_LINE`` characters (worst case measured ≈ 1 s; real mail ≈ 1 ms); the
  forwarded body is then taken from the full text, not from the cut copy;
- it treats reply headers ("On … "Bob" <b@x> wrote:", Outlook's line of
  underscores) as forward separators, so without a forward subject its reading
  only counts when the separator itself says "forwarded".
"""
from __future__ import annotations

import email.header
import logging
import re
from dataclasses import dataclass

from .forward_labels import FORWARD_PHRASES, fold
from .regex_prefilter import earliest

__all__ = ["EngineReading", "read_forward", "ENGINE"]

log = logging.getLogger(__name__)

ENGINE = "email-forward-parser"
MAX_LINES = 300
MAX_LINE = 300
# Yahoo's text part flattens a forward's header block onto one line that starts
# with the separator ("----- Messaggio inoltrato ----- Da: …A: …Inviato: …");
# a few such lines are kept whole, up to this length.
MAX_FLAT_LINE = 4000
MAX_FLAT_LINES = 3

# Words that only a forward separator contains, folded (see forward_labels.fold).
_FORWARD_WORDS = tuple(fold(w) for w in (
    "forward", "weitergeleitet", "inoltrat", "transfér", "réexpédié", "reenviad", "encaminhad",
    "reencaminhad", "doorgestuurd", "vidarebefordr", "videresend", "välitetty", "przekazywan",
    "přeposílan", "preposlan", "proslijeđen", "továbbított", "redirecționat", "переадрес",
    "пересыла", "ileti başlangıcı", "iletilen", "転送", "转发", "轉寄", "轉發", "전달", "προωθ",
))


@dataclass
class EngineReading:
    fields: dict[str, str]  # from, to, cc, subject, date as printed ("" when absent)
    body: str  # the forwarded message's text
    note: str  # what the rep wrote above the separator
    separator: str


def _forward_only(separator: str) -> bool:
    folded = fold(separator)
    return any(word in folded for word in _FORWARD_WORDS)


def _mailboxes(items) -> str:
    return ", ".join(f"{m.name} <{m.address}>" if m.name else m.address for m in items if m.address)


_REQUIRED: dict[re.Pattern, str | None] = {}  # what each of the library's patterns needs (regex_prefilter)


def _earliest(patterns, body: str):
    return earliest(patterns, body, _REQUIRED)


# Characters that may not be graphic (the library's utils.is_graphic decides): controls, and
# anything outside printable ASCII.
_MAYBE_NOT_GRAPHIC = re.compile(r"[^\x20-\x7e\t\n\r]")


def _preprocess(text: str, utils) -> str:
    """The library's ``utils.preprocess_string``, which drops every character that is not
    graphic by asking about each character in Python (2-3 ms for an 8 KB mail): here only the
    characters that may not be graphic are asked about. The same result (tests/mail/test_forward_engine.py)."""
    text = _MAYBE_NOT_GRAPHIC.sub(lambda m: m.group() if utils.is_graphic(m.group()) else "", text)
    text = text.replace("\ufeff", "")
    return str(email.header.make_header(email.header.decode_header(text)))


def _split(regexs, body: str, subject_forward: bool) -> tuple[str, str, str] | None:
    """(note, separator, original) around the first separator: with nested
    forwards the outermost block is the mail the rep forwarded."""
    match = _earliest(regexs.SEPARATOR, body)
    if match is not None:
        return body[:match.start()].strip(), match.group(0), body[match.end():].strip()
    if subject_forward:
        match = _earliest(regexs.ORIGINAL_FROM, body)
        if match is not None:
            return body[:match.start()].strip(), "", body[match.start():].strip()
    return None


_INTRO_RE = re.compile(r"^\W*\w+\s+(?P<date>[^\"<\[]+?)[\s,]*(?:\"(?P<name>[^\"]*)\")?\s*"
                       r"[<\[](?:mailto:)?(?P<address>[^\s<>\[\]@]+@[^\s<>\[\]]+)[>\]]")


def _from_separator(separator: str) -> dict[str, str]:
    """Outlook 2019 writes a forward's header as one line, "On 28/10/2021 12:46,
    "John Doe" <john.doe@acme.com> wrote:" (and its translations); the library
    matches it as a separator but reads no sender from it."""
    match = _INTRO_RE.match(separator.strip())
    if not match:
        return {}
    date = re.sub(r"\s+\D+$", "", match.group("date")).strip(" ,")  # "… 12:46 schrieb" -> "… 12:46"
    name = (match.group("name") or "").strip()
    address = match.group("address")
    return {"from": f"{name} <{address}>" if name else address, "date": date}


def _window(text: str) -> str:
    """What the library reads: the first lines, each cut short, except a few
    flattened header blocks that open with a forward separator."""
    kept, flat = [], 0
    for line in text.split("\n")[:MAX_LINES]:
        if len(line) > MAX_LINE and flat < MAX_FLAT_LINES and _opens_with_separator(line):
            flat += 1
            kept.append(line[:MAX_FLAT_LINE])
        else:
            kept.append(line[:MAX_LINE])
    return "\n".join(kept)


def _opens_with_separator(line: str) -> bool:
    head = fold(line[:120].lstrip(" >-_*"))
    return any(head.startswith(phrase) for phrase in FORWARD_PHRASES)


def _full_body(full: str, cut_body: str, was_cut: bool) -> str:
    """The forwarded body from the uncut text, found by its opening."""
    if not was_cut or not cut_body:
        return cut_body
    head = cut_body[:MAX_LINE // 2]
    at = full.find(head)
    return full[at:].strip() if at >= 0 else cut_body


def read_forward(text: str, subject: str | None) -> EngineReading | None:
    """The library's reading of ``text`` (a plain-text body), or None when it
    sees no forward, sees only a reply header without a forward subject, or
    fails. Never raises."""
    if not text or not text.strip():
        return None
    # The library's own byte-order-mark pattern is written "\xFEFF" and never
    # matches; a BOM before "On …" hides Outlook 2019's separator from it.
    text = text.replace("\ufeff", "")
    cut = _window(text)
    try:
        from emailforwardparser import forward_parser as fp, regexs, utils

        subject_forward = bool(subject) and bool(fp.parse_subject(_preprocess(subject, utils)))
        body = _preprocess(cut, utils)
        found = _split(regexs, body, subject_forward)
        if found is None:
            return None
        note, separator, original = found
        if not subject_forward and not _forward_only(separator):
            return None  # a reply's quote header is not a forward
        meta = fp.parse_original_email(original, body)
    except Exception:  # third-party; its failure means "not found"
        log.debug("email-forward-parser failed", exc_info=True)
        return None
    fields = {
        "from": _mailboxes([meta.from_]), "to": _mailboxes(meta.to), "cc": _mailboxes(meta.cc),
        "subject": (meta.subject or "").strip(), "date": (meta.date or "").strip(),
    }
    if not fields["from"]:
        fields.update(_from_separator(separator))
    if subject_forward and not fields["subject"]:
        fields["subject"] = fp.parse_subject(_preprocess(subject, utils)).strip()
    full = text.replace("\r\n", "\n")
    return EngineReading(fields=fields, body=_full_body(full, meta.body or "", cut != text),
                         note=note, separator=separator.strip())

