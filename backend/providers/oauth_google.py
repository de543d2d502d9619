"""Gmail connections through authlib: authorization code with offline access, and refresh."""
from __future__ import annotations

import logging
import secrets

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..config import Settings
from .limits import AuthFailed, ProviderError, Transient
from .tokens import ConnectError, NotConfigured, TokenSet

log = logging.getLogger(__name__)

GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
SCOPES = ("openid", "email", GMAIL_SCOPE)
TIMEOUT = 30


def _session(settings: Settings, redirect_uri: str | None = None) -> OAuth2Session:
    if not settings.google_client_id or not settings.google_client_secret:
        raise NotConfigured("Gmail is not set up: set SMARTBCC_GOOGLE_CLIENT_ID and SMARTBCC_GOOGLE_CLIENT_SECRET.")
    return OAuth2Session(settings.google_client_id, settings.google_client_secret, scope=" ".join(SCOPES),
                         redirect_uri=redirect_uri, code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post", default_timeout=TIMEOUT)


def start(settings: Settings, redirect_uri: str, login_hint: str | None = None) -> tuple[str, dict]:
    """The consent URL and the flow (state, PKCE verifier) to keep until the callback."""
    verifier = secrets.token_urlsafe(48)
    extra = {"login_hint": login_hint} if login_hint else {}
    # access_type=offline asks for a refresh token; prompt=consent makes Google
    # send one again when the user reconnects after revoking.
    url, state = _session(settings, redirect_uri).create_authorization_url(
        settings.google_auth_url, code_verifier=verifier, access_type="offline", prompt="consent",
        include_granted_scopes="true", **extra)
    return url, {"state": state, "code_verifier": verifier, "redirect_uri": redirect_uri}


def finish(settings: Settings, flow: dict, args: dict) -> TokenSet:
    if args.get("error"):
        raise ConnectError(f"Google did not grant access ({str(args.get('error'))[:80]}).")
    if not flow or args.get("state") != flow.get("state"):
        raise ConnectError("The sign-in answer did not match the request; start again.")
    if not args.get("code"):
        raise ConnectError("Google sent no authorization code; start again.")
    try:
        token = _session(settings, flow["redirect_uri"]).fetch_token(
            settings.google_token_url, grant_type="authorization_code", code=args["code"],
            code_verifier=flow["code_verifier"])
    except OAuthError as exc:
        raise ConnectError(f"Google refused the sign-in ({exc.error}).") from exc
    except requests.RequestException as exc:
        raise ConnectError(f"Google sign-in is unreachable ({exc.__class__.__name__}); try again.") from exc
    granted = str(token.get("scope", "")).split()
    if GMAIL_SCOPE not in granted:
        raise ConnectError("Read access to Gmail was not granted; tick the Gmail box on Google's consent page.")
    if not token.get("refresh_token"):
        raise ConnectError("Google returned no refresh token; remove Smart Bcc under your Google "
                           "account's third-party access and connect again.")
    return _token_set(token, granted)


def refresh(settings: Settings, refresh_token: str) -> TokenSet:
    try:
        token = _session(settings).refresh_token(settings.google_token_url, refresh_token=refresh_token)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "unauthorized_client", "invalid_client"):
            raise AuthFailed(f"Google no longer accepts the stored grant ({exc.error}: "
                             f"{' '.join(str(exc.description or '').split())[:200]})") from exc
        raise ProviderError(f"Google refused to renew access ({exc.error})") from exc
    except requests.RequestException as exc:
        raise Transient(f"Google sign-in is unreachable ({exc.__class__.__name__})") from exc
    tokens = _token_set(token, str(token.get("scope", "")).split())
    # Google keeps the refresh token; only a rotated one comes back.
    tokens.refresh_token = token.get("refresh_token") or None
    return tokens


def _token_set(token: dict, scopes: list[str]) -> TokenSet:
    return TokenSet(access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                    expires_in=int(token.get("expires_in") or 3600), scopes=scopes)
