"""The job that mails an alternative sender address its confirmation link (queued by the API and
the settings page after their commit; run by the job runner, in-process or by the Celery worker)."""
from __future__ import annotations

import logging
import time

from . import mailer
from .domain import senders
from .tasks import task

log = logging.getLogger(__name__)

# Seconds to wait before the second and third attempt when the relay does not take the mail.
RETRY_DELAYS: tuple[float, ...] = (5.0, 30.0)


@task(senders.SEND_CONFIRMATION)
def send_confirmation(services, address_id: int, nonce: str) -> str:
    """Sends the mail for the link ``nonce``; a relay that fails is tried again (RETRY_DELAYS).
    When it keeps failing the address stays pending, marked as having no mail out, and the
    failure is logged: the user sees it on the settings page and can resend."""
    settings = services.settings
    with services.db.session() as session:
        mail = senders.confirmation_mail(session, settings, address_id, nonce)
    if mail is None:
        log.info("confirmation mail for sender address %s not sent: removed, confirmed or replaced", address_id)
        return "superseded"
    delays = iter(getattr(settings, "confirmation_retry_delays", RETRY_DELAYS))
    attempt = 0
    while True:
        attempt += 1
        try:
            where = mailer.send(settings, mail.to, mail.subject, mail.text, outbox_name=mail.outbox_name)
        except mailer.MailError as exc:
            delay = next(delays, None)
            if delay is None:
                log.error("confirmation mail to %s (sender address %s) not sent after %d attempts: %s",
                          mail.to, address_id, attempt, exc)
                with services.db.session() as session:
                    senders.confirmation_failed(session, address_id, nonce)
                return "failed"
            log.warning("confirmation mail to %s (sender address %s), attempt %d: %s; trying again in %gs",
                        mail.to, address_id, attempt, exc, delay)
            time.sleep(delay)
            continue
        log.info("confirmation mail to %s (sender address %s) sent to %s", mail.to, address_id, where)
        return where
