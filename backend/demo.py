"""The demo company that `make run` seeds, so a newcomer has something to try."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select

from . import addresses
from .accounts import create_company, create_user
from .domain import editing
from .domain.actor import Actor
from .models import Company, User
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
            _seed_crm(session, admin)
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


def _seed_crm(session, admin: User) -> None:
    """The demo's people, deals, lead and project, made through the domain's editing rules (as the
    API and the pages make them: Smart Bcc addresses, owners, the history catch-up)."""
    actor = Actor.of(admin)

    def person(name, email):
        return editing.save_person(session, actor, {"name": name, "emails": [{"email": email}]})

    def item(item_type, **fields):
        return editing.save_item(session, actor, item_type, fields)

    bob = person("Bob Buyer", "bob@customer.example")
    carla = person("Carla Client", "carla@client.example")
    item("deal", title="Bob's first order", person_id=bob.id, status="open")
    item("deal", title="Carla: annual licence", person_id=carla.id, status="open")
    item("deal", title="Carla: consulting", person_id=carla.id, status="open")
    item("deal", title="Carla: last year's order", person_id=carla.id, status="won")
    item("lead", title="Inbound lead from the website", person_id=bob.id)
    item("project", title="Onboarding Bob", person_id=bob.id)
