"""The database goes away: SMTP answers 451 and the API 503, and both recover on their own."""
from __future__ import annotations

import os
import smtplib

import pytest
from sqlalchemy import create_engine, text

from backend.accounts import create_company, create_user
from backend.app import create_app
from backend.intake.smtp import start_controller
from backend.migrate import upgrade
from backend.services import Services

from ..conftest import free_port
from ..isolation import database_name
from .tcp_proxy import CuttableProxy

# PostgreSQL is what has outages in production; this test always runs against
# the machine's server (the same one CI uses), in a database of its own.
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = database_name("smartbcc_outage_test")


@pytest.fixture
def pg_behind_proxy(settings):
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    host_port = PG_ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = CuttableProxy(host, int(port or 5432))
    user = PG_ADMIN_URL.split("//", 1)[1].split("@", 1)[0]
    url = f"postgresql://{user}@127.0.0.1:{proxy.port}/{DB_NAME}"
    upgrade(url)
    services = Services.create(settings.with_(database_url=url))
    yield services, proxy
    services.close()
    proxy.close()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
    admin.dispose()


def _mail(n: int) -> bytes:
    return (f"From: rep@acme.example\r\nTo: bob@cust.example\r\nSubject: outage {n}\r\n"
            f"Message-ID: <outage-{n}@acme.example>\r\n\r\nhello\r\n").encode()


def test_database_outage_gives_451_and_503_then_recovers(pg_behind_proxy):
    services, proxy = pg_behind_proxy
    with services.db.session() as session:
        company = create_company(session, "Acme", "acme.example").company
        token = create_user(session, company.id, "rep@acme.example", "Rep").api_token
    client = create_app(services=services).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    controller = start_controller(services, hostname="127.0.0.1", port=free_port())
    try:
        def send(n):
            with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as smtp:
                return smtp.sendmail("rep@acme.example", ["acme@bcc.test"], _mail(n))

        assert send(1) == {}
        assert client.get("/api/v1/users/me", headers=auth).status_code == 200

        proxy.cut()
        # A recently seen address may pass RCPT from the route cache; the mail is then
        # refused at DATA. Either way the sender hears 451 and keeps the mail.
        with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)) as refused:
            send(2)
        if isinstance(refused.value, smtplib.SMTPRecipientsRefused):
            code, reply = refused.value.recipients["acme@bcc.test"]
        else:
            code, reply = refused.value.smtp_code, refused.value.smtp_error
        assert code == 451 and reply.startswith(b"4.3.0") and b"retry" in reply
        response = client.get("/api/v1/users/me", headers=auth)
        assert response.status_code == 503
        assert response.headers["Retry-After"] and "database is unavailable" in response.json["error"]

        proxy.restore()
        assert send(2) == {}
        response = client.get("/api/v1/mailbox/mailThreads", headers=auth)
        assert response.status_code == 200
        assert sorted(t["subject"] for t in response.json["data"]) == ["outage 1", "outage 2"]
    finally:
        controller.stop()
