"""Password reset by mail, asked for on the sign-in page.

Asking never reveals whether an address has an account: the answer is the same words, and the
request only queues a job (``SEND_PASSWORD_RESET`` with the address, backend/sender_tasks.py) that
looks the address up and mails an active user a link, or does nothing. The link is signed, expires
after ``RESET_MINUTES`` and works once (backend/domain/signed_links.py): it carries a stamp of the
user's current password hash and session version, and choosing a new password changes both.
"""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import mailer
from ..models import User
from . import signed_links, users
from .senders import OutgoingMail

RESET_MINUTES = 60
RESET_PATH = "/reset-password"
SEND_PASSWORD_RESET = "users.send_password_reset"  # the job: (email,)

LINK = signed_links.LinkKind(
    salt="smartbcc.password-reset", path=RESET_PATH, max_age=RESET_MINUTES * 60,
    fields=(("u", int), ("s", str)),
    refusals={
        "expired": (410, f"This password reset link has expired (links work for {RESET_MINUTES} minutes). "
                         "Ask for a new one from the sign-in page: 'Forgot your password?'."),
        "used": (410, "This password reset link was already used, or your password changed since it was sent. "
                      "Sign in, or ask for a new link from the sign-in page."),
        "unknown": (404, "This password reset link is not valid. Copy the whole link from the mail, or ask for "
                         "a new one from the sign-in page."),
    })


def _stamp(user: User) -> str:
    return signed_links.digest(f"{user.password_hash or ''}|{user.session_version or 0}")[:24]


def requested_message(settings, email: str) -> str:
    """The answer to every request, whether or not the address has an account."""
    where = mailer.destination(settings)
    text = (f"If {email} belongs to an active Smart Bcc account, a mail with a link to choose a new password "
            f"is on its way to it; the link works for {RESET_MINUTES} minutes. Nothing arrived? Check the "
            "address and the spam folder, or ask your company admin.")
    if where.is_outbox:
        text += (f" This server has no mail relay configured: its mail is written to the folder "
                 f"{where.outbox_file.parent}.")
    return text


def reset_mail(session: Session, settings, email: str) -> OutgoingMail | None:
    """The mail for an active user with this account address; None for anyone else."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.active:
        return None
    link = LINK.url(settings, u=user.id, s=_stamp(user))
    text = (f"Hello {user.name},\n\nsomeone (hopefully you) asked to choose a new password for your Smart Bcc\n"
            f"account {user.email}. Open this link within {RESET_MINUTES} minutes to choose it:\n\n{link}\n\n"
            "The link works once. If you did not ask for this, ignore this mail: your password stays as it is.\n")
    name = f"reset-{user.id}-{secrets.token_hex(6)}.eml"
    return OutgoingMail(user.email, "Choose a new Smart Bcc password", text, name)


class Opened(signed_links.Opened):
    @property
    def user(self) -> User | None:
        return self.target


def open_link(session: Session, settings, token: str) -> Opened:
    state, data = LINK.read(settings, token)
    if state != "valid":
        return Opened(LINK, state)
    user = session.get(User, data["u"])
    if user is None or not user.active:
        return Opened(LINK, "unknown")
    if not signed_links.same(data["s"], _stamp(user)):
        return Opened(LINK, "used", user)
    return Opened(LINK, "pending", user)


def reset_password(session: Session, settings, token: str, password: str, again: str) -> User:
    user = open_link(session, settings, token).require_good()
    errors = users.new_password_errors(user.email, user.name, password, again, field="password")
    if errors:
        raise users.refused(errors)
    users.set_password(user, password)  # changes the stamp: this link is used up, other sessions end
    session.flush()
    return user
