"""Creating companies and users (shared by the CLI, the demo seed and the tests)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import addresses
from .models import Company, CompanyAddressAlias, User
from .domain.passwords import password_problem
from .security import hash_password, new_api_token, new_inbound_secret

DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s\"<>(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class AccountError(Exception):
    """Bad input for an account operation; the message says what to change."""


def normalize_domain(domain: str) -> str:
    value = (domain or "").strip().lower().rstrip(".")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AccountError(f"{domain!r} is not a valid domain name.") from exc
    if not DOMAIN_RE.match(value):
        raise AccountError(f"{domain!r} is not a valid domain name; use a form like acme.example.")
    return value


def normalize_email(email: str) -> str:
    value = (email or "").strip()
    if not EMAIL_RE.match(value):
        raise AccountError(f"{email!r} is not a valid email address.")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def slug_taken(session: Session, slug: str) -> bool:
    return bool(
        session.scalar(select(Company.id).where(Company.slug == slug))
        or session.scalar(select(CompanyAddressAlias.id).where(CompanyAddressAlias.slug == slug))
    )


@dataclass
class CreatedCompany:
    company: Company
    inbound_secret: str


def create_company(session: Session, name: str, domain: str) -> CreatedCompany:
    name = (name or "").strip()
    if not name:
        raise AccountError("A company needs a name.")
    domain = normalize_domain(domain)
    slug = addresses.unique_slug(addresses.slug_for_domain(domain), lambda s: slug_taken(session, s))
    secret, secret_hash = new_inbound_secret()
    company = Company(name=name, domain=domain, slug=slug, inbound_secret_hash=secret_hash)
    session.add(company)
    session.flush()
    return CreatedCompany(company, secret)


@dataclass
class CreatedUser:
    user: User
    api_token: str


def create_user(session: Session, company_id: int, email: str, name: str, *,
                admin: bool = False, password: str | None = None) -> CreatedUser:
    company = session.get(Company, company_id)
    if company is None:
        raise AccountError(f"No company with id {company_id}; `smartbcc company create` makes one.")
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"A user with the address {email} already exists.")
    name = (name or "").strip() or email.split("@")[0]
    problem = password_problem(password, email=email, name=name) if password is not None else None
    if problem:
        raise AccountError(problem)
    token, token_hash = new_api_token()
    user = User(company_id=company.id, email=email, name=name, role="admin" if admin else "member",
                api_token_hash=token_hash,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return CreatedUser(user, token)


def rotate_api_token(user: User) -> str:
    token, token_hash = new_api_token()
    user.api_token_hash = token_hash
    return token


def rotate_inbound_secret(company: Company) -> str:
    secret, secret_hash = new_inbound_secret()
    company.inbound_secret_hash = secret_hash
    return secret


def change_company_domain(session: Session, company: Company, domain: str, grace_days: int):
    """New domain, new universal address at once; the old address keeps working for ``grace_days``."""
    from datetime import datetime, timedelta, timezone

    domain = normalize_domain(domain)
    if domain == company.domain:
        return None
    old_slug = company.slug
    # Returning to a former domain takes its address back from the alias list.
    own_alias = session.scalar(select(CompanyAddressAlias).where(
        CompanyAddressAlias.company_id == company.id,
        CompanyAddressAlias.slug == addresses.slug_for_domain(domain)))
    if own_alias is not None:
        new_slug = own_alias.slug
        session.delete(own_alias)
        session.flush()
    else:
        new_slug = addresses.unique_slug(addresses.slug_for_domain(domain), lambda s: slug_taken(session, s))
    company.domain = domain
    if new_slug != old_slug:
        company.slug = new_slug
        session.flush()
        expires = datetime.now(timezone.utc) + timedelta(days=grace_days)
        session.add(CompanyAddressAlias(company_id=company.id, slug=old_slug, expires_at=expires))
        session.flush()
    return old_slug
