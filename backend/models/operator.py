"""Mail to the deployment's operator mailboxes (postmaster@, abuse@ at the mail domain)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, Str, utcnow

OPERATOR_MAILBOXES = ("postmaster", "abuse")


class OperatorMail(Base):
    """One arrival for postmaster@ or abuse@: kept apart from the CRM mail, never processed.

    Not company-scoped: these mailboxes belong to whoever runs the deployment (RFC 5321 4.5.1,
    RFC 2142). The raw bytes are in the blob store under ``raw_sha256``.
    """

    __tablename__ = "operator_mail"
    __table_args__ = (Index("ix_operator_mail_received", "received_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox: Mapped[str] = mapped_column(Str(16))
    envelope_from: Mapped[str | None] = mapped_column(Str(320))
    # The From: header and subject as written (decoded, one line), for the list; not addresses we trust.
    header_from: Mapped[str] = mapped_column(Str(320), default="")
    subject: Mapped[str] = mapped_column(Str(998), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw_sha256: Mapped[str] = mapped_column(Str(64))
    size: Mapped[int] = mapped_column(Integer)
