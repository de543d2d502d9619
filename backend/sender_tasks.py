"""The jobs that send Smart Bcc's own mail: an alternative sender address's confirmation link, an
invitation, a password reset link (queued by the API and the pages after their commit; run by the
job runner, in-process or by the Celery worker)."""
from __future__ import annotations

import logging

from . import mailer
from .domain import invitations, password_reset, senders
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


def _send_or_retry(services, job: str, what: str, mail, args: tuple, attempt: int, on_failure) -> str:
    """Sends ``mail``; when the relay fails, queues ``job`` again with ``args`` after the next delay,
    and after the last attempt calls ``on_failure(session)`` so the page can say so."""
    settings = services.settings
    delays = tuple(getattr(settings, "confirmation_retry_delays", RETRY_DELAYS))
    try:
        where = mailer.send(settings, mail.to, mail.subject, mail.text, outbox_name=mail.outbox_name)
    except mailer.MailError as exc:
        if attempt > len(delays):
            log.error("%s to %s not sent after %d attempts: %s", what, mail.to, attempt, exc)
            if on_failure is not None:
                with services.db.session() as session:
                    on_failure(session)
            return "failed"
        delay = delays[attempt - 1]
        log.warning("%s to %s, attempt %d: %s; trying again in %gs", what, mail.to, attempt, exc, delay)
        services.jobs.enqueue_in(delay, job, *args, attempt + 1)
        return "retrying"
    log.info("%s to %s sent to %s", what, mail.to, where)
    return where


@task(invitations.SEND_INVITATION)
def send_invitation(services, invitation_id: int, nonce: str, attempt: int = 1) -> str:
    """The invitation mail for the link ``nonce``; nothing when it was accepted, withdrawn or resent."""
    with services.db.session() as session:
        mail = invitations.invitation_mail(session, services.settings, invitation_id, nonce)
    if mail is None:
        log.info("invitation mail %s not sent: accepted, withdrawn or replaced", invitation_id)
        return "superseded"
    return _send_or_retry(services, invitations.SEND_INVITATION, "invitation mail", mail, (invitation_id, nonce),
                          attempt, lambda session: invitations.invitation_failed(session, invitation_id, nonce))


@task(password_reset.SEND_PASSWORD_RESET)
def send_password_reset(services, email: str, attempt: int = 1) -> str:
    """The reset mail for an active user with this account address; nothing for anyone else (the
    page that asked says the same words either way). A retry builds a fresh link."""
    with services.db.session() as session:
        mail = password_reset.reset_mail(session, services.settings, email)
    if mail is None:
        log.info("password reset asked for an address without an active account")
        return "no account"
    return _send_or_retry(services, password_reset.SEND_PASSWORD_RESET, "password reset mail", mail, (email,),
                          attempt, None)
