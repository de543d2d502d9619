"""Recognise a rep's forward of a customer's mail and recover the original sender, date, recipients, subject and body."""
from __future__ import annotations

import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from .forward_addresses import is_email, parse_address_list
from .forward_dates import parse_forward_date
from .forward_engine import ENGINE, EngineReading, read_forward
from .forward_html import html_to_text
from .forward_inline import InlineForward, find_inline_forward
from .forward_labels import has_forward_prefix, strip_forward_prefixes, strip_subject_prefixes
from .message import Address, ParsedMessage

__all__ = ["ForwardedOriginal", "find_forwarded", "read_forwarded", "parse_address_list", "strip_subject_prefixes"]

log = logging.getLogger(__name__)

# quotequail's header search is quadratic in runs of "Label:" lines, so it only
# sees bodies small enough for that to stay in the low milliseconds.
QQ_MAX_CHARS = 300_000
QQ_MAX_WORK = 200_000  # header-looking lines x total lines


@dataclass
class ForwardedOriginal:
    sender: Address
    to: list[Address]
    cc: list[Address]
    date: datetime | None  # tz-aware UTC when parseable
    subject: str | None
    text: str | None  # the forwarded message's body (plain)
    html: str | None  # the forwarded message's html body if it was available
    message_id: str | None  # when known (attached message/rfc822)
    source: str  # "attachment" or "inline"
    client: str  # "gmail", "outlook", "outlook-web", "apple-mail", "thunderbird", "unknown"
    note: str | None  # the text the rep wrote above the forward, if any
    message: ParsedMessage | None = None  # the attached message itself (source "attachment")
    engine: str = "attachment"  # what read it: "attachment", "email-forward-parser", "quotequail", "own"


# --- quotequail ------------------------------------------------------------

def _qq_affordable(text: str) -> bool:
    if len(text) > QQ_MAX_CHARS:
        return False
    lines = text.split("\n")
    headerish = sum(1 for line in lines if ":" in line[:40])
    return headerish * len(lines) <= QQ_MAX_WORK


def _qq_forward(result: dict | None) -> dict | None:
    """quotequail's answer when it is a forward with a usable sender address."""
    if not result or result.get("type") != "forward" or not parse_address_list(result.get("from")):
        return None
    return result


def _qq_text(text: str) -> dict | None:
    if not text or not _qq_affordable(text):
        return None
    try:
        import quotequail

        return _qq_forward(quotequail.unwrap(text))
    except Exception:  # quotequail is third-party; its failure is just "not found"
        log.debug("quotequail.unwrap failed", exc_info=True)
        return None


def _qq_html(html: str, rendered: str) -> dict | None:
    if not html or len(html) > QQ_MAX_CHARS or not _qq_affordable(rendered):
        return None
    try:
        import quotequail

        return _qq_forward(quotequail.unwrap_html(html))
    except Exception:
        log.debug("quotequail.unwrap_html failed", exc_info=True)
        return None


# --- helpers ---------------------------------------------------------------

def _trim_signature(text: str) -> str:
    """Drop a short "-- " signature at the very end; longer tails may be content."""
    lines = text.rstrip().split("\n")
    for index in range(len(lines) - 1, max(0, len(lines) - 8), -1):
        if lines[index].strip() == "--":
            tail = lines[index + 1:]
            kept = "\n".join(lines[:index]).rstrip()
            if kept and sum(1 for line in tail if line.strip()) <= 6 and len("\n".join(tail)) <= 400:
                return kept
            break
    return text.strip()


def _outer_tz(msg: ParsedMessage):
    """The forwarder's UTC offset: Gmail and Outlook print the original's date in
    the forwarding rep's local time without a zone, and the outer Date header is
    written in that same local time."""
    raw = msg.header("Date")
    if raw:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
            if parsed.tzinfo is not None:
                return parsed.tzinfo
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return timezone.utc


_HTML_HINTS = (
    ("outlook-web", ("divrplyfwdmsg", 'id="appendonsend"', "x_divrplyfwdmsg")),
    ("gmail", ("gmail_quote", "gmail_attr", "gmail_sendername")),
    ("thunderbird", ("moz-forward-container", "moz-email-headers-table", "moz-cite-prefix")),
    ("apple-mail", ("apple-interchange-newline", "applemailsignature")),
    ("outlook", ("urn:schemas-microsoft-com:office", "class=\"msonormal\"", "wordsection1")),
)
_MAILER_HINTS = (
    ("outlook", "microsoft outlook"), ("thunderbird", "thunderbird"), ("apple-mail", "apple mail"),
    ("apple-mail", "iphone mail"), ("gmail", "@mail.gmail.com"),
)


def _html_client(html: str | None) -> str | None:
    if not html:
        return None
    sample = html[:300_000].lower()
    for client, needles in _HTML_HINTS:
        if any(needle in sample for needle in needles):
            return client
    return None


def _mailer_client(msg: ParsedMessage) -> str | None:
    hints = " ".join(filter(None, (msg.header("X-Mailer"), msg.header("User-Agent"), msg.message_id)))
    hints = hints.lower()
    for client, needle in _MAILER_HINTS:
        if needle in hints:
            return client
    return None


def _guess_client(found: InlineForward | None, msg: ParsedMessage) -> str:
    if found is not None:
        if found.flavour == "apple-mail":
            return "apple-mail"
        if found.dashes >= 10:
            return "gmail"
        if found.order and found.order[0] == "subject":
            return "thunderbird"  # Thunderbird alone lists Subject first
        if found.flavour in ("underscore", "headers") or (found.flavour == "original" and found.dashes == 5):
            return "outlook-web" if _html_client(msg.html) == "outlook-web" else "outlook"
    return _html_client(msg.html) or _mailer_client(msg) or "unknown"


def _outer_note(msg: ParsedMessage) -> str | None:
    text = msg.text if msg.text and msg.text.strip() else html_to_text(msg.html)
    return text.strip() or None if text else None


def _norm_subject(subject: str | None) -> str:
    return " ".join((subject or "").split()).casefold()


# --- the two ways a forward arrives -----------------------------------------

def _from_attachment(msg: ParsedMessage) -> ForwardedOriginal | None:
    attached = [m for m in msg.attached_messages if m.sender is not None and is_email(m.sender.email.strip())]
    if not attached:
        return None
    outer = msg.subject or ""
    is_forward = has_forward_prefix(outer)
    target = _norm_subject(strip_forward_prefixes(outer))
    chosen = next((m for m in attached if target and _norm_subject(m.subject) == target), None)
    if chosen is None and is_forward:
        bare = _norm_subject(strip_subject_prefixes(outer))
        chosen = next((m for m in attached if bare and _norm_subject(strip_subject_prefixes(m.subject)) == bare), None)
    if chosen is None and is_forward and len(msg.attached_messages) == 1:
        chosen = attached[0]
    if chosen is None:
        return None
    date = chosen.date
    if date is not None:
        date = date.replace(tzinfo=timezone.utc) if date.tzinfo is None else date.astimezone(timezone.utc)
    text = chosen.text if chosen.text and chosen.text.strip() else html_to_text(chosen.html)
    return ForwardedOriginal(
        sender=chosen.sender, to=list(chosen.to), cc=list(chosen.cc), date=date,
        subject=chosen.subject or strip_forward_prefixes(outer) or None,
        text=text.strip() or None if text else None, html=chosen.html or None,
        message_id=chosen.message_id, source="attachment",
        client=_mailer_client(msg) or _html_client(msg.html) or "unknown", note=_outer_note(msg),
        message=chosen,
    )


def _same_people(a: str | None, b: str | None) -> bool:
    return {x.key for x in parse_address_list(a)} == {x.key for x in parse_address_list(b)}


def _agrees(own: InlineForward, qq: dict, qq_note: str) -> bool:
    """quotequail saw the same header block: same sender, recipients and note.
    It disagrees when it misses a localized label (a German separator lands in
    its note, an unknown "Kopie (CC):" is glued onto To), and then ours wins."""
    return (_same_people(own.fields.get("from"), qq.get("from"))
            and _same_people(own.fields.get("to"), qq.get("to"))
            and _same_people(own.fields.get("cc"), qq.get("cc"))
            and (own.note or "").strip() == (qq_note or "").strip())


def _own_inline(msg: ParsedMessage, text: str, rendered: str) -> tuple[ForwardedOriginal | None, str]:
    """The forward our own reader (cross-checked by quotequail) finds in the body,
    and which of the two supplied it ("quotequail", "own" or "none")."""
    subject_forward = has_forward_prefix(msg.subject or "")
    outer_key = msg.sender.key if msg.sender else None
    own = find_inline_forward(text, subject_forward, outer_key) if text else None
    own_source = "text" if own is not None else None
    if own is None and rendered:
        own = find_inline_forward(rendered, subject_forward, outer_key)
        own_source = "html" if own is not None else None
    if own is None and not subject_forward:
        return None, "none"  # quotequail's answer could not pass the subject gate either
    qq_t = _qq_text(text) if text and own_source != "html" else None
    qq_h = _qq_html(msg.html, rendered) if msg.html else None
    if own_source == "html" or (own_source is None and qq_t is None):
        qq, qq_is_html = qq_h, True
    else:
        qq, qq_is_html = qq_t, False

    fields: dict[str, str] = dict(own.fields) if own is not None else {}
    body, note = (own.body, own.note) if own is not None else ("", None)
    engine = "own" if own is not None else "none"
    if qq is not None:
        if qq_is_html:
            qq_body, qq_note = html_to_text(qq.get("html")), html_to_text(qq.get("html_top"))
        else:
            qq_body, qq_note = qq.get("text", ""), qq.get("text_top", "")
        if _agrees(own, qq, qq_note) if own is not None else subject_forward:
            # quotequail read the same block we did (or found one we could not,
            # under a forward subject): use its reading, ours fills its gaps
            # (e.g. "Envoyé :" or Italian labels it does not know).
            engine = "quotequail"
            fields.update({k: qq[k] for k in ("from", "to", "cc", "bcc", "subject", "date") if qq.get(k)})
            body, note = qq_body, qq_note
    senders = parse_address_list(fields.get("from"))
    if not senders:
        return None, "none"  # a forward with no readable sender address: do not invent one
    sender = senders[0]
    html = qq_h.get("html") if qq_h and parse_address_list(qq_h.get("from"))[0].key == sender.key else None
    date_value = fields.get("date", "")
    body = _trim_signature(body or "")
    return ForwardedOriginal(
        sender=sender, to=parse_address_list(fields.get("to")), cc=parse_address_list(fields.get("cc")),
        date=parse_forward_date(date_value, _outer_tz(msg)),
        subject=fields.get("subject") or strip_forward_prefixes(msg.subject or "") or None,
        text=body or None, html=html, message_id=fields.get("message-id", "").strip(" <>") or None,
        source="inline",
        client=_guess_client(own, msg), note=(note or "").strip() or None, engine=engine,
    ), engine


def _engine_original(reading: EngineReading, own: ForwardedOriginal | None,
                     msg: ParsedMessage) -> ForwardedOriginal | None:
    """email-forward-parser's reading. When our own reader found the same sender
    it knows the block's edges at least as well (separators the library lacks,
    such as "-----Messaggio originale-----"), so its fields stand and the
    library's fill what it left empty."""
    senders = parse_address_list(reading.fields.get("from"))
    if not senders:
        return None
    sender = senders[0]
    date = parse_forward_date(reading.fields.get("date"), _outer_tz(msg))
    if own is not None and own.sender.key == sender.key:
        own.engine = ENGINE
        own.to = own.to or parse_address_list(reading.fields.get("to"))
        own.cc = own.cc or parse_address_list(reading.fields.get("cc"))
        own.date = own.date or date
        own.subject = own.subject or reading.fields.get("subject") or None
        own.text = own.text or _trim_signature(reading.body or "") or None
        return own
    body = _trim_signature(reading.body or "")
    return ForwardedOriginal(
        sender=sender, to=parse_address_list(reading.fields.get("to")),
        cc=parse_address_list(reading.fields.get("cc")), date=date,
        subject=reading.fields.get("subject") or strip_forward_prefixes(msg.subject or "") or None,
        text=body or None, html=None, message_id=None, source="inline",
        client=_guess_client(None, msg), note=reading.note.strip() or None, engine=ENGINE,
    )


def _settle_subject(found: ForwardedOriginal, msg: ParsedMessage) -> ForwardedOriginal:
    """The printed subject, unless it and the rep's subject (without "Fwd:") are
    one the start of the other: then the printed one was cut ("Subject: In",
    a subject wrapped onto a second line) or ran into the body, and the rep's
    is the whole of it."""
    outer = strip_forward_prefixes(msg.subject or "")
    inner, wanted = _norm_subject(found.subject), _norm_subject(outer)
    if outer and inner != wanted and (not inner or inner.startswith(wanted) or wanted.startswith(inner)):
        found.subject = outer
    return found


def _from_inline(msg: ParsedMessage) -> tuple[ForwardedOriginal | None, str]:
    """The forward found in the body, and which engine supplied it
    ("email-forward-parser", "quotequail", "own" or "none")."""
    text = (msg.text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = text if text.strip() else ""
    rendered = html_to_text(msg.html) if msg.html else ""
    own, own_engine = _own_inline(msg, text, rendered)
    reading = read_forward(text or rendered, msg.subject)
    found = _engine_original(reading, own, msg) if reading is not None else None
    rep_key = msg.sender.key if msg.sender else None
    if found is not None and not (found.sender.key == rep_key and own is not None and own.sender.key != rep_key):
        return _settle_subject(found, msg), ENGINE
    return (_settle_subject(own, msg) if own is not None else None), own_engine  # (or the rep forwarded their own forward: our reader looks deeper)


NOT_A_FORWARD = "Not a forward: logged as it was sent."
NO_SENDER = ("The subject says this is a forward, but no original sender's address could be read "
             "from it, so it is logged as the rep's own mail rather than guessed from a quoted line.")


def read_forwarded(msg: ParsedMessage) -> tuple[ForwardedOriginal | None, str]:
    """The original message a rep forwarded to the Smart Bcc address, or None
    and the sentence that says why the mail stays the rep's. Never raises."""
    try:
        if msg.auto_kind in ("bounce", "complaint"):
            # machine reports quote the rep's own mail; they are never a forward
            return None, "Automatic mail: not read as a forward."
        found = _from_attachment(msg) or _from_inline(msg)[0]
    except Exception:  # one odd mail must not stop the pipeline
        log.warning("forward detection failed", exc_info=True)
        return None, "The forward could not be read, so it is logged as the rep's own mail."
    if found is not None:
        return found, ""
    return None, NO_SENDER if has_forward_prefix(msg.subject or "") else NOT_A_FORWARD


def find_forwarded(msg: ParsedMessage) -> ForwardedOriginal | None:
    """The original message a rep forwarded, or None (see read_forwarded)."""
    return read_forwarded(msg)[0]
