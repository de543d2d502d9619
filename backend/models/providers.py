"""Mailbox connections (Outlook, Gmail) and the add-in's announcements of sent mail."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, CompanyScoped, LongText, Str, utcnow

PROVIDERS = ("outlook", "gmail")
# connected: working; error: the last run failed and will be retried;
# broken: the grant is gone (revoked, expired consent) and only reconnecting helps.
CONNECTION_STATUSES = ("connected", "error", "broken")
ANNOUNCEMENT_STATUSES = ("pending", "found", "not_found", "rejected", "failed", "no_connection")


class MailboxConnection(CompanyScoped, Base):
    """One user's delegated access to their own mailbox; tokens are Fernet-encrypted."""

    __tablename__ = "mailbox_connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider"),
        Index("ix_mailbox_connections_next_sync", "next_sync_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(Str(16))
    account_email: Mapped[str] = mapped_column(Str(320), default="")
    scopes: Mapped[str] = mapped_column(Str(500), default="")
    status: Mapped[str] = mapped_column(Str(16), default="connected")
    refresh_token_enc: Mapped[str] = mapped_column(LongText)
    access_token_enc: Mapped[str | None] = mapped_column(LongText)
    access_expires_at: Mapped[datetime | None]
    # Graph: the @odata.deltaLink of Sent Items; Gmail: the last history id.
    sync_cursor: Mapped[str | None] = mapped_column(LongText)
    # Doubles as the claim of a running sync: set ahead while one runs.
    next_sync_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(LongText)
    last_error_at: Mapped[datetime | None]
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SentAnnouncement(CompanyScoped, Base):
    """The add-in said "I just sent this": the job finds the sent copy in the mailbox."""

    __tablename__ = "sent_announcements"
    __table_args__ = (
        UniqueConstraint("user_id", "ref"),
        Index("ix_sent_announcements_due", "status", "next_attempt_at"),
        # The rep's announcements still waiting for their copy (backend/domain/expectations.py).
        Index("ix_sent_announcements_waiting", "user_id", "logged_at", "dismissed_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(Str(200))
    address: Mapped[str] = mapped_column(Str(320))
    internet_message_id: Mapped[str | None] = mapped_column(Str(998))
    provider: Mapped[str | None] = mapped_column(Str(16))
    status: Mapped[str] = mapped_column(Str(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Doubles as the claim of a running fetch, like MailboxConnection.next_sync_at.
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(LongText)
    inbound_record_ids: Mapped[list] = mapped_column(default=list)
    # On-Behalf-Of without a refresh token: the Graph access token (Fernet-encrypted)
    # for this announcement's looks only; cleared when the announcement finishes.
    access_token_enc: Mapped[str | None] = mapped_column(LongText)
    access_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    # The expectation (backend/domain/expectations.py): what the add-in said of the mail, when its
    # copy was stored (by SMTP, fetch or forward) and as which message, or when the rep dismissed it.
    subject: Mapped[str | None] = mapped_column(Str(998))
    recipients: Mapped[list | None] = mapped_column(default=list)
    logged_at: Mapped[datetime | None]
    logged_message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("mail_messages.id", ondelete="SET NULL"))
    dismissed_at: Mapped[datetime | None]
