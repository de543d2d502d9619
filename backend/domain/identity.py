"""A user is the same user from any of their addresses: the account address and every verified
alternative address."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, String, bindparam, func, select, union_all
from sqlalchemy.orm import Session

from ..models import SenderAddress, User
from .sql import built_once, in_param


def _user_ids_query(dialect: str):
    """Built once per dialect; the addresses are :emails (as sql.in_ids writes a list of ids)."""
    def among(column):
        return in_param(column, "emails", dialect, String)
    accounts = select(User.email, User.id).where(User.company_id == bindparam("company_id"), among(User.email))
    verified = select(SenderAddress.email, SenderAddress.user_id).where(
        SenderAddress.company_id == bindparam("company_id"), among(SenderAddress.email),
        SenderAddress.verified_at.is_not(None))
    return union_all(accounts, verified)


def company_user_ids(session: Session, company_id: int, emails: Iterable[str]) -> dict[str, int]:
    """Address (lower-case) -> user id, for account and verified alternative addresses."""
    emails = {e.lower() for e in emails if e}
    if not emails:
        return {}
    query = built_once(session, "company_user_ids", _user_ids_query)
    found = dict(session.execute(query, {"company_id": company_id, "emails": sorted(emails)}).all())
    return {email.lower(): user_id for email, user_id in found.items()}


def address_user(company_id, email) -> ColumnElement:
    """The id of the company's user whose account address or verified alternative address is
    ``email`` (an SQL expression, e.g. a column of the enclosing query; NULL when nobody's), as
    ``company_user_ids`` reads a list of them: one index probe each."""
    email = func.lower(email)
    account = select(User.id).where(User.company_id == company_id, User.email == email).scalar_subquery()
    verified = (select(SenderAddress.user_id).where(
        SenderAddress.company_id == company_id, SenderAddress.email == email,
        SenderAddress.verified_at.is_not(None)).limit(1).scalar_subquery())
    return func.coalesce(account, verified)


def user_addresses(session: Session, company_id: int, user_id: int) -> frozenset[str]:
    """A user's account address and verified alternative addresses (lower-case)."""
    query = built_once(session, "user_addresses", _user_addresses_query)
    return frozenset(e.lower() for e in session.scalars(query, {"company_id": company_id, "user_id": user_id}))


def _user_addresses_query(_dialect: str):
    company_id, user_id = bindparam("company_id"), bindparam("user_id")
    accounts = select(User.email).where(User.company_id == company_id, User.id == user_id)
    verified = select(SenderAddress.email).where(
        SenderAddress.company_id == company_id, SenderAddress.user_id == user_id,
        SenderAddress.verified_at.is_not(None))
    return union_all(accounts, verified)
