"""Verifies Microsoft identity platform access tokens (nested app authentication or Office SSO) issued for the Smart Bcc app."""
from __future__ import annotations

import re

from ..config import Settings
from .tokens import TokenError, verify_rs256

SCOPE = "access_as_user"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Claims that carry the user's address, most specific first (v2 tokens use
# preferred_username, v1 tokens upn; guests and MSA accounts may only have email).
ADDRESS_CLAIMS = ("preferred_username", "upn", "email")


def _audience_ok(aud, client_id: str) -> bool:
    values = aud if isinstance(aud, list) else [aud]
    for value in values:
        if not isinstance(value, str):
            continue
        if value == client_id:
            return True
        # Office SSO and NAA tokens for a custom API carry its application ID URI,
        # "api://<host>/<client_id>" (or "api://<client_id>").
        if value.startswith("api://") and (value == f"api://{client_id}" or value.endswith(f"/{client_id}")):
            return True
    return False


def issuers_for(settings: Settings, tenant: str) -> tuple[str, str]:
    """The v1 and v2 issuer strings Microsoft writes for ``tenant``."""
    return (f"https://sts.windows.net/{tenant}/", f"{settings.ms_authority_host.rstrip('/')}/{tenant}/v2.0")


def verify_ms_token(settings: Settings, token: str) -> tuple[dict, str]:
    """(claims, address) of a valid token for our app; raises TokenError saying what is wrong."""
    client_id = settings.ms_client_id
    if not client_id:
        raise TokenError("Microsoft sign-in is not set up on this Smart Bcc server "
                         "(SMARTBCC_MS_CLIENT_ID is empty); ask your admin, or use an API token.")
    claims = verify_rs256(token, settings.ms_jwks_url, "Microsoft token")
    if not _audience_ok(claims.get("aud"), client_id):
        raise TokenError("The Microsoft token was issued for another application, not Smart Bcc.")
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not _GUID.match(tenant.lower()):
        raise TokenError("The Microsoft token names no tenant.")
    if claims.get("iss") not in issuers_for(settings, tenant):
        raise TokenError("The Microsoft token was not issued by Microsoft sign-in for its tenant.")
    allowed = {t.lower() for t in settings.ms_allowed_tenants}
    if allowed and tenant.lower() not in allowed:
        raise TokenError("Your organization's Microsoft tenant is not allowed on this Smart Bcc server; "
                         "ask your admin to add it to SMARTBCC_MS_ALLOWED_TENANTS.")
    scopes = str(claims.get("scp") or "").split()
    if SCOPE not in scopes:
        raise TokenError(f"The Microsoft token lacks the '{SCOPE}' permission; sign in again and consent.")
    for name in ADDRESS_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return claims, value.strip().lower()
    raise TokenError("The Microsoft token names no email address (preferred_username, upn or email).")
