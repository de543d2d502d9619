"""Declarative base, the text and UTC timestamp types and the company-scoping mixin."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only has 64-bit INTEGER ROWIDs when the type is spelled INTEGER.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Str(TypeDecorator):
    """VARCHAR whose NUL characters are stored as U+FFFD. PostgreSQL text cannot hold NUL (the
    statement fails), SQLite would keep it: this one rule, for every write path (pipeline, API,
    pages, provider sync, CLI), keeps a stray NUL from becoming an error on one database only.
    The API still answers 400 for NUL in what a client sends (api/common.py): the column is the
    last line, not the message."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


class LongText(Str):
    """TEXT with the same NUL rule as ``Str``."""

    impl = Text
    cache_ok = True


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, always returns timezone-aware UTC (SQLite drops zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict: JSON,
        list: JSON,
    }


class CompanyScoped:
    """Every row of the product belongs to exactly one company."""

    @declared_attr
    def company_id(cls) -> Mapped[int]:
        return mapped_column(
            BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True, nullable=False
        )
