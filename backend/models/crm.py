"""The CRM items mail is linked to: persons, organizations, deals, leads, projects."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, BigId, CompanyScoped, LongText, Str, utcnow

DEAL_STATUSES = ("open", "won", "lost")


class Organization(CompanyScoped, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(Str(200))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(CompanyScoped, Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(Str(200))
    organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    emails: Mapped[list["PersonEmail"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonEmail.id"
    )
    phones: Mapped[list["PersonPhone"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonPhone.id"
    )


class PersonEmail(CompanyScoped, Base):
    __tablename__ = "person_emails"
    # One contact per address within a company, so mail finds exactly one person.
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(Str(320))  # stored lower-cased
    label: Mapped[str] = mapped_column(Str(32), default="work")
    primary: Mapped[bool] = mapped_column(Boolean, default=False)

    person: Mapped[Person] = relationship(back_populates="emails")


class PersonPhone(CompanyScoped, Base):
    """A phone number of a person, as typed (not unique: colleagues share a switchboard)."""

    __tablename__ = "person_phones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(Str(40))
    label: Mapped[str] = mapped_column(Str(32), default="work")

    person: Mapped[Person] = relationship(back_populates="phones")


class _Item:
    """Columns shared by deals, leads and projects."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(Str(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Deal(_Item, CompanyScoped, Base):
    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_person_status", "person_id", "status"),
                      # The deals list sorted by value (largest first) within a company.
                      Index("ix_deals_company_value", "company_id", "value"))

    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("persons.id", ondelete="SET NULL"))
    organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(Str(8), default="open")
    value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(Str(3))
    # Free text (each company names its own pipeline steps); the form offers common ones.
    stage: Mapped[str | None] = mapped_column(Str(60))
    expected_close_date: Mapped[date | None] = mapped_column()
    lost_reason: Mapped[str | None] = mapped_column(Str(300))
    # Random part of the deal's own Smart Bcc address (see backend.addresses).
    bcc_token: Mapped[str | None] = mapped_column(Str(32), unique=True)


class Lead(_Item, CompanyScoped, Base):
    __tablename__ = "leads"

    person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    bcc_token: Mapped[str | None] = mapped_column(Str(32), unique=True)


class Project(_Item, CompanyScoped, Base):
    __tablename__ = "projects"

    person_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(LongText)
