"""The operator mailboxes: postmaster@ and abuse@ at the mail domain take mail from anyone.

RFC 5321 4.5.1 requires a postmaster mailbox and RFC 2142 names abuse@. Their mail is the
deployment operators', not a company's: no sender check, no sender verification, the same
size limit, stored apart (``operator_mail``) and never handed to the pipeline.
"""
from __future__ import annotations

import hashlib
from email.parser import HeaderParser
from email.policy import compat32

from ..mail.headers import clean_text, decode_words, unescape
from ..models import OperatorMail
from ..models.operator import OPERATOR_MAILBOXES
from .checks import too_large

__all__ = ["OPERATOR_MAILBOXES", "operator_mailbox", "store_operator_mail"]


def operator_mailbox(address: str, mail_domain: str) -> str | None:
    """``"postmaster"`` or ``"abuse"`` when ``address`` is that mailbox at the mail domain, else None.

    The local part is compared without case (RFC 5321 4.5.1: "Postmaster" in any case), and a
    bare ``<Postmaster>`` without domain (RFC 5321 4.1.1.3) is the postmaster too.
    """
    clean = (address or "").strip().strip("<>").strip()
    local, at, domain = clean.rpartition("@")
    if not at:
        return "postmaster" if clean.lower() == "postmaster" else None
    if domain.rstrip(".").lower() != (mail_domain or "").lower():
        return None
    name = local.lower()
    return name if name in OPERATOR_MAILBOXES else None


def store_operator_mail(services, raw: bytes, mailboxes: list[str], envelope_from: str | None) -> list[int]:
    """Stores ``raw`` once in the blob store and one row per mailbox; returns the row ids.

    The bytes are fsynced before the rows commit and the rows commit before the caller's 250.
    """
    limit = services.settings.max_message_bytes
    if len(raw) > limit:
        raise too_large(limit)
    header_from, subject = _summary(raw)
    digest = hashlib.sha256(raw).hexdigest()
    services.blobs.put(raw, digest)
    # MAIL FROM:<> (the null reverse path of bounces) is no sender.
    sender = (envelope_from or "").replace("\x00", "").strip().removeprefix("<").removesuffix(">")[:320]
    with services.db.session() as session:
        rows = [OperatorMail(mailbox=mailbox, header_from=header_from, subject=subject, envelope_from=sender or None,
                             raw_sha256=digest, size=len(raw))
                for mailbox in dict.fromkeys(mailboxes)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _summary(raw: bytes) -> tuple[str, str]:
    """The From: and Subject: as written, for the operators' list; whatever cannot be read is ""."""
    try:
        cut = min(x for x in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n"), len(raw)) if x >= 0)
        head = raw[: min(cut, 256 * 1024)].decode("utf-8", "surrogateescape")
        msg = HeaderParser(policy=compat32).parsestr(head)
        found = {}
        for name, value in msg.raw_items():
            found.setdefault(name.strip().lower(), value)
        return _text(found.get("from", ""), 320), _text(found.get("subject", ""), 998)
    except Exception:  # a hostile header must not cost the operators their mail
        return "", ""


def _text(value: str, limit: int) -> str:
    text = clean_text(decode_words(unescape(value)), limit)
    # Undecodable bytes are lone surrogates, which no database text can hold.
    return text.encode("utf-8", "replace").decode("utf-8")
