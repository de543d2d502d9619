"""Verifies the Google-signed ID tokens of Gmail add-on requests: the add-on service account's bearer and the user's userIdToken."""
from __future__ import annotations

from ..config import Settings
from .tokens import TokenError, verify_rs256

ISSUERS = ("accounts.google.com", "https://accounts.google.com")


def _issuer_ok(claims: dict) -> bool:
    return claims.get("iss") in ISSUERS


def verify_system_token(settings: Settings, token: str, endpoint_url: str = "") -> dict:
    """The claims of the bearer Google sends with every add-on request, if it is for us and from our add-on.

    ``aud`` must be SMARTBCC_GMAIL_ADDON_AUDIENCE or, because Google may sign each call for the
    URL it calls, exactly ``endpoint_url`` (the endpoint under our own base URL).
    """
    if not settings.gmail_addon_service_account:
        raise TokenError("The Gmail add-on is not set up on this Smart Bcc server "
                         "(SMARTBCC_GMAIL_ADDON_SERVICE_ACCOUNT is empty).")
    audiences = {a for a in (settings.gmail_addon_audience, endpoint_url) if a}
    if not audiences:
        raise TokenError("The Gmail add-on is not set up on this Smart Bcc server "
                         "(SMARTBCC_GMAIL_ADDON_AUDIENCE is empty).")
    claims = verify_rs256(token, settings.google_jwks_url, "Google request token")
    if not _issuer_ok(claims):
        raise TokenError("The Google request token was not issued by Google.")
    aud = claims.get("aud")
    if not (aud in audiences if isinstance(aud, str) else isinstance(aud, list) and audiences & set(aud)):
        raise TokenError("The Google request token is for another audience, not this Smart Bcc server.")
    if str(claims.get("email", "")).lower() != settings.gmail_addon_service_account.lower():
        raise TokenError("The Google request token belongs to another service account, not this add-on.")
    if claims.get("email_verified") is not True:
        raise TokenError("The Google request token's service account address is not verified.")
    return claims


def verify_user_token(settings: Settings, token: str) -> str:
    """The verified email address of the Gmail user, from the request body's userIdToken.

    Its ``aud`` must be the add-on's OAuth client (SMARTBCC_GMAIL_ADDON_CLIENT_ID): a Google ID
    token of the same person issued to any other app proves nothing to us.
    """
    if not settings.gmail_addon_client_id:
        raise TokenError("The Gmail add-on is not set up on this Smart Bcc server "
                         "(SMARTBCC_GMAIL_ADDON_CLIENT_ID is empty).")
    claims = verify_rs256(token, settings.google_jwks_url, "Google user token")
    if not _issuer_ok(claims):
        raise TokenError("The Google user token was not issued by Google.")
    aud = claims.get("aud")
    if not (aud == settings.gmail_addon_client_id if isinstance(aud, str)
            else isinstance(aud, list) and settings.gmail_addon_client_id in aud):
        raise TokenError("The Google user token was issued to another app, not this add-on "
                         "(its audience is not SMARTBCC_GMAIL_ADDON_CLIENT_ID).")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise TokenError("The Google user token names no email address; reinstall the add-on so it may read it.")
    # Google marks the addresses it has confirmed; any other address proves nothing.
    if claims.get("email_verified") is not True:
        raise TokenError("Google has not verified the address in the user token.")
    return email.strip().lower()
