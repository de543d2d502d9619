"""Find an inline forward in plain text: the separator, the original's header block, the rep's note above it and the forwarded body below."""
from __future__ import annotations

from dataclasses import dataclass, field

from .forward_labels import classify_separator, has_forward_prefix, is_reply_intro, split_header, unquote

MAX_TEXT = 2_000_000
# A forward header block has at most ~8 labels; capping the lines examined per
# candidate keeps the scan linear even on a body made only of "From:" lines.
MAX_BLOCK_LINES = 16
MAX_BLANKS_BEFORE_BLOCK = 3
MAX_NESTING = 4
_ADDRESS_FIELDS = frozenset({"from", "to", "cc", "bcc", "reply-to"})


@dataclass
class InlineForward:
    fields: dict[str, str]  # raw header values: from, to, cc, bcc, date, subject, reply-to
    order: list[str]  # the order the labels appeared in (tells clients apart)
    note: str | None
    body: str
    strength: str  # "strong", "weak" or "headers" (no separator line at all)
    flavour: str  # "apple-mail", "generic", "original", "underscore" or "headers"
    dashes: int  # dashes before the separator words (Gmail 10, Thunderbird 8, Outlook 5)
    levels: int = 1
    outer_fields: list[dict[str, str]] = field(default_factory=list)


def _parse_block(lines: list[str], start: int, depth: int, skip_blanks: bool):
    """Read "Label: value" lines from ``start``; returns (fields, order, next index)."""
    fields: dict[str, str] = {}
    order: list[str] = []
    last = None
    continued = 0
    blanks = 0
    index = start
    end = min(len(lines), start + MAX_BLOCK_LINES + MAX_BLANKS_BEFORE_BLOCK)
    while index < end:
        text = unquote(lines[index], depth)[0].strip()
        if not text:
            if fields or not skip_blanks or blanks >= MAX_BLANKS_BEFORE_BLOCK:
                break
            blanks += 1
            index += 1
            continue
        header = split_header(text)
        if header:
            name, value = header
            if name in fields:  # a repeated label starts another message's block
                break
            if name != "ignored":
                fields[name] = value
                order.append(name)
            last, continued = name, 0
        elif (last in _ADDRESS_FIELDS and continued < 3
              and ("@" in text or fields[last].rstrip().endswith((",", ";")))):
            # Plain-text clients wrap long To/Cc lists onto the next lines.
            fields[last] = f"{fields[last]} {text}"
            continued += 1
        else:
            break
        index += 1
    return fields, order, index


def _block_is_valid(fields: dict[str, str], order: list[str], strength: str) -> bool:
    if "from" not in fields:
        return False
    others = len(fields) - 1
    if strength == "strong":
        return others >= 1
    if strength == "weak":
        return others >= 2 and ("date" in fields or "subject" in fields)
    # No separator line: only Outlook's From/Sent/To/Subject shape is trusted.
    return order[0] == "from" and "date" in fields and ("subject" in fields or "to" in fields)


def _joined(lines: list[str], depth: int) -> str:
    if depth:
        lines = [unquote(line, depth)[0] for line in lines]
    return "\n".join(lines).strip()


def _scan(lines: list[str], subject_is_forward: bool) -> InlineForward | None:
    for index, raw in enumerate(lines):
        if len(raw) > 4000:
            continue
        text, depth = unquote(raw)
        if not text.strip():
            continue
        if is_reply_intro(text):
            return None  # what follows is a reply quote, not a forward
        separator = classify_separator(text)
        if separator:
            strength, flavour, dashes = separator
            fields, order, body_start = _parse_block(lines, index + 1, depth, skip_blanks=True)
            if not fields:
                continue
            if strength == "weak" and not subject_is_forward:
                if "from" in fields:
                    return None  # an Outlook/Thunderbird reply quote
                continue
            if not _block_is_valid(fields, order, strength):
                if strength == "strong":
                    return None  # an unreadable forward: do not guess from later text
                continue
        else:
            header = split_header(text)
            if not header or header[0] != "from":
                continue
            fields, order, body_start = _parse_block(lines, index, depth, skip_blanks=False)
            if not _block_is_valid(fields, order, "headers"):
                continue
            if not subject_is_forward:
                return None  # Outlook quotes replies with this same block
            strength, flavour, dashes = "headers", "headers", 0
        note = _joined(lines[:index], 0) or None
        body = _joined(lines[body_start:], depth)
        return InlineForward(fields, order, note, body, strength, flavour, dashes)
    return None


def find_inline_forward(text: str | None, subject_is_forward: bool,
                        outer_sender: str | None = None) -> InlineForward | None:
    """The forward in ``text``, descending into forwards of forwards when the
    outer level carries no words of its own or was sent by the forwarding rep."""
    if not text:
        return None
    lines = text[:MAX_TEXT].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = _scan(lines, subject_is_forward)
    if found is None:
        return None
    outer: list[dict[str, str]] = []
    for _ in range(MAX_NESTING - 1):
        inner_lines = found.body.split("\n")
        inner = _scan(inner_lines, has_forward_prefix(found.fields.get("subject", "")))
        if inner is None:
            break
        own_words = inner.note is None
        same_sender = bool(outer_sender) and outer_sender in found.fields.get("from", "").lower()
        if not (own_words or same_sender):
            break
        outer.append(found.fields)
        inner.levels = found.levels + 1
        inner.note = found.note or inner.note
        found = inner
    found.outer_fields = outer
    return found
