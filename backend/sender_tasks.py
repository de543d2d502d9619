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


def _send_or_retry(services, job: str, args: tuple, attempt: int, what: str, build, on_failure=None,
                   skipped: tuple[str, str] = ("superseded", "no longer wanted")) -> str:
    """Builds the mail with ``build(session)`` and sends it. None from ``build``: nothing to send,
    ``skipped`` = (the job's answer, the words logged). When the relay fails, queues ``job`` again
    with ``args`` after RETRY_DELAYS[attempt - 1] seconds (no worker thread waits); after the last
    attempt calls ``on_failure(session)`` so the page that asked can say so."""
    settings = services.settings
    with services.db.session() as session:
        mail = build(session)
    if mail is None:
        log.info("%s not sent: %s", what, skipped[1])
        return skipped[0]
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


@task(senders.SEND_CONFIRMATION)
def send_confirmation(services, address_id: int, nonce: str, attempt: int = 1) -> str:
    """The mail for the link ``nonce``. When the last attempt fails the address stays pending, marked
    as having no mail out: the user sees it on the settings page and can resend."""
    return _send_or_retry(
        services, senders.SEND_CONFIRMATION, (address_id, nonce), attempt,
        f"confirmation mail (sender address {address_id})",
        lambda session: senders.confirmation_mail(session, services.settings, address_id, nonce),
        lambda session: senders.confirmation_failed(session, address_id, nonce),
        ("superseded", "removed, confirmed or replaced"))


@task(invitations.SEND_INVITATION)
def send_invitation(services, invitation_id: int, nonce: str, attempt: int = 1) -> str:
    """The invitation mail for the link ``nonce``; nothing when it was accepted, withdrawn or resent."""
    return _send_or_retry(
        services, invitations.SEND_INVITATION, (invitation_id, nonce), attempt, f"invitation mail {invitation_id}",
        lambda session: invitations.invitation_mail(session, services.settings, invitation_id, nonce),
        lambda session: invitations.invitation_failed(session, invitation_id, nonce),
        ("superseded", "accepted, withdrawn or replaced"))


@task(password_reset.SEND_PASSWORD_RESET)
def send_password_reset(services, email: str, attempt: int = 1) -> str:
    """The reset mail for an active user with this account address; nothing for anyone else (the
    page that asked says the same words either way). A retry builds a fresh link."""
    return _send_or_retry(
        services, password_reset.SEND_PASSWORD_RESET, (email,), attempt, "password reset mail",
        lambda session: password_reset.reset_mail(session, services.settings, email),
        skipped=("no account", "asked for an address without an active account"))
