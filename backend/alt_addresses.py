"""Alternative sender addresses: add, confirm by a signed single-use link, resend, remove."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import addresses, mailer
from .accounts import AccountError, normalize_email
from .models import SenderAddress, User

CONFIRM_MAX_AGE = 48 * 3600
CONFIRM_PATH = "/settings/smart-bcc/confirm"


def _serializer(settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="smartbcc.confirm-address")


def add_address(session: Session, settings, user: User, email: str) -> SenderAddress:
    email = normalize_email(email)
    if addresses.is_smartbcc_address(email, settings.mail_domain):
        raise AccountError("A Smart Bcc address cannot be one of your sending addresses.")
    if email == user.email:
        raise AccountError("That is your account address; it is always accepted.")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"{email} is the account address of another user and cannot be added.")
    other = session.scalar(select(SenderAddress).where(
        SenderAddress.company_id == user.company_id, SenderAddress.email == email))
    if other is not None:
        if other.user_id == user.id:
            raise AccountError(f"{email} is already in your list; use 'resend' if the mail did not arrive.")
        raise AccountError(f"{email} is already accepted for another user of your company.")
    entry = SenderAddress(company_id=user.company_id, user_id=user.id, email=email)
    session.add(entry)
    session.flush()
    return entry


def send_confirmation(session: Session, settings, entry: SenderAddress) -> str:
    """A new single-use link (older links stop working) mailed to the address."""
    if entry.verified_at is not None:
        raise AccountError(f"{entry.email} is already confirmed.")
    entry.confirmation_nonce = secrets.token_urlsafe(16)
    entry.confirmation_sent_at = datetime.now(timezone.utc)
    token = _serializer(settings).dumps({"id": entry.id, "n": entry.confirmation_nonce})
    link = f"{settings.base_url}{CONFIRM_PATH}?token={token}"
    user = entry.user
    text = (
        f"Hello,\n\n{user.name} ({user.email}) asked Smart Bcc to accept mail sent from "
        f"{entry.email}.\n\nConfirm that this address is yours by opening this link "
        f"within 48 hours:\n\n{link}\n\nIf you did not ask for this, ignore this mail; "
        "nothing changes until the link is opened.\n")
    session.flush()
    mailer.send(settings, entry.email, "Confirm your address for Smart Bcc", text)
    return link


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


def _read(session: Session, settings, token: str) -> tuple[ConfirmResult, SenderAddress | None]:
    serializer = _serializer(settings)
    try:
        data = serializer.loads(token or "", max_age=CONFIRM_MAX_AGE)
    except SignatureExpired as exc:
        data = exc.payload if isinstance(exc.payload, dict) else None
        entry = session.get(SenderAddress, data.get("id")) if data and isinstance(data.get("id"), int) else None
        if entry is not None and entry.verified_at is not None:
            return ConfirmResult("used", entry.email), None
        return ConfirmResult("expired", entry.email if entry else None), None
    except BadSignature:
        return ConfirmResult("unknown"), None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return ConfirmResult("unknown"), None
    entry = session.get(SenderAddress, data["id"])
    if entry is None:
        return ConfirmResult("unknown"), None
    if entry.verified_at is not None:
        return ConfirmResult("used", entry.email), None
    if entry.confirmation_nonce != data.get("n"):
        return ConfirmResult("replaced", entry.email), None
    return ConfirmResult("pending", entry.email), entry
