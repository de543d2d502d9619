"""Split a mail body into what its writer wrote, the quoted history under it and the signature,
so the pages can show the new words and fold the rest away.

The quote position comes from quotequail (closeio, MIT; already a dependency for forwards, 0.5.4
released September 2026), which knows the "On … wrote:", "-----Original Message-----" and
"Begin forwarded message:" intros of the common clients in several languages, in text and in HTML.
Measured on ../shared/corpus/talon (real replies of 13 clients), it misses four things that this
module adds, each a few lines: Outlook's header block without a separator line ("From: … / Sent:
… / To: …"), Yahoo's "--- On … wrote:", a run of "> " lines at the end with no intro at all
(Hotmail), and bottom-posted replies (Thunderbird: the quote first, the new text under it), which
quotequail would hide entirely. mail-parser-reply (1.36, December 2025) was also measured: it finds
the same replies and signatures, but it rewrites the text it reads (every line stripped) so its
answer cannot be mapped back onto the stored body, and it treats "Best regards," as the start of a
signature that runs to the end, which would fold real words away. Signatures are therefore found
here, conservatively: the standard "-- " delimiter (RFC 3676) or a phone-client line ("Sent from my
iPhone") near the end.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .forward_labels import MAX_MARKER_LINE, split_header

__all__ = ["Segment", "split_text", "split_html"]

log = logging.getLogger(__name__)

# Beyond these a body is shown as it is: the detectors are linear, but there is no need to read a
# 2 MB body to find the quote of a reply.
MAX_TEXT = 300_000
MAX_HTML = 150_000  # quotequail's HTML reading: about 0.5 s at this size, milliseconds for real mail
SIGNATURE_WINDOW = 12  # a signature starts within this many non-blank lines of the end
# quotequail reads about 7,000 lines a second; a reply's quote starts near the top, so it reads the
# first lines only (the trailing "> " run below finds a quote under a longer text).
QQ_LINES = 1000



def _header(line: str) -> str | None:
    """The field of a "From: …"-style line in any language forwards know (forward_labels' one
    table); a From line needs a value, the others may be empty (Outlook's "Cc:")."""
    found = split_header(line) if len(line) <= MAX_MARKER_LINE else None
    if found is None or (found[0] == "from" and not found[1]):
        return None
    return found[0]


_NEXT_FIELDS = frozenset({"date", "to", "subject", "cc"})
_WROTE = re.compile(r"^[\s\-_>*]*(?:On|Am|Le|El|Il|Op|Den|Em)\s.{4,300}?(?:wrote|schrieb|a écrit|escribió|"
                    r"ha scritto|schreef|skrev|escreveu)\s*:\s*$", re.I)
_RULE = re.compile(r"^\s*(?:-{3,}.*-{3,}|_{10,}|-{10,})\s*$")
_SIG_DASHES = re.compile(r"^--\s?$")
_SIG_CLIENT = re.compile(r"^\s*(?:Sent from my \w|Sent from (?:Mail|Outlook|Yahoo Mail) for|Get Outlook for|"
                         r"Sent with Sparrow|Sent via |Von meinem .{1,40} gesendet|Envoyé de mon |"
                         r"Enviado desde mi |Inviato da )", re.I)


@dataclass(frozen=True)
class Segment:
    kind: str  # "text" (shown), "quote" (history, folded), "signature" (folded)
    text: str


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _qq_start(lines: list[str]) -> int | None:
    """The line quotequail puts the quote's intro on, or None."""
    head = lines[:QQ_LINES]
    try:
        import quotequail

        parts = quotequail.quote("\n".join(head), limit=len(head) + 1, quote_intro_line=True)
    except Exception:  # third-party: its failure means "no quote found"
        log.debug("quotequail.quote failed", exc_info=True)
        return None
    if len(parts) < 2:
        return None
    head = parts[0][1]
    return head.count("\n") + 1 if head else 0


def _own_start(lines: list[str]) -> int | None:
    """The first line of a quote quotequail does not see: an Outlook header block, a "wrote:" line
    behind dashes, or a trailing run of "> " lines."""
    for index, line in enumerate(lines):
        # "From: Berlin / To: Paris" in a customer's own text is no header block: it takes an
        # address on the From line, or two more header lines under it.
        if _header(line) == "from" and sum(1 for nxt in lines[index + 1:index + 5] if _header(nxt) in _NEXT_FIELDS) \
                >= (1 if "@" in line else 2):
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            return previous if previous >= 0 and _RULE.match(lines[previous]) else index
        joined = line if index + 1 >= len(lines) else line + " " + lines[index + 1]
        if _WROTE.match(line) or (not line.rstrip().endswith(":") and _WROTE.match(joined) and len(line) < 200):
            return index
    tail = len(lines)
    while tail > 0 and (not lines[tail - 1].strip() or _is_quoted(lines[tail - 1])):
        tail -= 1
    if tail < len(lines) and any(_is_quoted(line) for line in lines[tail:]):
        # A line ending in ":" just above the quote is its intro ("Bob wrote:").
        return tail - 1 if tail > 0 and lines[tail - 1].rstrip().endswith(":") else tail
    return None


def _leading_quote(lines: list[str]) -> int:
    """How many lines at the top are a quote (an optional intro, then "> " lines): a bottom-posted
    reply. 0 when the text does not start that way."""
    index = 0
    if lines and not _is_quoted(lines[0]) and lines[0].rstrip().endswith(":"):
        index = 1
    seen = False
    while index < len(lines) and (_is_quoted(lines[index]) or not lines[index].strip()):
        seen = seen or _is_quoted(lines[index])
        index += 1
    return index if seen else 0


def _signature_start(lines: list[str]) -> int | None:
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    window = nonblank[-SIGNATURE_WINDOW:]
    for i in window:
        if _SIG_DASHES.match(lines[i]) and i > 0:
            return i
    for i in window[-3:]:
        if _SIG_CLIENT.match(lines[i]) and i > 0 and any(line.strip() for line in lines[:i]):
            return i
    return None


def _with_signature(lines: list[str]) -> list[Segment]:
    start = _signature_start(lines)
    if start is None:
        return [Segment("text", "\n".join(lines).strip("\n"))]
    return [Segment("text", "\n".join(lines[:start]).strip("\n")),
            Segment("signature", "\n".join(lines[start:]).strip("\n"))]


def split_text(text: str | None) -> list[Segment]:
    """The body in shown and folded segments, in reading order; joined they are the whole text
    (blank lines at the seams aside). A body that is all quote stays shown."""
    if not text:
        return []
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_TEXT:
        return [Segment("text", text)]
    lines = text.split("\n")
    lead = _leading_quote(lines)
    if lead and any(line.strip() for line in lines[lead:]):
        rest = split_text("\n".join(lines[lead:]))
        return [Segment("quote", "\n".join(lines[:lead]).strip("\n"))] + rest
    starts = [s for s in (_qq_start(lines), _own_start(lines)) if s is not None]
    start = min(starts) if starts else None
    if start is None or not any(line.strip() for line in lines[:start]):
        return [s for s in _with_signature(lines) if s.text]
    quoted = "\n".join(lines[start:]).strip("\n")
    return [s for s in _with_signature(lines[:start]) if s.text] + ([Segment("quote", quoted)] if quoted else [])


def split_html(html: str | None) -> tuple[str, str]:
    """(shown, quoted) parts of an HTML body, both still to be sanitized; quoted is "" when no
    quote is found or the quote would be all there is. quotequail cuts the tree; where the quote
    starts is its answer or ours, read on the same lines it reads (its ``_html`` and ``_internal``
    helpers: pyproject pins quotequail below 0.6 for that reason)."""
    if not html or len(html) > MAX_HTML:
        return html or "", ""
    try:
        from quotequail import _html, _internal
        from quotequail._enums import Position

        tree = _html.get_html_tree(html)
        start_refs, end_refs, lines = _html.get_line_info(tree, QQ_LINES)
        starts = [s for s in (_internal.find_quote_position(lines, 1, position=Position.Begin),
                              _own_start(lines)) if s is not None]
        if not starts or min(starts) == 0:
            return html, ""
        start = min(starts)
        shown = _html.render_html_tree(_html.slice_tree(tree, start_refs, end_refs, (0, start), html_copy=html))
        quoted = _html.render_html_tree(_html.slice_tree(tree, start_refs, end_refs, (start, None)))
    except Exception:  # third-party parsing of hostile markup: no fold rather than no mail
        log.debug("quotequail could not split the html", exc_info=True)
        return html, ""
    if not _has_words(shown) or not _has_words(quoted):
        return html, ""
    return shown, quoted


_TAG = re.compile(r"<[^>]*>")


def _has_words(html: str) -> bool:
    return bool(re.search(r"\w", _TAG.sub(" ", re.sub(r"(?is)<(style|script|head)\b.*?</\1>", " ", html))))
