"""Outlook connections through MSAL: authorization code flow, refresh and On-Behalf-Of."""
from __future__ import annotations

import logging
import warnings
from urllib.parse import urlsplit

import msal
import requests

from ..config import Settings
from .limits import AuthFailed, ProviderError, Transient
from .tokens import ConnectError, NotConfigured, TokenSet

log = logging.getLogger(__name__)

# Errors after which the stored grant is useless: reconnecting is the fix.
DEAD_GRANT = ("invalid_grant", "interaction_required", "consent_required", "unauthorized_client")


def graph_scopes(settings: Settings) -> list[str]:
    """Delegated Mail.Read on the configured Graph; MSAL adds openid, profile and offline_access."""
    parts = urlsplit(settings.ms_graph_url)
    return [f"{parts.scheme}://{parts.netloc}/Mail.Read"]


def authority(settings: Settings, tenant: str | None = None) -> str:
    # One allowed tenant pins sign-in to it; otherwise any work or school account.
    # On-Behalf-Of passes the tenant of the (verified) add-in token.
    if not tenant:
        tenant = settings.ms_allowed_tenants[0] if len(settings.ms_allowed_tenants) == 1 else "organizations"
    return f"{settings.ms_authority_host.rstrip('/')}/{tenant}"


def msal_app(settings: Settings, tenant: str | None = None) -> msal.ConfidentialClientApplication:
    if not settings.ms_client_id or not settings.ms_client_secret:
        raise NotConfigured("Outlook is not set up: set SMARTBCC_MS_CLIENT_ID and SMARTBCC_MS_CLIENT_SECRET.")
    try:
        # A fresh token cache each time: tokens live encrypted in our database,
        # never in a process-wide cache shared between users.
        # instance_discovery=False: the authority host is configured, so no
        # lookup at login.microsoftonline.com is needed (or wanted, in tests).
        return msal.ConfidentialClientApplication(
            settings.ms_client_id, client_credential=settings.ms_client_secret,
            authority=authority(settings, tenant), instance_discovery=False, token_cache=msal.TokenCache())
    except (requests.RequestException, ValueError) as exc:
        raise Transient(f"Microsoft sign-in is unreachable ({exc.__class__.__name__})") from exc


def start(settings: Settings, redirect_uri: str, login_hint: str | None = None) -> tuple[str, dict]:
    """The URL to send the browser to, and the flow to keep until the callback."""
    app = msal_app(settings)
    with warnings.catch_warnings():
        # MSAL recommends response_mode=form_post, but a cross-site POST does not
        # carry our SameSite=Lax session cookie, which holds the flow. The code in
        # the query is single-use, PKCE-bound and redeemed with the client secret.
        warnings.filterwarnings("ignore", message="response_mode='form_post'")
        flow = app.initiate_auth_code_flow(graph_scopes(settings), redirect_uri=redirect_uri,
                                           login_hint=login_hint, response_mode="query")
    # The flow travels in the session cookie until the callback; the URL need not.
    return flow["auth_uri"], {k: v for k, v in flow.items() if k != "auth_uri"}


def finish(settings: Settings, flow: dict, args: dict) -> TokenSet:
    """Redeems the code of the callback; raises ConnectError with a readable reason."""
    if args.get("error"):
        raise ConnectError(_describe(args, "Microsoft did not grant access"))
    try:
        result = msal_app(settings).acquire_token_by_auth_code_flow(flow, args, scopes=graph_scopes(settings))
    except ValueError as exc:  # state mismatch or a replayed callback
        raise ConnectError("The sign-in answer did not match the request; start again.") from exc
    except requests.RequestException as exc:
        raise ConnectError(f"Microsoft sign-in is unreachable ({exc.__class__.__name__}); try again.") from exc
    if "error" in result:
        raise ConnectError(_describe(result, "Microsoft refused the sign-in"))
    tokens = _token_set(result)
    if not tokens.refresh_token:
        raise ConnectError("Microsoft returned no refresh token; the app must be allowed offline_access.")
    return tokens


def refresh(settings: Settings, refresh_token: str) -> TokenSet:
    try:
        result = msal_app(settings).acquire_token_by_refresh_token(refresh_token, scopes=graph_scopes(settings))
    except requests.RequestException as exc:
        raise Transient(f"Microsoft sign-in is unreachable ({exc.__class__.__name__})") from exc
    if "error" in result:
        raise _refresh_error(result)
    return _token_set(result)


def obo_tokens(settings: Settings, user_assertion: str, tenant: str | None = None) -> TokenSet:
    """Delegated Mail.Read (+ offline_access) for the user of a verified add-in token (On-Behalf-Of flow).

    The refresh token is present when Microsoft hands one out; raises AuthFailed
    (no consent, the assertion refused) with advice the add-in pane can show.
    """
    try:
        result = msal_app(settings, tenant).acquire_token_on_behalf_of(user_assertion, graph_scopes(settings))
    except requests.RequestException as exc:
        raise Transient(f"Microsoft sign-in is unreachable ({exc.__class__.__name__})") from exc
    except msal.exceptions.MsalServiceError as exc:  # MSAL raises instead of answering on some 5xx
        raise Transient(f"Microsoft sign-in is unavailable ({' '.join(str(exc).split())[:200]})") from exc
    if "error" in result:
        raise _obo_error(result)
    return _token_set(result)


def obo_graph_token(settings: Settings, user_assertion: str, tenant: str | None = None) -> str:
    """A Graph access token for the user of an add-in token (On-Behalf-Of flow)."""
    return obo_tokens(settings, user_assertion, tenant).access_token


def _obo_error(result: dict) -> ProviderError:
    error, suberror = str(result.get("error", "")), str(result.get("suberror", ""))
    said = _describe(result, "Microsoft said")
    if "consent_required" in (error, suberror) or "AADSTS65001" in str(result.get("error_description", "")):
        return AuthFailed("Smart Bcc may not read your mailbox yet: ask your admin to grant consent to the "
                          "Smart Bcc app (Mail.Read, offline_access) in Microsoft Entra ID, or connect Outlook "
                          f"yourself under Settings > Connections. {said}")
    if error in ("invalid_grant", "interaction_required") or suberror == "bad_token":
        return AuthFailed("Microsoft did not let Smart Bcc read your mailbox with the add-in's sign-in: sign in "
                          f"to the Smart Bcc pane again, or connect Outlook under Settings > Connections. {said}")
    if error in ("temporarily_unavailable", "server_error"):
        return Transient(_describe(result, "Microsoft sign-in is unavailable"))
    return ProviderError("Microsoft refused to let Smart Bcc read your mailbox on your behalf; ask your admin to "
                         f"check the Smart Bcc app registration. {said}")


def _refresh_error(result: dict) -> ProviderError:
    error = result.get("error", "")
    if error in DEAD_GRANT or result.get("suberror") in ("consent_required", "bad_token"):
        return AuthFailed(_describe(result, "Microsoft no longer accepts the stored grant"))
    if error in ("temporarily_unavailable", "server_error"):
        return Transient(_describe(result, "Microsoft sign-in is unavailable"))
    return ProviderError(_describe(result, "Microsoft refused to renew access"))


def _describe(result: dict, prefix: str) -> str:
    # error_description names the AADSTS code and reason, never a token.
    error = str(result.get("error", ""))[:80]
    detail = " ".join(str(result.get("error_description", "")).split())[:300]
    return f"{prefix} ({error}{': ' + detail if detail else ''})"


def _token_set(result: dict) -> TokenSet:
    claims = result.get("id_token_claims") or {}
    email = claims.get("preferred_username") or claims.get("email") or claims.get("upn") or ""
    scope = result.get("scope") or ""
    return TokenSet(access_token=result["access_token"], refresh_token=result.get("refresh_token"),
                    expires_in=int(result.get("expires_in") or 3600),
                    scopes=scope.split() if isinstance(scope, str) else list(scope),
                    account_email=str(email).lower())
