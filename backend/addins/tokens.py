"""What Microsoft and Google token checks share: RS256 signature and expiry against a JWKS URL, and mapping an address to a user.

Replay: no token is single-use here, on purpose. Microsoft access tokens and Google's ID tokens
are bearer tokens that Office/MSAL and Google cache and send again for their whole lifetime (about
an hour), carry no nonce for a resource server, and Google's add-on token belongs to the add-on's
service account, shared by all its users, so it cannot be bound to one userIdToken. What limits
a replay: TLS; the expiry (60 s leeway, ``nbf``/``iat`` in the future refused); the audience (our
app, or the exact add-on endpoint); the tenant, and the tenant a Microsoft key is published for;
and the user coming only from signed, issuer-verified claims. The Gmail add-on endpoints only read.
"""
from __future__ import annotations

from collections.abc import Callable

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import SenderAddress, User
from . import jwks

# Clocks of Outlook clients and our servers drift; a minute of slack is what the
# identity platforms themselves allow.
LEEWAY_SECONDS = 60


class TokenError(Exception):
    """The token is not acceptable; ``message`` says why, in words the add-in shows."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("sbc_")


def verify_rs256(token: str, jwks_url: str, what: str,
                 key_issuer_ok: Callable[[str | None, dict], bool] | None = None) -> dict:
    """The claims of ``token`` once its RS256 signature and expiry check out; audience and issuer are the caller's job.

    ``key_issuer_ok(issuer the key set names for the signing key or None, claims)`` may refuse a
    key that signs for another issuer than the token claims (Microsoft's per-tenant keys).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"The {what} is not a valid token; sign in again.") from exc
    # Pinning the algorithm keeps "none" and HMAC-with-the-public-key tricks out.
    if header.get("alg") != "RS256":
        raise TokenError(f"The {what} is not signed with RS256; sign in again.")
    kid = header.get("kid")
    if not kid or not isinstance(kid, str):
        raise TokenError(f"The {what} names no signing key; sign in again.")
    try:
        key = jwks.cache_for(jwks_url).key(kid)
    except jwks.KeyNotFound as exc:
        raise TokenError(f"{exc} ({what})") from exc
    try:
        claims = jwt.decode(token, key=key.key, algorithms=["RS256"], leeway=LEEWAY_SECONDS,
                            options={"verify_aud": False, "verify_iss": False,
                                     "require": ["exp", "iat"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(f"The {what} has expired; sign in again.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenError(f"The {what} is not valid yet (issued for a later time); sign in again.") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError(f"The {what} has an invalid signature.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"The {what} lacks the '{exc.claim}' claim.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"The {what} is not valid ({exc.__class__.__name__}); sign in again.") from exc
    if key_issuer_ok is not None and not key_issuer_ok(jwks.cache_for(jwks_url).issuer(kid), claims):
        raise TokenError(f"The {what} was signed with a key that belongs to another issuer; sign in again.")
    return claims


def user_for_address(session: Session, address: str) -> User:
    """The active user whose account or verified alternative address this is, across companies."""
    key = (address or "").strip().lower()
    if not key or "@" not in key:
        raise TokenError("The token names no email address, so it cannot be matched to a Smart Bcc user.")
    user = session.scalar(select(User).where(User.email == key, User.active.is_(True)))
    if user is not None:
        return user
    users = list(session.scalars(
        select(User).join(SenderAddress, SenderAddress.user_id == User.id).where(
            SenderAddress.email == key, SenderAddress.verified_at.is_not(None),
            User.active.is_(True)).limit(2)))
    if len(users) == 1:
        return users[0]
    if users:
        # The same verified address in two companies: guessing would leak one company's CRM.
        raise TokenError(f"{key} is a verified address of users in more than one company; "
                         "sign in with your account address instead.")
    if session.scalar(select(User.id).where(User.email == key, User.active.is_(False))) is not None:
        raise TokenError(f"{key} is not a Smart Bcc user any more: an admin of your company deactivated "
                         "this account. Ask them to reactivate it if you should still log mail.")
    raise TokenError(f"{key} is not a Smart Bcc user. Ask your admin to add this address to your "
                     "account, or to confirm it as one of your addresses.")
