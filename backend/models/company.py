"""Companies, their users, and the addresses Smart Bcc accepts mail from."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, BigId, CompanyScoped, Str, utcnow

ROLES = ("admin", "member")
SHARING = ("private", "shared")


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(Str(200))
    domain: Mapped[str] = mapped_column(Str(253))
    # Local part of the universal Smart Bcc address; unique across companies.
    slug: Mapped[str] = mapped_column(Str(64), unique=True)
    inbound_secret_hash: Mapped[str | None] = mapped_column(Str(64), unique=True)
    # What to do when the From: domain fails DKIM/DMARC alignment: off, flag, reject.
    sender_auth_policy: Mapped[str] = mapped_column(Str(8), default="off", server_default="off")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="company")


class CompanyAddressAlias(CompanyScoped, Base):
    """A former universal address, still accepted until ``expires_at``."""

    __tablename__ = "company_address_aliases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(Str(64), unique=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(CompanyScoped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Account addresses are unique system-wide: they sign in and they send mail.
    email: Mapped[str] = mapped_column(Str(320), unique=True)
    name: Mapped[str] = mapped_column(Str(200))
    role: Mapped[str] = mapped_column(Str(16), default="member")
    api_token_hash: Mapped[str | None] = mapped_column(Str(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Str(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    link_emails_to_items: Mapped[bool] = mapped_column(Boolean, default=True)
    default_sharing: Mapped[str] = mapped_column(Str(16), default="private")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    company: Mapped[Company] = relationship(back_populates="users")
    sender_addresses: Mapped[list["SenderAddress"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class SenderAddress(CompanyScoped, Base):
    """An alternative address a user sends from; accepted once verified."""

    __tablename__ = "sender_addresses"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(Str(320), index=True)
    verified_at: Mapped[datetime | None]
    # Bumped on every confirmation mail, so only the newest link is valid.
    confirmation_nonce: Mapped[str | None] = mapped_column(Str(64))
    confirmation_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="sender_addresses")

    @property
    def verified(self) -> bool:
        return self.verified_at is not None
