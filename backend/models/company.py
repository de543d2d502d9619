"""Companies, their users, and the addresses Smart Bcc accepts mail from."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, UniqueConstraint
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
    # Several open deals (backend/domain/dealrank.py): ask, suggest or auto_when_confident, and
    # the score (0-1) and lead over the second candidate that auto_when_confident needs.
    deal_choice_policy: Mapped[str] = mapped_column(Str(24), default="ask", server_default="ask")
    deal_choice_threshold: Mapped[float] = mapped_column(Float, default=0.9, server_default="0.9")
    deal_choice_margin: Mapped[float] = mapped_column(Float, default=0.3, server_default="0.3")
    # The ranking's points fitted on the company's own deal picks (backend/domain/dealfit.py): the
    # number of picks they were fitted on and the points per feature; none: the fixed points.
    deal_choice_fit: Mapped[dict | None] = mapped_column(default=None)
    # Days of a person's unlinked conversations linked to a deal, lead or project created for them
    # (backend/domain/history.py); 0 turns it off.
    history_catch_up_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
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
    # Part of every page session's stamp: bumping it signs out every other session at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    last_sign_in_at: Mapped[datetime | None]
    # Set when the user chose their password (change, reset, invitation): the demo seed keeps it.
    password_changed_at: Mapped[datetime | None]
    # The user's own IANA time zone for the pages ("Europe/Berlin"); None: the browser's (issue 20).
    time_zone: Mapped[str | None] = mapped_column(Str(64))

    company: Mapped[Company] = relationship(back_populates="users")
    sender_addresses: Mapped[list["SenderAddress"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Invitation(CompanyScoped, Base):
    """An admin's invitation to join the company: a signed, expiring, single-use link mailed to ``email``.

    Only the SHA-256 of the link's nonce is stored; a resend makes a new nonce (older links stop
    working). Accepting creates the user and clears the nonce.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(Str(320), index=True)
    name: Mapped[str | None] = mapped_column(Str(200))
    role: Mapped[str] = mapped_column(Str(16), default="member")
    invited_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    nonce_hash: Mapped[str | None] = mapped_column(Str(64))
    # None while no mail is out: the last one could not be handed to the relay.
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invited_by: Mapped["User | None"] = relationship(foreign_keys=[invited_by_id])


class ApiToken(CompanyScoped, Base):
    """A personal API token: a name, the SHA-256 of the token (shown once), its last use."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Str(100))
    token_hash: Mapped[str] = mapped_column(Str(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


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
