"""The mail side: inbound records, threads and their links, messages, participants, attachments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, BigId, CompanyScoped, LongText, Str, utcnow

SOURCES = ("smtp", "http", "graph", "gmail")
INBOUND_STATUSES = ("received", "processed", "duplicate", "failed")
LINK_TYPES = ("deal", "lead", "project", "person")
LINK_ORIGINS = ("address", "auto", "manual")
PARTICIPANT_ROLES = ("from", "to", "cc", "bcc")


class InboundRecord(CompanyScoped, Base):
    """One accepted arrival of raw bytes, from any source, and what was decided about it."""

    __tablename__ = "inbound_records"
    __table_args__ = (Index("ix_inbound_records_status", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(Str(8))
    envelope_from: Mapped[str | None] = mapped_column(Str(320))
    # The Smart Bcc addresses this arrival was sent to (as written by the sender).
    recipients: Mapped[list] = mapped_column(default=list)
    header_from: Mapped[str | None] = mapped_column(Str(320))
    # Outcome of the sender authentication check ("pass", "fail", "none", ...), if run.
    sender_auth: Mapped[str | None] = mapped_column(Str(16))
    raw_sha256: Mapped[str] = mapped_column(Str(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Str(12), default="received")
    error: Mapped[str | None] = mapped_column(LongText)
    # Each pipeline stage appends {"stage", "outcome", "reason", ...}.
    decisions: Mapped[list] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("mail_messages.id", ondelete="SET NULL"), index=True
    )


class MailThread(CompanyScoped, Base):
    __tablename__ = "mail_threads"
    __table_args__ = (
        # The inbox, newest first (backend/api/visibility.py: inbox_threads): the key orders the
        # list, the trailing columns let the visibility filter run on the index alone, so a deep
        # page skips threads without reading them.
        Index("ix_mail_threads_inbox", "company_id", "last_message_at", "id", "owner_id", "shared", "auto",
              "message_count"),
        # Counting the inbox (visibility_parts): the user's own threads and colleagues' shared ones
        # are each a range of this index, checked on the index keys alone.
        Index("ix_mail_threads_visible", "company_id", "shared", "auto", "message_count", "owner_id"),
        # Threads waiting for the rep to pick one of the contact's deals (the home page counts
        # them, the API filters on them): few, so a partial index holds just those.
        Index("ix_mail_threads_needs_choice", "company_id", "owner_id", "shared", "auto", "message_count",
              postgresql_where=text("needs_deal_choice IS TRUE"), sqlite_where=text("needs_deal_choice IS 1")),
        Index("ix_mail_threads_subject", "company_id", "normalized_subject"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(Str(998), default="")
    normalized_subject: Mapped[str] = mapped_column(Str(998), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    # A later mail was marked "private" or "shared" in the add-in and differs: offered, not applied.
    visibility_offer: Mapped[str | None] = mapped_column(Str(8))
    # Several open deals matched: the rep has to pick one.
    needs_deal_choice: Mapped[bool] = mapped_column(Boolean, default=False)
    snippet: Mapped[str] = mapped_column(Str(300), default="")
    # Started by a bounce or auto-reply: kept, but not a sales conversation.
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_message_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    links: Mapped[list["ThreadLink"]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", order_by="ThreadLink.id"
    )
    messages: Mapped[list["MailMessage"]] = relationship(
        back_populates="thread", order_by="MailMessage.sent_at"
    )


class ThreadLink(CompanyScoped, Base):
    """A thread linked to a deal, lead, project or person; links live on threads."""

    __tablename__ = "thread_links"
    __table_args__ = (
        UniqueConstraint("thread_id", "item_type", "item_id"),
        # An item's threads (a deal's page and its messages): the trailing columns answer "which
        # live links" from the index alone, without visiting each link's row (migration 0017).
        Index("ix_thread_links_item_threads", "company_id", "item_type", "item_id", "removed", "thread_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int] = mapped_column(BigId, ForeignKey("mail_threads.id", ondelete="CASCADE"))
    item_type: Mapped[str] = mapped_column(Str(8))
    item_id: Mapped[int] = mapped_column(BigId)
    origin: Mapped[str] = mapped_column(Str(8))
    # What linked it, as the words of the time (kept for links made before ``rule`` existed).
    reason: Mapped[str] = mapped_column(LongText, default="")
    # The rule that linked it (backend/domain/linkrules.py names) and the facts it saw then:
    # the reason shown is worded from these when it is read, so it names items by their current
    # titles and says when a condition held only then (backend/domain/reasons.py).
    rule: Mapped[str | None] = mapped_column(Str(32))
    facts: Mapped[dict | None] = mapped_column(default=None)
    # A link the user removed stays as a tombstone so automatic rules do not
    # add it back with the next message.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[MailThread] = relationship(back_populates="links")


class MailMessage(CompanyScoped, Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        # Dedupe: one stored copy per company per Message-ID (or content hash).
        UniqueConstraint("company_id", "dedupe_key"),
        Index("ix_mail_messages_thread_sent", "thread_id", "sent_at"),
        # A thread's live messages in order (its newest for the lists, the messages of a deal's
        # threads newest first): read from the index alone, so a deal's view sorts index entries
        # and then reads only the rows of its page (migration 0017).
        Index("ix_mail_messages_thread_live", "thread_id", "sent_at", "id", "company_id",
              postgresql_where=text("deleted_at IS NULL"), sqlite_where=text("deleted_at IS NULL")),
        Index("ix_mail_messages_header_id", "company_id", "message_id_header"),
        # A company's live messages newest first: a search for a common word reads its matches in
        # this order and stops at its page's threads (backend/domain/search.newest_matches; 0021).
        Index("ix_mail_messages_company_live", "company_id", "id",
              postgresql_where=text("deleted_at IS NULL"), sqlite_where=text("deleted_at IS NULL")),
        # A rep's copies by the add-in's X-SmartBcc-Ref: an announcement that arrives after its copy
        # (or commits while the copy's transaction is open) is still settled (domain/expectations; 0022).
        Index("ix_mail_messages_owner_ref", "owner_id", "smartbcc_ref",
              postgresql_where=text("smartbcc_ref IS NOT NULL"), sqlite_where=text("smartbcc_ref IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    thread_id: Mapped[int] = mapped_column(BigId, ForeignKey("mail_threads.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(Str(255))
    message_id_header: Mapped[str | None] = mapped_column(Str(255))
    # The add-in's X-SmartBcc-Ref of the mail (an opaque token, no text of the mail).
    smartbcc_ref: Mapped[str | None] = mapped_column(Str(200))
    in_reply_to: Mapped[str | None] = mapped_column(Str(255))
    references: Mapped[list] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Str(998), default="")
    sent_at: Mapped[datetime | None]
    sender_email: Mapped[str] = mapped_column(Str(320), default="")
    sender_name: Mapped[str] = mapped_column(Str(200), default="")
    snippet: Mapped[str] = mapped_column(Str(300), default="")
    body_text: Mapped[str | None] = mapped_column(LongText)
    body_html: Mapped[str | None] = mapped_column(LongText)
    # Set when a rep forwarded a customer's mail: the rep is recorded here,
    # while sender_* names the customer.
    forwarded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    forwarded_by_email: Mapped[str | None] = mapped_column(Str(320))
    # What the rep wrote above the forwarded mail ("FYI, logging Bob's reply."), shown above it.
    forward_note: Mapped[str | None] = mapped_column(LongText)
    auto_kind: Mapped[str | None] = mapped_column(Str(16))
    raw_sha256: Mapped[str] = mapped_column(Str(64))
    defects: Mapped[list] = mapped_column(default=list)
    # Soft delete: a deleted message stays as a tombstone so a duplicate
    # arrival of the same Message-ID does not bring it back.
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[MailThread] = relationship(back_populates="messages")
    participants: Mapped[list["Participant"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Participant.id"
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )


# Full-text search (migration 0011, queried by backend/domain/search.py): each live message's
# subject, body text, participants' names and addresses and attachment names, kept in step by
# database triggers on mail_messages, participants and attachments, so no writer can forget it.
# PostgreSQL: the tsvector column mail_messages.search_vector with a GIN index; SQLite: the FTS5
# table mail_search (rowid = message id) and its shadow tables. The models do not map them (the
# application never reads or writes them directly); tests/test_migrations.py leaves them out.
SEARCH_TABLE = "mail_search"  # SQLite; its shadow tables are named mail_search_*
SEARCH_COLUMN = "search_vector"  # PostgreSQL, on mail_messages
SEARCH_INDEX = "ix_mail_messages_search"  # PostgreSQL


def is_search_object(name: str | None, type_: str, table_name: str | None = None) -> bool:
    """Whether a database object is part of the full-text search machinery (not in the models)."""
    if type_ == "table":
        return bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))
    if type_ == "column":
        return table_name == "mail_messages" and name == SEARCH_COLUMN
    if type_ == "index":
        return name == SEARCH_INDEX
    return False


class Participant(CompanyScoped, Base):
    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_email", "company_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(Str(4))
    email: Mapped[str] = mapped_column(Str(320))  # lower-cased
    name: Mapped[str] = mapped_column(Str(200), default="")
    person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))

    message: Mapped[MailMessage] = relationship(back_populates="participants")


class Attachment(CompanyScoped, Base):
    """Attachment metadata; the bytes live in the blob store under ``sha256``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str | None] = mapped_column(Str(255))
    content_type: Mapped[str] = mapped_column(Str(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Str(64))
    content_id: Mapped[str | None] = mapped_column(Str(255))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)

    message: Mapped[MailMessage] = relationship(back_populates="attachments")
