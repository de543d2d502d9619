"""The demo company that `make run` seeds, so a newcomer has something to try."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select

from . import addresses
from .accounts import create_company, create_user
from .models import Company, Deal, Lead, Person, PersonEmail, Project, User
from .security import TOKEN_PREFIX, check_password, hash_password, hash_token

DEMO_DOMAIN = "demo.example"
DEMO_ADMIN = "admin@demo.example"
DEMO_REP = "rep@demo.example"


@dataclass
class DemoInfo:
    company_id: int
    slug: str
    email: str
    password: str
    api_token: str
    inbound_secret: str | None
    created: bool
    changed_passwords: tuple[str, ...] = ()  # demo users who chose their own password: kept as is

    def _password_of(self, email: str) -> str:
        if email in self.changed_passwords:
            return "(the password you chose; kept)"
        return self.password

    def banner(self, settings) -> str:
        bcc = addresses.company_address(self.slug, settings.mail_domain)
        lines = [
            "",
            "Smart Bcc demo company " + ("created" if self.created else "already there (same credentials)"),
            f"  web:                {settings.base_url}/",
            f"  sign in:            {self.email} / {self._password_of(self.email)}  (admin)",
            f"                      {DEMO_REP} / {self._password_of(DEMO_REP)}  (member)",
            f"  API token:          {self.api_token}",
            f"  Smart Bcc address:  {bcc}",
            f"  SMTP:               {settings.smtp_host}:{settings.smtp_port}",
            f"  try:                curl -H 'Authorization: Bearer {self.api_token}' {settings.base_url}/api/v1/users/me",
        ]
        if self.inbound_secret:
            lines.append(f"  inbound secret:     {self.inbound_secret}")
        return "\n".join(lines) + "\n"


def _person(session, company_id, owner_id, name, email) -> Person:
    person = Person(company_id=company_id, name=name, owner_id=owner_id)
    person.emails.append(PersonEmail(company_id=company_id, email=email, primary=True))
    session.add(person)
    session.flush()
    return person


def _derived(secret_key: str, purpose: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), f"smartbcc demo {purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def demo_credentials(settings) -> tuple[str, str]:
    """(password, API token) of the demo users: SMARTBCC_DEMO_PASSWORD, else derived from the
    secret key, and the token always derived. The same on every run, so seeding again (a second
    `make run`) never invalidates what an earlier run printed."""
    password = settings.demo_password or _derived(settings.secret_key, "password")[:12]
    token = TOKEN_PREFIX + _derived(settings.secret_key, "api token")
    return password, token


def seed_demo(services) -> DemoInfo:
    """Idempotent: a second run adds nothing and keeps (re-sets, if changed) the same credentials."""
    password, token = demo_credentials(services.settings)
    with services.db.session() as session:
        company = session.scalar(select(Company).where(Company.domain == DEMO_DOMAIN))
        created = company is None
        inbound_secret = None
        if created:
            made = create_company(session, "Demo Inc.", DEMO_DOMAIN)
            company, inbound_secret = made.company, made.inbound_secret
        admin = session.scalar(select(User).where(User.email == DEMO_ADMIN))
        if admin is None:
            admin = create_user(session, company.id, DEMO_ADMIN, "Demo Admin", admin=True).user
            create_user(session, company.id, DEMO_REP, "Riley Rep")
            _seed_crm(session, company.id, admin.id)
        # Both demo users share the printed password, so a newcomer can try
        # sharing a thread between two sessions.
        # ...unless a user chose their own password (Settings > Your account, or a reset link): a
        # second `make run` keeps it, and the banner says so instead of printing a password that fails.
        changed = []
        for user in session.scalars(select(User).where(User.email.in_((DEMO_ADMIN, DEMO_REP)))
                                    .order_by(User.email)):
            if user.password_changed_at is not None:
                changed.append(user.email)
            elif not check_password(user.password_hash, password):
                user.password_hash = hash_password(password)
        if admin.api_token_hash != hash_token(token):
            admin.api_token_hash = hash_token(token)
        return DemoInfo(company.id, company.slug, admin.email, password, token, inbound_secret, created,
                        tuple(changed))


def _seed_crm(session, company_id: int, owner_id: int) -> None:
    def item(model, **fields):
        obj = model(company_id=company_id, owner_id=owner_id, **fields)
        if hasattr(model, "bcc_token"):
            obj.bcc_token = addresses.new_item_token()
        session.add(obj)
        return obj

    bob = _person(session, company_id, owner_id, "Bob Buyer", "bob@customer.example")
    carla = _person(session, company_id, owner_id, "Carla Client", "carla@client.example")
    item(Deal, title="Bob's first order", person_id=bob.id, status="open")
    item(Deal, title="Carla: annual licence", person_id=carla.id, status="open")
    item(Deal, title="Carla: consulting", person_id=carla.id, status="open")
    item(Deal, title="Carla: last year's order", person_id=carla.id, status="won")
    item(Lead, title="Inbound lead from the website", person_id=bob.id)
    item(Project, title="Onboarding Bob", person_id=bob.id)
