"""Outgoing mail (address confirmations): through the configured SMTP relay, or into instance/outbox/.

Mail is written as it reads: plain text in 7bit (8bit when it has non-ASCII letters), never
quoted-printable, so a link in a mail written to the outbox can be copied from the file as it stands.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)

MAX_LINE = 998  # RFC 5322: longer lines need an encoding; ours never get near it


class MailError(Exception):
    """The mail could not be handed over; the message says what to check."""


@dataclass(frozen=True)
class Destination:
    """Where a mail goes: the relay (``relay`` is its host:port) or a file in the outbox."""

    relay: str
    outbox_file: Path | None

    @property
    def is_outbox(self) -> bool:
        return self.outbox_file is not None


def destination(settings, outbox_name: str | None = None) -> Destination:
    """Where ``send`` puts a mail, known before it is sent (``outbox_name`` names the file)."""
    if settings.smtp_relay:
        return Destination(settings.smtp_relay, None)
    name = outbox_name or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
    return Destination("", Path(settings.outbox_dir) / name)


def build(settings, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.mail_domain)
    # Our own mail must never be logged as a sales conversation.
    msg["Auto-Submitted"] = "auto-generated"
    if any(len(line) > MAX_LINE for line in text.splitlines()):
        raise ValueError(f"a line of the mail to {to} is longer than {MAX_LINE} characters")
    msg.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return msg


def send(settings, to: str, subject: str, text: str, outbox_name: str | None = None) -> str:
    """Sends one mail; returns where it went (relay host or outbox file)."""
    msg = build(settings, to, subject, text)
    where = destination(settings, outbox_name)
    if where.outbox_file is not None:
        try:
            where.outbox_file.parent.mkdir(parents=True, exist_ok=True)
            where.outbox_file.write_bytes(bytes(msg))
        except OSError as exc:
            raise MailError(f"the mail could not be written to {where.outbox_file} ({exc.__class__.__name__}); "
                            "check SMARTBCC_OUTBOX_DIR") from exc
        log.info("mail to %s written to %s", to, where.outbox_file)
        return str(where.outbox_file)
    host, _, port = settings.smtp_relay.rpartition(":")
    if not host:
        host, port = settings.smtp_relay, "25"
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as client:
            client.ehlo()
            if settings.smtp_relay_tls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_relay_user:
                client.login(settings.smtp_relay_user, settings.smtp_relay_password)
            client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"the mail relay {settings.smtp_relay} did not take the mail "
                        f"({exc.__class__.__name__}); check SMARTBCC_SMTP_RELAY") from exc
    return settings.smtp_relay
