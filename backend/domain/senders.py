"""The addresses a user sends from, and Settings > Smart Bcc as a user reads it.

An alternative address is the user's own: never a colleague's (account or alternative), never a
contact person of the company (mail from it is a customer's), never a Smart Bcc address. It is
accepted once confirmed by a signed single-use link mailed to it (backend/domain/signed_links.py: it
carries the address's id and a random nonce, the one stored on the address until the link is used or
a newer mail replaces it; it expires after 48 hours); the mail is sent by a job
(``SEND_CONFIRMATION``, backend/sender_tasks.py) after the request commits, and the user is told
where it goes: the address's inbox through the relay, or a named file in the outbox when no relay
is configured.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import addresses, mailer
from ..accounts import AccountError, normalize_email
from ..models import (
    Company,
    CompanyAddressAlias,
    Person,
    PersonEmail,
    SenderAddress,
    User,
)
from . import signed_links
from .actor import Actor
from .errors import DomainError, invalid

CONFIRM_MAX_AGE = 48 * 3600
CONFIRM_PATH = "/settings/smart-bcc/confirm"
SEND_CONFIRMATION = "senders.send_confirmation"  # the job: (address id, nonce)

CONFIRM_MESSAGES = {
    "verified": (200, "{email} is confirmed: Smart Bcc now accepts mail sent from it."),
    "expired": (410, "This confirmation link has expired. Open Settings > Smart Bcc and choose 'resend'."),
    "used": (409, "This link was already used; {email} is confirmed. Nothing more to do."),
    "replaced": (410, "A newer confirmation mail was sent for {email}; use the link in the newest mail."),
    "unknown": (404, ("This confirmation link is not valid. Copy the whole link from the mail, or resend it "
                      "from Settings > Smart Bcc.")),
}

# The link. Salt, payload and lifetime are those senders.py signed with when it built the link
# itself, so links mailed before keep working. Its refusals' words are CONFIRM_MESSAGES'.
LINK = signed_links.LinkKind(
    salt="smartbcc.confirm-address", path=CONFIRM_PATH, max_age=CONFIRM_MAX_AGE,
    fields=(("id", int), ("n", str)),
    refusals={state: words for state, words in CONFIRM_MESSAGES.items() if state != "verified"})


def _is_current(entry: SenderAddress, nonce) -> bool:
    """True when ``nonce`` is the address's link of the moment (in constant time)."""
    stored = entry.confirmation_nonce
    return isinstance(stored, str) and isinstance(nonce, str) and signed_links.same(stored, nonce)


# --- adding an address ------------------------------------------------------------------------

def _refuse(message: str) -> DomainError:
    return invalid("email", message)


def add_address(session: Session, settings, actor: Actor, email: str) -> SenderAddress:
    """A new pending address of the actor, or a DomainError (400, field ``email``) saying why not."""
    try:
        email = normalize_email(email)
    except AccountError as exc:
        raise _refuse(str(exc)) from exc
    if addresses.is_smartbcc_address(email, settings.mail_domain):
        raise _refuse(f"{email} is a Smart Bcc address. A Smart Bcc address cannot be one of your sending "
                      "addresses: mail is sent to it, never from it.")
    if email == actor.email.lower():
        raise _refuse("That is your account address; it is always accepted.")
    account = session.execute(select(User.company_id, User.name).where(func.lower(User.email) == email)).first()
    if account is not None:
        if account.company_id == actor.company_id:
            raise _refuse(f"{email} is the account address of {account.name}, a user of your company; "
                          "mail from it is theirs, not yours.")
        raise _refuse(f"{email} is the account address of another user and cannot be added.")
    other = session.scalar(select(SenderAddress).where(
        SenderAddress.company_id == actor.company_id, func.lower(SenderAddress.email) == email))
    if other is not None:
        if other.user_id == actor.user_id:
            raise _refuse(f"{email} is already in your list; use 'resend' if the mail did not arrive.")
        raise _refuse(f"{email} is already an address of another user of your company, {other.user.name}; "
                      "mail from it is theirs, not yours.")
    contact = session.scalar(select(Person.name).join(PersonEmail, PersonEmail.person_id == Person.id).where(
        PersonEmail.company_id == actor.company_id, func.lower(PersonEmail.email) == email))
    if contact is not None:
        raise _refuse(f"{email} is a contact of your company ({contact}); mail from it is a customer's, "
                      "not yours, so it cannot be one of your sending addresses.")
    entry = SenderAddress(company_id=actor.company_id, user_id=actor.user_id, email=email)
    session.add(entry)
    session.flush()
    return entry


def own_address(session: Session, actor: Actor, address_id: int) -> SenderAddress:
    entry = session.scalar(select(SenderAddress).where(
        SenderAddress.id == address_id, SenderAddress.user_id == actor.user_id))
    if entry is None:
        raise DomainError(404, "That address is not in your list (any more).")
    return entry


# --- the confirmation mail ----------------------------------------------------------------------

def _outbox_name(address_id: int, nonce: str) -> str:
    # Known before the job runs, so the user can be told which file to open.
    return f"confirm-{address_id}-{signed_links.digest(nonce)[:12]}.eml"


@dataclass(frozen=True)
class Confirmation:
    """A confirmation mail asked for: what the job needs, and where the mail will go."""

    address_id: int
    nonce: str
    email: str
    destination: mailer.Destination
    resend: bool = False

    def message(self) -> str:
        new = "new " if self.resend else ""
        after = " Links in earlier mails no longer work." if self.resend else \
            " Until then mail from this address is not accepted."
        if self.destination.is_outbox:
            return (f"No mail relay is configured: the {new}confirmation mail for {self.email} was written to "
                    f"{self.destination.outbox_file} (open it and follow the link within 48 hours).{after}")
        return (f"We sent a {new}confirmation mail to {self.email} — check that inbox and open the link "
                f"within 48 hours.{after}")

    def as_json(self) -> dict:
        return {"sent_to": "outbox" if self.destination.is_outbox else "relay",
                "outbox_file": str(self.destination.outbox_file) if self.destination.is_outbox else None,
                "message": self.message()}


def request_confirmation(session: Session, settings, entry: SenderAddress, resend: bool = False) -> Confirmation:
    """A new single-use link (older links stop working). The caller commits, then queues
    ``SEND_CONFIRMATION`` with ``address_id`` and ``nonce``: the request never talks to the relay."""
    if entry.verified_at is not None:
        raise invalid("email", f"{entry.email} is already confirmed; nothing to resend.")
    entry.confirmation_nonce, _digest = signed_links.new_nonce()  # stored as is: the job mails it
    entry.confirmation_sent_at = datetime.now(timezone.utc)
    session.flush()
    return Confirmation(entry.id, entry.confirmation_nonce, entry.email,
                        mailer.destination(settings, _outbox_name(entry.id, entry.confirmation_nonce)), resend)


def not_sent(session: Session, confirmation: Confirmation) -> str | None:
    """Words for the user when the job already gave up on this mail (a job that ran in the
    request, or a quick one); None while it is on its way or delivered."""
    row = session.execute(select(SenderAddress.confirmation_sent_at, SenderAddress.confirmation_nonce)
                          .where(SenderAddress.id == confirmation.address_id)).first()
    if row is None or not _is_current(row, confirmation.nonce) or row.confirmation_sent_at is not None:
        return None
    return NOT_SENT.format(email=confirmation.email)


NOT_SENT = ("The confirmation mail to {email} could not be handed to the mail relay, even after retrying; "
            "the address keeps waiting for confirmation. Choose 'Resend confirmation' later; if it keeps "
            "failing, ask your admin to check the mail relay (SMARTBCC_SMTP_RELAY).")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    outbox_name: str


def confirmation_mail(session: Session, settings, address_id: int, nonce: str) -> OutgoingMail | None:
    """The mail for the link ``nonce`` of the address, or None when it is no longer wanted (the
    address was removed or confirmed, or a newer mail replaced this one)."""
    entry = session.get(SenderAddress, address_id)
    if entry is None or entry.verified_at is not None or not _is_current(entry, nonce):
        return None
    link = LINK.url(settings, id=entry.id, n=nonce)
    user = entry.user
    text = (
        f"Hello,\n\n{user.name} ({user.email}) asked Smart Bcc to accept mail sent from\n"
        f"{entry.email}.\n\nConfirm that this address is yours by opening this link within 48 hours:\n\n"
        f"{link}\n\nIf you did not ask for this, ignore this mail; nothing changes until the link is "
        "opened and confirmed.\n")
    return OutgoingMail(entry.email, "Confirm your address for Smart Bcc", text, _outbox_name(entry.id, nonce))


def confirmation_failed(session: Session, address_id: int, nonce: str) -> None:
    """The mail for ``nonce`` was not sent: the address stays pending, marked as having no mail out."""
    entry = session.get(SenderAddress, address_id)
    if entry is not None and _is_current(entry, nonce) and entry.verified_at is None:
        entry.confirmation_sent_at = None


# --- the link ----------------------------------------------------------------------------------

@dataclass
class ConfirmResult:
    state: str  # "verified", "expired", "used", "replaced", "unknown"; check() also "pending"
    email: str | None = None


def check(session: Session, settings, token: str) -> ConfirmResult:
    """What ``confirm`` would answer, without confirming: "pending" if it would confirm. The page a
    link opens shows this and a button; mail scanners that open every link (Safe Links and the
    like) then confirm nothing on the user's behalf."""
    result, _entry = _read(session, settings, token)
    return result


def confirm(session: Session, settings, token: str) -> ConfirmResult:
    result, entry = _read(session, settings, token)
    if result.state != "pending":
        return result
    entry.verified_at = datetime.now(timezone.utc)
    entry.confirmation_nonce = None  # single use
    return ConfirmResult("verified", entry.email)


def confirm_message(result: ConfirmResult) -> tuple[int, str]:
    status, text = CONFIRM_MESSAGES[result.state]
    return status, text.format(email=result.email or "the address")


def _read(session: Session, settings, token: str) -> tuple[ConfirmResult, SenderAddress | None]:
    state, data = LINK.read(settings, token)
    if state != "valid":  # too old ("expired") or not one of ours ("unknown")
        return ConfirmResult(state), None
    entry = session.get(SenderAddress, data["id"])
    if entry is None:
        return ConfirmResult("unknown"), None
    if entry.verified_at is not None:
        return ConfirmResult("used", entry.email), None
    if not _is_current(entry, data["n"]):
        return ConfirmResult("replaced", entry.email), None
    return ConfirmResult("pending", entry.email), entry


# --- Settings > Smart Bcc ----------------------------------------------------------------------

def alternative_json(entry: SenderAddress) -> dict:
    pending = entry.verified_at is None
    return {"id": entry.id, "email": entry.email, "kind": "alternative",
            "status": "pending" if pending else "verified",
            "verified_at": entry.verified_at.isoformat() if entry.verified_at else None,
            "confirmation_sent_at": entry.confirmation_sent_at.isoformat() if entry.confirmation_sent_at else None,
            # Pending with no mail out: the last confirmation mail could not be sent.
            "confirmation_failed": pending and entry.confirmation_sent_at is None}


def alternatives(session: Session, actor: Actor) -> list[SenderAddress]:
    return list(session.scalars(select(SenderAddress).where(SenderAddress.user_id == actor.user_id)
                                .order_by(SenderAddress.id)))


def _with_outbox_file(settings, entry: SenderAddress) -> dict:
    """The address as listed; a pending one whose mail went to the outbox names the file."""
    data = alternative_json(entry)
    if entry.verified_at is None and entry.confirmation_sent_at and entry.confirmation_nonce:
        where = mailer.destination(settings, _outbox_name(entry.id, entry.confirmation_nonce))
        data["outbox_file"] = str(where.outbox_file) if where.is_outbox else None
    return data


def smart_bcc_settings(session: Session, settings, actor: Actor) -> dict:
    """Settings > Smart Bcc of the actor and their company, as the API returns it and the page shows it."""
    user, company = session.get(User, actor.user_id), session.get(Company, actor.company_id)
    mail_domain = settings.mail_domain
    now = datetime.now(timezone.utc)
    aliases = session.scalars(select(CompanyAddressAlias).where(
        CompanyAddressAlias.company_id == company.id, CompanyAddressAlias.expires_at > now)
        .order_by(CompanyAddressAlias.expires_at.desc()))
    return {
        "company_address": addresses.company_address(company.slug, mail_domain),
        "company_domain": company.domain,
        "previous_addresses": [{"address": addresses.company_address(a.slug, mail_domain),
                                "accepted_until": a.expires_at.isoformat()} for a in aliases],
        "accepted_addresses": [{"id": None, "email": user.email, "kind": "account", "status": "verified"}]
        + [_with_outbox_file(settings, a) for a in alternatives(session, actor)],
        "link_emails_to_items": user.link_emails_to_items,
        "default_sharing": user.default_sharing,
        "can_change_domain": user.is_admin,
        "sender_verification": company.sender_auth_policy,
        "old_address_grace_days": settings.old_address_grace_days,
    }
