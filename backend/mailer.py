"""Outgoing mail (address confirmations): through the configured SMTP relay, or into instance/outbox/."""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)


class MailError(Exception):
    """The mail could not be handed over; the message says what to check."""


def build(settings, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.mail_domain)
    # Our own mail must never be logged as a sales conversation.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


def send(settings, to: str, subject: str, text: str) -> str:
    """Sends one mail; returns where it went (relay host or outbox file)."""
    msg = build(settings, to, subject, text)
    if not settings.smtp_relay:
        outbox = Path(settings.outbox_dir)
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(msg))
        log.info("mail to %s written to %s", to, path)
        return str(path)
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
