"""Fixtures: a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), app, client, factories."""
from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from backend.accounts import create_company, create_user
from backend.app import create_app
from backend.config import Settings
from backend.migrate import upgrade
from backend.models import Base
from backend.services import Services

TEST_MAIL_DOMAIN = "bcc.test"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings.from_env(
        instance_dir=tmp_path / "instance",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        mail_domain=TEST_MAIL_DOMAIN,
        jobs="eager",
        base_url="http://testserver",
        smtp_relay="",
        # Limits are tested on their own (tests/security/test_rate_limits.py).
        smtp_limit_per_sender="", smtp_limit_per_company="",
        api_limit_per_user="", api_limit_per_company="",
    )


def _empty_tables(services: Services) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with services.db.engine.begin() as conn:
        if services.db.is_sqlite:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            # DELETE is far cheaper than TRUNCATE on the near-empty tables of a test.
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def services(settings):
    svc = Services.create(settings)
    _empty_tables(svc)
    yield svc
    svc.close()


@pytest.fixture
def sql_statements(services):
    """Every SQL statement the app sends from now on (clear() to start counting again)."""
    from sqlalchemy import event

    seen: list[str] = []

    def grab(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(services.db.engine, "before_cursor_execute", grab)
    yield seen
    event.remove(services.db.engine, "before_cursor_execute", grab)


@pytest.fixture
def app(services):
    flask_app = create_app(services=services)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Account:
    company_id: int
    user_id: int
    email: str
    token: str
    bcc_address: str
    inbound_secret: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(services):
    """make_account(domain, email=None, admin=True, company_id=None) -> Account."""
    from backend import addresses

    companies: dict[str, tuple[int, str, str]] = {}

    def factory(domain: str = "acme.example", email: str | None = None, *, admin: bool = True,
                name: str = "Test User", password: str | None = None) -> Account:
        with services.db.session() as session:
            if domain not in companies:
                made = create_company(session, domain.split(".")[0].title(), domain)
                companies[domain] = (made.company.id, made.company.slug, made.inbound_secret)
            company_id, slug, secret = companies[domain]
            created = create_user(session, company_id, email or f"rep{len(companies)}@{domain}", name,
                                  admin=admin, password=password)
            return Account(company_id, created.user.id, created.user.email, created.api_token,
                           addresses.company_address(slug, TEST_MAIL_DOMAIN), secret)

    return factory


@pytest.fixture
def acme(make_account) -> Account:
    return make_account("acme.example", "alice@acme.example")


@pytest.fixture
def globex(make_account) -> Account:
    return make_account("globex.example", "gary@globex.example")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(services):
    """The real Smart Bcc SMTP receiver on a free local port; yields (host, port)."""
    from backend.intake.smtp import start_controller

    controller = start_controller(services, hostname="127.0.0.1", port=free_port())
    yield controller.hostname, controller.port
    controller.stop()


@pytest.fixture
def send_mail(smtp_server):
    """send_mail(raw_bytes_or_str, rcpts, mail_from) -> the 250 reply text; raises smtplib errors."""
    import smtplib

    host, port = smtp_server

    def send(raw, rcpts, mail_from="rep@acme.example"):
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        with smtplib.SMTP(host, port, timeout=30) as client:
            refused = client.sendmail(mail_from, rcpts if isinstance(rcpts, list) else [rcpts], raw)
            return refused

    return send


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium shared by every browser test (Playwright allows one per thread)."""
    from tests.live import launch_chromium

    yield from launch_chromium()
