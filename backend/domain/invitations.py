"""Invitations: an admin invites a colleague by email; the link lets them choose a name and password.

The link is signed, expires after ``INVITE_DAYS`` days and works once (backend/domain/signed_links.py):
it carries the invitation's id and a random nonce of which only the SHA-256 is stored; accepting,
revoking or resending (a new nonce) makes earlier links worthless. The mail is sent by a
job (``SEND_INVITATION``, backend/sender_tasks.py) after the request commits, through the relay, or
into a named file of the outbox when no relay is configured, and the admin is told which.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import addresses, mailer
from ..accounts import AccountError, create_user, normalize_email
from ..models import Company, User
from ..models.company import Invitation
from . import signed_links, users
from .actor import Actor
from .errors import DomainError, invalid
from .senders import OutgoingMail

INVITE_DAYS = 7
ACCEPT_PATH = "/invitations/accept"
SEND_INVITATION = "users.send_invitation"  # the job: (invitation id, nonce)

LINK = signed_links.LinkKind(
    salt="smartbcc.invitation", path=ACCEPT_PATH, max_age=INVITE_DAYS * 86400,
    fields=(("id", int), ("n", str)),
    refusals={
        "expired": (410, "This invitation has expired. Ask the admin who invited you to send it again."),
        "used": (409, "This invitation was already accepted. Sign in with the address and password you chose."),
        "revoked": (410, "This invitation was withdrawn by an admin of the company. Ask them if you should "
                         "still join."),
        "replaced": (410, "A newer invitation mail was sent to you; use the link in the newest mail."),
        "unknown": (404, "This invitation link is not valid. Copy the whole link from the mail into the "
                         "address bar."),
    })


def _outbox_name(invitation_id: int, nonce: str) -> str:
    return f"invite-{invitation_id}-{signed_links.digest(nonce)[:12]}.eml"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Sent:
    """An invitation mail asked for: what the job needs and where the mail goes."""

    invitation_id: int
    nonce: str
    email: str
    destination: mailer.Destination
    resend: bool = False

    def message(self) -> str:
        what = "a new invitation" if self.resend else "an invitation"
        after = " The link in the earlier mail no longer works." if self.resend else ""
        if self.destination.is_outbox:
            return (f"No mail relay is configured: {what} for {self.email} was written to "
                    f"{self.destination.outbox_file}; send them its link (valid {INVITE_DAYS} days).{after}")
        return f"We sent {what} to {self.email}; its link works for {INVITE_DAYS} days.{after}"


def state_of(invitation: Invitation, at: datetime | None = None) -> str:
    at = at or users.now()
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if _aware(invitation.expires_at) <= at:
        return "expired"
    return "pending" if invitation.sent_at is not None else "failed"


def _mail_out(session: Session, settings, invitation: Invitation, resend: bool) -> Sent:
    nonce, invitation.nonce_hash = signed_links.new_nonce()
    invitation.sent_at = users.now()
    invitation.expires_at = invitation.sent_at + timedelta(days=INVITE_DAYS)
    session.flush()
    return Sent(invitation.id, nonce, invitation.email,
                mailer.destination(settings, _outbox_name(invitation.id, nonce)), resend)


def invite(session: Session, settings, actor: Actor, email: str, role: str = "member", name: str = "") -> Sent:
    """A new invitation to the actor's company; the caller commits, then queues ``SEND_INVITATION``."""
    users.require_admin(actor, "invite people")
    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise invalid("email", f"{exc} Enter the address the person signs in and sends mail with.") from exc
    if role not in users.ROLES:
        raise invalid("role", "Choose 'Admin' or 'Member' as the role.")
    name = " ".join((name or "").split())
    if len(name) > 200:
        raise invalid("name", "The name can have at most 200 characters.")
    if addresses.is_smartbcc_address(email, settings.mail_domain):
        raise invalid("email", f"{email} is a Smart Bcc address, not a person's. Enter the person's own address.")
    account = session.execute(select(User.company_id, User.name).where(func.lower(User.email) == email)).first()
    if account is not None:
        if account.company_id == actor.company_id:
            raise invalid("email", f"{email} already is a user of your company ({account.name}).")
        raise invalid("email", f"{email} already has a Smart Bcc account with another company; an address "
                               "belongs to one account only.")
    for other in session.scalars(select(Invitation).where(
            Invitation.company_id == actor.company_id, Invitation.email == email)):
        if state_of(other) in ("pending", "failed"):
            raise invalid("email", f"{email} is already invited; choose 'Resend' next to the invitation below.")
    invitation = Invitation(company_id=actor.company_id, email=email, name=name or None, role=role,
                            invited_by_id=actor.user_id, expires_at=users.now())
    session.add(invitation)
    session.flush()
    return _mail_out(session, settings, invitation, resend=False)


def company_invitation(session: Session, actor: Actor, invitation_id: int) -> Invitation:
    users.require_admin(actor, "manage invitations")
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.company_id != actor.company_id:
        raise DomainError(404, "No such invitation, or it is not one of your company's. Reload the users page.")
    return invitation


def resend(session: Session, settings, actor: Actor, invitation_id: int) -> Sent:
    invitation = company_invitation(session, actor, invitation_id)
    state = state_of(invitation)
    if state == "accepted":
        raise invalid("invitation", f"{invitation.email} already accepted the invitation; nothing to resend.")
    if state == "revoked":
        raise invalid("invitation", f"The invitation for {invitation.email} was withdrawn; invite them again.")
    return _mail_out(session, settings, invitation, resend=True)


def revoke(session: Session, actor: Actor, invitation_id: int) -> tuple[Invitation, bool]:
    invitation = company_invitation(session, actor, invitation_id)
    if state_of(invitation) in ("accepted", "revoked"):
        return invitation, False
    invitation.revoked_at = users.now()
    invitation.nonce_hash = None
    session.flush()
    return invitation, True


def invitation_rows(session: Session, settings, actor: Actor) -> list[dict]:
    """Invitations not accepted yet, newest first, as the users page lists them."""
    users.require_admin(actor, "see the invitations")
    rows = []
    at = users.now()
    for inv in session.scalars(select(Invitation).where(
            Invitation.company_id == actor.company_id, Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None)).order_by(Invitation.id.desc())):
        state = state_of(inv, at)
        outbox = not settings.smtp_relay and state == "pending"
        rows.append({"id": inv.id, "email": inv.email, "name": inv.name, "role": inv.role,
                     "role_label": users.ROLES.get(inv.role, inv.role), "state": state,
                     "sent_at": inv.sent_at, "expires_at": _aware(inv.expires_at),
                     "invited_by": inv.invited_by.name if inv.invited_by else None,
                     "outbox_dir": str(mailer.destination(settings).outbox_file.parent) if outbox else None})
    return rows


def not_sent(session: Session, sent: Sent) -> str | None:
    """Words for the admin when the job already gave up on this mail; None while on its way."""
    # Read afresh: the job (eager, or a quick one) wrote in a session of its own.
    row = session.execute(select(Invitation.nonce_hash, Invitation.sent_at)
                          .where(Invitation.id == sent.invitation_id)).first()
    if row is None or not signed_links.nonce_matches(row.nonce_hash, sent.nonce) or row.sent_at is not None:
        return None
    return (f"The invitation mail to {sent.email} could not be handed to the mail relay, even after retrying. "
            "Choose 'Resend' later; if it keeps failing, check the mail relay (SMARTBCC_SMTP_RELAY).")


# --- the mail (built and sent by the job) ---------------------------------------------------------

def invitation_mail(session: Session, settings, invitation_id: int, nonce: str) -> OutgoingMail | None:
    """The mail for ``nonce``, or None when it is no longer wanted (accepted, withdrawn, replaced)."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or not signed_links.nonce_matches(invitation.nonce_hash, nonce) or state_of(
            invitation) in ("accepted", "revoked"):
        return None
    link = LINK.url(settings, id=invitation.id, n=nonce)
    inviter = invitation.invited_by
    who = f"{inviter.name} ({inviter.email})" if inviter else "An admin"
    company = session.get(Company, invitation.company_id)
    text = (f"Hello,\n\n{who} invites you to {company.name} on Smart Bcc, which logs the mail you send\n"
            "and receive into your CRM.\n\nOpen this link within "
            f"{INVITE_DAYS} days to choose your name and password:\n\n{link}\n\n"
            "The link works once. If you did not expect this invitation, ignore this mail.\n")
    return OutgoingMail(invitation.email, f"You are invited to {company.name} on Smart Bcc", text,
                        _outbox_name(invitation.id, nonce))


def company_name(session: Session, invitation: Invitation) -> str:
    return session.get(Company, invitation.company_id).name


def invitation_failed(session: Session, invitation_id: int, nonce: str) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is not None and signed_links.nonce_matches(invitation.nonce_hash, nonce):
        invitation.sent_at = None


# --- the link -------------------------------------------------------------------------------------

class Opened(signed_links.Opened):
    @property
    def invitation(self) -> Invitation | None:
        return self.target


def open_link(session: Session, settings, token: str) -> Opened:
    state, data = LINK.read(settings, token)
    if state != "valid":
        return Opened(LINK, state)
    invitation = session.get(Invitation, data["id"])
    if invitation is None:
        return Opened(LINK, "unknown")
    state = state_of(invitation)
    if state == "accepted":
        return Opened(LINK, "used", invitation)
    if state in ("revoked", "expired"):
        return Opened(LINK, state, invitation)
    if not signed_links.nonce_matches(invitation.nonce_hash, data["n"]):
        return Opened(LINK, "replaced", invitation)
    return Opened(LINK, "pending", invitation)


def accept(session: Session, settings, token: str, name: str, password: str, again: str) -> User:
    """Creates the invited user with the chosen name and password; the link is then used up."""
    invitation = open_link(session, settings, token).require_good()
    name = " ".join((name or "").split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter your name as your colleagues should see it."]
    elif len(name) > 200:
        errors["name"] = ["The name can have at most 200 characters."]
    errors.update(users.new_password_errors(invitation.email, name, password, again, field="password"))
    if errors:
        raise users.refused(errors)
    try:
        user = create_user(session, invitation.company_id, invitation.email, name,
                           admin=invitation.role == "admin").user
    except AccountError as exc:
        raise DomainError(409, f"{exc} Sign in with that address instead.") from exc
    users.set_password(user, password)
    invitation.accepted_at = users.now()
    invitation.accepted_user_id = user.id
    invitation.nonce_hash = None
    session.flush()
    return user
