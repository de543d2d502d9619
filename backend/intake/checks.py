"""The acceptance checks every source shares: recipient, size and sender, with the words the sender sees."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import HeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .. import addresses
from ..config import Settings
from ..mail.headers import clean_text, decode_words, parse_address_header, unescape
from ..models import Company, CompanyAddressAlias, Deal, Lead, SenderAddress, User

SETTINGS_PATH = "Settings > Smart Bcc > accepted addresses"


class Rejection(Exception):
    """The sender's error: told to the sender (SMTP reply or HTTP error), nothing stored."""

    smtp_code = 550
    smtp_status = "5.0.0"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def smtp_reply(self) -> str:
        return f"{self.smtp_code} {self.smtp_status} {self.message}"


class UnknownAddress(Rejection):
    smtp_status = "5.1.1"
    http_status = 404


class TooLarge(Rejection):
    smtp_code = 552
    smtp_status = "5.3.4"
    http_status = 413


class SenderNotAccepted(Rejection):
    smtp_status = "5.7.1"
    http_status = 403


class SenderNotAuthenticated(Rejection):
    smtp_status = "5.7.26"
    http_status = 403


def sender_not_authenticated(sender: str, detail: str) -> SenderNotAuthenticated:
    return SenderNotAuthenticated(
        f"Smart Bcc could not verify that this mail really comes from <{_printable(sender)}> "
        f"({_printable(detail)}). Your company only accepts DKIM-signed mail; ask your mail admin "
        "to sign outgoing mail, or an admin to relax Settings > Smart Bcc > sender verification.")


def unknown_address(address: str) -> UnknownAddress:
    shown = _printable(address)
    return UnknownAddress(
        f"<{shown}> is not a Smart Bcc address. Copy the address from "
        "Settings > Smart Bcc, or from the deal or lead, and send again.")


def too_large(limit: int) -> TooLarge:
    mb = limit // (1024 * 1024)
    return TooLarge(
        f"The message is larger than the Smart Bcc limit of {mb} MB, attachments included. "
        "Send it again without the large attachments.")


def sender_not_accepted(sender: str) -> SenderNotAccepted:
    return SenderNotAccepted(
        f"Smart Bcc does not accept mail from <{_printable(sender)}>. Send from your account "
        f"address, or add this address under {SETTINGS_PATH} and confirm it.")


# Why a mail names no sender, in the words the sender reads (SMTP 550 5.7.1, HTTP 403).
_WHO_SENT = "Smart Bcc needs it to know which user sent it"


def sender_unknown(raw: bytes, headers: "HeaderSummary") -> SenderNotAccepted:
    """The refusal of a mail whose From: names no single readable address, saying which case it is."""
    if not raw.strip():
        return SenderNotAccepted(
            "This mail is empty: it has no From: header and no text. Send the mail itself, with your "
            "address in From:.")
    if headers.unreadable:
        return SenderNotAccepted(
            f"The header of this mail cannot be read, so it names no sender; {_WHO_SENT}. "
            "Send it again from your mail program.")
    values = headers.from_values
    if not headers.from_headers:
        return SenderNotAccepted(f"This mail has no From: header; {_WHO_SENT}.")
    if headers.from_headers > 1:
        return SenderNotAccepted(
            f"This mail has {headers.from_headers} From: headers; Smart Bcc logs mail from one user, "
            "so send it with one From: header naming one address.")
    if not values[0].strip():
        return SenderNotAccepted(f"The From: header is empty; {_WHO_SENT}.")
    if headers.from_count > 1:
        return SenderNotAccepted(
            f"The From: header names {headers.from_count} addresses; Smart Bcc logs mail from one user, "
            "so send it from one address.")
    return SenderNotAccepted(
        f"The From: header ({_printable(values[0].strip())}) is not an address Smart Bcc can read; "
        "send it again with your address in From:, like Name <you@example.com>.")


def _printable(text: str) -> str:
    # Replies must stay one safe line: no CR/LF injection, bounded length.
    cleaned = re.sub(r"[\x00-\x1f\x7f<>]", "", text or "")
    # Undecodable bytes arrive as lone surrogates, which no reply can be encoded with.
    return cleaned[:200].encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Route:
    """Where one Smart Bcc recipient leads: a company, and maybe one deal or lead."""

    address: str
    company_id: int
    kind: str  # "company", "deal" or "lead"
    item_id: int | None = None
    via_alias: bool = False

    def as_dict(self) -> dict:
        return {"address": self.address, "kind": self.kind, "item_id": self.item_id,
                "via_alias": self.via_alias}


def route_address(session: Session, address: str, settings: Settings,
                  now: datetime | None = None) -> Route | None:
    decoded = addresses.decode(address, settings.mail_domain)
    if decoded is None:
        return None
    clean = address.strip().strip("<>").strip()
    if decoded.kind == "company":
        company_id = session.scalar(select(Company.id).where(Company.slug == decoded.slug))
        if company_id is not None:
            return Route(clean, company_id, "company")
        now = now or datetime.now(timezone.utc)
        alias = session.scalar(select(CompanyAddressAlias).where(
            CompanyAddressAlias.slug == decoded.slug, CompanyAddressAlias.expires_at > now))
        if alias is not None:
            return Route(clean, alias.company_id, "company", via_alias=True)
        return None
    model = Deal if decoded.kind == "deal" else Lead
    row = session.execute(
        select(model.id, model.company_id).where(model.bcc_token == decoded.token)).first()
    if row is None:
        return None
    return Route(clean, row.company_id, decoded.kind, row.id)


def accepted_user(session: Session, company_id: int, sender: str) -> User | None:
    """The user whose account or verified alternative address ``sender`` is; their company comes
    in the same query (acceptance reads its sender verification policy next)."""
    key = (sender or "").strip().lower()
    if not key:
        return None
    user = session.scalar(select(User).options(joinedload(User.company)).where(
        User.company_id == company_id, User.email == key, User.active.is_(True)))
    if user is not None:
        return user
    return session.scalar(
        select(User).options(joinedload(User.company)).join(SenderAddress, SenderAddress.user_id == User.id).where(
            SenderAddress.company_id == company_id, SenderAddress.email == key,
            SenderAddress.verified_at.is_not(None), User.active.is_(True)))


@dataclass
class HeaderSummary:
    """The few header facts acceptance needs, read without parsing the body."""

    from_address: str | None
    from_count: int
    message_id: str | None
    problems: list[str] = field(default_factory=list)
    # The first From: headers as written (decoded, one line each) and how many there are, for
    # the words of a refusal.
    from_values: list[str] = field(default_factory=list)
    from_headers: int = 0
    unreadable: bool = False


_ADDR_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def read_headers(raw: bytes) -> HeaderSummary:
    """Never raises: whatever cannot be read becomes a problem, and no From means no sender."""
    try:
        return _read_headers(raw)
    except Exception as exc:  # the SMTP reply must not depend on a parser corner case
        return HeaderSummary(None, 0, None, [f"header block unreadable ({exc.__class__.__name__})"],
                             unreadable=True)


def _read_headers(raw: bytes) -> HeaderSummary:
    # Only the header block: a 20 MB body need not be parsed to answer.
    end = raw.find(b"\r\n\r\n")
    end_lf = raw.find(b"\n\n")
    cut = min(x for x in (end, end_lf, len(raw)) if x >= 0)
    head = raw[: min(cut, 1024 * 1024)]
    # UTF-8 headers (SMTPUTF8, RFC 6532) are read as text, so a UTF-8 local part in
    # From: compares equal to the stored address; other bytes stay surrogate-escaped.
    msg = HeaderParser(policy=compat32).parsestr(head.decode("utf-8", "surrogateescape"))
    # raw_items() gives plain strings; get() would build Header objects whose str()
    # raises on mixed non-ASCII and escaped bytes.
    values, message_id = [], None
    for name, value in msg.raw_items():
        lname = name.strip().lower()
        if lname == "from":
            values.append(value)
        elif lname == "message-id" and message_id is None:
            message_id = clean_text(unescape(value), 255) or None
    problems: list[str] = []
    found, texts = [], []
    for value in values[:5]:
        text = clean_text(decode_words(unescape(value)), 4000)
        texts.append(text)
        # The strict parser refuses what the legacy one would misread (CVE-2023-27043).
        found.extend(parse_address_header(text, "From", problems))
    if len(values) > 1:
        problems.append("several From headers")
    if len(found) != 1:
        problems.append("From header does not name exactly one address")
    sender = found[0].email.lower() if len(found) == 1 and not problems else None
    return HeaderSummary(sender, len(found), message_id, problems, texts, from_headers=len(values))
