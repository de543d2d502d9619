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
_TENANT_TEMPLATE = re.compile(r"\{tenantid\}", re.IGNORECASE)


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


def _key_tenant_ok(settings: Settings):
    """Refuses a key the key set ties to another tenant than the token's (a tenant's or a
    consumer-account key must not vouch for another tenant's tokens); untied keys sign for all."""
    def check(key_issuer: str | None, claims: dict) -> bool:
        if key_issuer is None:
            return True
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not _GUID.match(tenant.lower()):
            return False
        return _TENANT_TEMPLATE.sub(tenant, key_issuer) in issuers_for(settings, tenant)
    return check


def _address(claims: dict, tenant_allowed: bool) -> str | None:
    for name in ADDRESS_CLAIMS:
        value = claims.get(name)
        if not (isinstance(value, str) and "@" in value):
            continue
        # The email claim is whatever a tenant admin typed, in any tenant ("nOAuth"): it names a
        # user only when Microsoft says the tenant owns the address's domain (xms_edov), or the
        # tenant is one this server was told to trust.
        if name == "email" and not (claims.get("xms_edov") in (True, "1", "true") or tenant_allowed):
            return None
        return value.strip().lower()
    return None


def verify_ms_token(settings: Settings, token: str) -> tuple[dict, str]:
    """(claims, address) of a valid token for our app; raises TokenError saying what is wrong."""
    client_id = settings.ms_client_id
    if not client_id:
        raise TokenError("Microsoft sign-in is not set up on this Smart Bcc server "
                         "(SMARTBCC_MS_CLIENT_ID is empty); ask your admin, or use an API token.")
    claims = verify_rs256(token, settings.ms_jwks_url, "Microsoft token", key_issuer_ok=_key_tenant_ok(settings))
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
    address = _address(claims, tenant_allowed=bool(allowed))
    if address is not None:
        return claims, address
    if isinstance(claims.get("email"), str) and "@" in claims["email"]:
        raise TokenError("The Microsoft token names its user only by an email address that Microsoft has not "
                         "verified for the tenant; ask your admin to add your tenant to "
                         "SMARTBCC_MS_ALLOWED_TENANTS, or sign in with your work account.")
    raise TokenError("The Microsoft token names no email address (preferred_username, upn or email).")
