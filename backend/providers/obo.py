"""On-Behalf-Of: the Outlook add-in's Microsoft token becomes access to the user's own mailbox.

When the add-in announces a sent mail and the user has no working Outlook
connection, the add-in token is exchanged for delegated Mail.Read (+
offline_access). A refresh token is stored as the user's Outlook connection, so
the normal fetch and sync jobs use it; without one, the access token is kept
encrypted on the announcement for that announcement's looks only.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..models import MailboxConnection, SentAnnouncement
from . import crypto, oauth_ms
from .announcements import finish
from .connections import EXPIRY_MARGIN, configured, now_utc, save_connection
from .limits import AuthFailed, ProviderError
from .tokens import NotConfigured

log = logging.getLogger(__name__)


def wanted(services, user_id: int, provider: str | None) -> bool:
    """True when an Outlook announcement of this user has no working Outlook connection to use."""
    if provider not in (None, "outlook") or not configured(services.settings, "outlook"):
        return False
    with services.db.session() as session:
        status = session.scalar(select(MailboxConnection.status).where(
            MailboxConnection.user_id == user_id, MailboxConnection.provider == "outlook"))
    return status is None or status == "broken"


def exchange_for_announcement(services, announcement_id: int, *, assertion: str, claims: dict,
                              address: str) -> str:
    """Exchanges the verified add-in token for mailbox access for this announcement.

    Returns "connected" (a connection was stored), "token" (an access token was
    kept on the announcement), "failed" (the announcement is finished with the
    reason, e.g. missing consent) or "skipped" (Outlook is not set up).
    """
    try:
        return _exchange(services, announcement_id, assertion, claims, address)
    except Exception as exc:  # noqa: BLE001 - our bug: logged, shown on the announcement, never a 500
        log.exception("On-Behalf-Of for announcement %s failed", announcement_id)
        _fail(services, announcement_id, f"Smart Bcc could not use the add-in's sign-in to read your mailbox "
              f"(internal error {exc.__class__.__name__}; it has been logged). Connect Outlook under "
              "Settings > Connections instead.")
        return "failed"


def _exchange(services, announcement_id: int, assertion: str, claims: dict, address: str) -> str:
    settings = services.settings
    try:
        tokens = oauth_ms.obo_tokens(settings, assertion, claims.get("tid"))
    except NotConfigured:
        return "skipped"
    except ProviderError as exc:
        message = exc.message if isinstance(exc, AuthFailed) else (
            f"Smart Bcc could not get access to your mailbox from the add-in's sign-in ({exc.message}); "
            "the copy sent to the Smart Bcc address is still logged. Connect Outlook under "
            "Settings > Connections if this keeps happening.")
        log.warning("On-Behalf-Of for announcement %s failed: %s", announcement_id, exc.message)
        _fail(services, announcement_id, message)
        return "failed"
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        company_id, user_id = ann.company_id, ann.user_id
    if tokens.refresh_token:
        account = address or tokens.account_email
        try:
            save_connection(services, company_id=company_id, user_id=user_id, provider="outlook",
                            tokens=tokens, account_email=account, cursor=None)
        except IntegrityError:  # a concurrent announcement stored it first: replace its grant with ours
            save_connection(services, company_id=company_id, user_id=user_id, provider="outlook",
                            tokens=tokens, account_email=account, cursor=None)
        with services.db.session() as session:
            session.get(SentAnnouncement, announcement_id).provider = "outlook"
        log.info("user %s: Outlook connected through the add-in (On-Behalf-Of)", user_id)
        return "connected"
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.provider = "outlook"
        ann.access_token_enc = crypto.encrypt(settings, tokens.access_token)
        ann.access_expires_at = tokens.expires_at()
    return "token"


def _fail(services, announcement_id: int, message: str) -> None:
    with services.db.session() as session:
        ann = session.get(SentAnnouncement, announcement_id)
        ann.provider = ann.provider or "outlook"
        finish(ann, now_utc(), "failed", message)


class AnnouncementToken:
    """The On-Behalf-Of access token kept on one announcement: used while valid, never renewed."""

    def __init__(self, services, announcement_id: int):
        self.services = services
        self.announcement_id = announcement_id

    def get(self) -> str:
        with self.services.db.session() as session:
            ann = session.get(SentAnnouncement, self.announcement_id)
            if ann is None or not ann.access_token_enc or not ann.access_expires_at \
                    or ann.access_expires_at - EXPIRY_MARGIN <= now_utc():
                raise AuthFailed("The add-in's access to your mailbox expired before the sent copy was found")
            try:
                return crypto.decrypt(self.services.settings, ann.access_token_enc)
            except crypto.TokenDecryptError as exc:
                raise AuthFailed("The add-in's access to your mailbox cannot be decrypted "
                                 "(the token keys changed)") from exc

    def refresh(self) -> str:
        raise AuthFailed("Microsoft no longer accepts the add-in's access to your mailbox")
