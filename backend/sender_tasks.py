"""The job that mails an alternative sender address its confirmation link (queued by the API and
the settings page after their commit; run by the job runner, in-process or by the Celery worker)."""
from __future__ import annotations

import logging

from . import mailer
from .domain import senders
from .tasks import task

log = logging.getLogger(__name__)

# Seconds to wait before the second and third attempt when the relay does not take the mail.
RETRY_DELAYS: tuple[float, ...] = (5.0, 30.0)


@task(senders.SEND_CONFIRMATION)
def send_confirmation(services, address_id: int, nonce: str, attempt: int = 1) -> str:
    """Sends the mail for the link ``nonce``. A relay that fails is tried again later: the job
    queues itself after RETRY_DELAYS[attempt - 1] seconds (no worker thread waits). When the last
    attempt fails the address stays pending, marked as having no mail out, and the failure is
    logged: the user sees it on the settings page and can resend."""
    settings = services.settings
    with services.db.session() as session:
        mail = senders.confirmation_mail(session, settings, address_id, nonce)
    if mail is None:
        log.info("confirmation mail for sender address %s not sent: removed, confirmed or replaced", address_id)
        return "superseded"
    delays = tuple(getattr(settings, "confirmation_retry_delays", RETRY_DELAYS))
    try:
        where = mailer.send(settings, mail.to, mail.subject, mail.text, outbox_name=mail.outbox_name)
    except mailer.MailError as exc:
        if attempt > len(delays):
            log.error("confirmation mail to %s (sender address %s) not sent after %d attempts: %s",
                      mail.to, address_id, attempt, exc)
            with services.db.session() as session:
                senders.confirmation_failed(session, address_id, nonce)
            return "failed"
        delay = delays[attempt - 1]
        log.warning("confirmation mail to %s (sender address %s), attempt %d: %s; trying again in %gs",
                    mail.to, address_id, attempt, exc, delay)
        services.jobs.enqueue_in(delay, senders.SEND_CONFIRMATION, address_id, nonce, attempt + 1)
        return "retrying"
    log.info("confirmation mail to %s (sender address %s) sent to %s", mail.to, address_id, where)
    return where
