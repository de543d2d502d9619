"""Stored mailbox connections: saving grants, handing out access tokens, recording state for the user."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from ..models import MailboxConnection
from . import crypto, oauth_google, oauth_ms
from .limits import AuthFailed, ProviderError
from .tokens import TokenSet

log = logging.getLogger(__name__)

LABELS = {"outlook": "Outlook", "gmail": "Gmail"}
SOURCES = {"outlook": "graph", "gmail": "gmail"}
OAUTH = {"outlook": oauth_ms, "gmail": oauth_google}
# An access token this close to expiry is renewed before use.
EXPIRY_MARGIN = timedelta(seconds=120)
# The same mailbox must not be refreshed by two threads at once (Graph rotates refresh tokens).
_refresh_lock = threading.Lock()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def configured(settings, provider: str) -> bool:
    if provider == "outlook":
        return bool(settings.ms_client_id and settings.ms_client_secret)
    return bool(settings.google_client_id and settings.google_client_secret)


def save_connection(services, *, company_id: int, user_id: int, provider: str, tokens: TokenSet,
                    account_email: str, cursor: str | None) -> int:
    """Stores (or replaces) the user's grant for ``provider``; returns the connection id."""
    settings = services.settings
    now = now_utc()
    with services.db.session() as session:
        conn = session.scalar(select(MailboxConnection).where(
            MailboxConnection.user_id == user_id, MailboxConnection.provider == provider))
        if conn is None:
            conn = MailboxConnection(company_id=company_id, user_id=user_id, provider=provider)
            session.add(conn)
        conn.account_email = (account_email or "")[:320].lower()
        conn.scopes = " ".join(tokens.scopes)[:500]
        conn.refresh_token_enc = crypto.encrypt(settings, tokens.refresh_token or "")
        conn.access_token_enc = crypto.encrypt(settings, tokens.access_token)
        conn.access_expires_at = tokens.expires_at(now)
        conn.sync_cursor = cursor
        conn.status = "connected"
        conn.failures = 0
        conn.last_error = None
        conn.last_error_at = None
        conn.connected_at = now
        conn.next_sync_at = now
        session.flush()
        conn_id = conn.id
    log.info("user %s connected %s mailbox %s", user_id, provider, account_email)
    return conn_id


def disconnect(services, user_id: int, provider: str) -> bool:
    """Forgets the grant (tokens and sync state); True if there was one."""
    with services.db.session() as session:
        result = session.execute(delete(MailboxConnection).where(
            MailboxConnection.user_id == user_id, MailboxConnection.provider == provider))
        gone = result.rowcount > 0
    if gone:
        log.info("user %s disconnected %s", user_id, provider)
    return gone


class TokenSource:
    """Access tokens of one connection: the cached one while valid, else a refreshed one."""

    def __init__(self, services, connection_id: int):
        self.services = services
        self.connection_id = connection_id

    def get(self) -> str:
        settings = self.services.settings
        with self.services.db.session() as session:
            conn = self._load(session)
            if conn.access_token_enc and conn.access_expires_at and \
                    conn.access_expires_at - EXPIRY_MARGIN > now_utc():
                return crypto.decrypt(settings, conn.access_token_enc)
        return self.refresh()

    def refresh(self) -> str:
        settings = self.services.settings
        with _refresh_lock:
            with self.services.db.session() as session:
                conn = self._load(session)
                provider = conn.provider
                try:
                    refresh_token = crypto.decrypt(settings, conn.refresh_token_enc)
                except crypto.TokenDecryptError as exc:
                    raise AuthFailed("the stored grant cannot be decrypted (the token keys changed)") from exc
            tokens = OAUTH[provider].refresh(settings, refresh_token)
            with self.services.db.session() as session:
                conn = self._load(session)
                conn.access_token_enc = crypto.encrypt(settings, tokens.access_token)
                conn.access_expires_at = tokens.expires_at()
                if tokens.refresh_token and tokens.refresh_token != refresh_token:
                    conn.refresh_token_enc = crypto.encrypt(settings, tokens.refresh_token)
        log.info("renewed the access token of connection %s", self.connection_id)
        return tokens.access_token

    def _load(self, session) -> MailboxConnection:
        conn = session.get(MailboxConnection, self.connection_id)
        if conn is None:
            raise AuthFailed("the mailbox was disconnected")
        if conn.status == "broken":
            raise AuthFailed(conn.last_error or "the connection is broken")
        return conn


def record_failure(services, connection_id: int, exc: Exception) -> str:
    """Shows the failure on the connection; a dead grant makes it `broken`. Returns the status."""
    message = exc.message if isinstance(exc, ProviderError) else f"{exc.__class__.__name__}: {exc}"
    with services.db.session() as session:
        conn = session.get(MailboxConnection, connection_id)
        if conn is None:
            return "missing"
        conn.status = "broken" if isinstance(exc, AuthFailed) else "error"
        conn.failures = (conn.failures or 0) + 1
        conn.last_error = message[:2000]
        conn.last_error_at = now_utc()
        if conn.status == "broken":
            conn.access_token_enc = None
            conn.access_expires_at = None
        status = conn.status
    log.warning("connection %s: %s (%s)", connection_id, message, status)
    return status


def fix_hint(conn: MailboxConnection) -> str | None:
    label = LABELS.get(conn.provider, conn.provider)
    if conn.status == "broken":
        return (f"{label} no longer lets Smart Bcc read this mailbox (access was revoked, the password "
                f"changed or the consent expired). Choose \"Connect {label}\" again to fix it.")
    if conn.status == "error":
        return ("Smart Bcc retries on its own. If this stays for more than an hour, disconnect and "
                f"connect {label} again, or ask your admin to check the server log.")
    return None


def connection_json(settings, provider: str, conn: MailboxConnection | None) -> dict:
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    base = {"provider": provider, "label": LABELS[provider], "configured": configured(settings, provider)}
    if conn is None:
        return {**base, "connected": False, "status": "not_connected", "account_email": None,
                "connected_at": None, "last_sync_at": None, "last_error": None, "last_error_at": None,
                "fix": None}
    return {**base, "connected": True, "status": conn.status, "account_email": conn.account_email,
            "connected_at": iso(conn.connected_at), "last_sync_at": iso(conn.last_sync_at),
            "last_error": conn.last_error, "last_error_at": iso(conn.last_error_at), "fix": fix_hint(conn)}


def user_connections(session, user_id: int) -> dict[str, MailboxConnection]:
    rows = session.scalars(select(MailboxConnection).where(MailboxConnection.user_id == user_id))
    return {row.provider: row for row in rows}
