"""Fixtures for the intake tests: a real smtplib client against the running receiver, and
what was stored (inbound records, messages, blob files)."""
from __future__ import annotations

import hashlib
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend.models import InboundRecord, MailMessage, SenderAddress

TEST_DATE = "Mon, 3 Mar 2025 10:00:00 +0000"


def make_mail(sender: str, subject: str = "Hello", msgid: str | None = None, *,
              to: str = "Bob <bob@cust.example>", body: str = "Hello Bob,\r\nsee you.\r\n",
              extra_headers: str = "") -> bytes:
    """A small RFC 5322 message with CRLF line endings, as bytes."""
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {TEST_DATE}\r\n"
    if msgid:
        head += f"Message-ID: <{msgid}>\r\n"
    return (head + extra_headers + "\r\n" + body).encode("utf-8")


@pytest.fixture
def mail():
    return make_mail


def split_reply(msg: bytes | str) -> tuple[str, str]:
    """b'5.1.1 <x> is not ...' -> ('5.1.1', '<x> is not ...')."""
    text = msg.decode("utf-8") if isinstance(msg, bytes) else msg
    status, _, sentence = text.partition(" ")
    return status, sentence


@dataclass
class Transaction:
    """Each reply of one SMTP transaction: (code, enhanced status, text)."""

    ehlo: bytes
    mail: tuple[int, str, str]
    rcpts: list[tuple[int, str, str]] = field(default_factory=list)
    data: tuple[int, str, str] | None = None


@pytest.fixture
def smtp_client(smtp_server):
    """smtp_client() -> a connected, EHLO'd smtplib.SMTP; closed after the test."""
    host, port = smtp_server
    opened: list[smtplib.SMTP] = []

    def connect() -> smtplib.SMTP:
        client = smtplib.SMTP(host, port, timeout=60)
        opened.append(client)
        client.ehlo("client.test")
        return client

    yield connect
    for client in opened:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


@pytest.fixture
def transact(smtp_client):
    """transact(mail_from, rcpts, raw, mail_options=()) -> Transaction, one command at a time.

    Unlike sendmail it never raises on a refusal, so every reply can be checked.
    DATA is only sent when at least one recipient got 250.
    """

    def run(mail_from: str, rcpts, raw: bytes | None, mail_options=()) -> Transaction:
        client = smtp_client()
        code, msg = client.mail(mail_from, list(mail_options))
        result = Transaction(client.ehlo_resp or b"", (code, *split_reply(msg)))
        if code != 250:
            return result
        for rcpt in rcpts if isinstance(rcpts, list) else [rcpts]:
            code, msg = client.rcpt(rcpt)
            result.rcpts.append((code, *split_reply(msg)))
        if raw is not None and any(r[0] == 250 for r in result.rcpts):
            code, msg = client.data(raw)
            result.data = (code, *split_reply(msg))
        return result

    return run


@dataclass
class Stored:
    records: int
    messages: int
    blobs: int


@pytest.fixture
def stored(services):
    """stored() -> how many inbound records, mail messages and blob files exist right now."""

    def count() -> Stored:
        with services.db.session() as session:
            records = session.scalar(select(func.count()).select_from(InboundRecord))
            messages = session.scalar(select(func.count()).select_from(MailMessage))
        root = services.settings.blob_dir
        blobs = sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
        return Stored(records, messages, blobs)

    return count


@pytest.fixture
def records(services):
    """records() -> every InboundRecord, oldest first (detached, attributes loaded)."""

    def load() -> list[InboundRecord]:
        with services.db.session() as session:
            return list(session.scalars(select(InboundRecord).order_by(InboundRecord.id)))

    return load


@pytest.fixture
def blob_bytes(services):
    """blob_bytes(sha256) -> the stored raw bytes, read from the file under blob_dir."""

    def read(digest: str) -> bytes:
        path = services.settings.blob_dir / digest[:2] / digest[2:4] / digest
        assert path.is_file(), f"no blob file at {path}"
        return path.read_bytes()

    return read


@pytest.fixture
def add_sender_address(services):
    """add_sender_address(account, email, verified=True): an alternative address of that user."""

    def add(account, email: str, verified: bool = True) -> None:
        with services.db.session() as session:
            session.add(SenderAddress(
                company_id=account.company_id, user_id=account.user_id, email=email.lower(),
                verified_at=datetime.now(timezone.utc) if verified else None))

    return add


@pytest.fixture
def make_deal(client):
    """make_deal(account, title) -> the deal's API data (with bcc_address)."""

    def create(account, title: str = "Big order") -> dict:
        response = client.post("/api/v1/deals", json={"title": title}, headers=account.auth)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    return create


@pytest.fixture
def threads(client):
    """threads(account) -> the account's mailbox threads (API data)."""

    def load(account) -> list[dict]:
        response = client.get("/api/v1/mailbox/mailThreads?include_auto=1", headers=account.auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]

    return load


@pytest.fixture
def thread_messages(client):
    def load(account, thread_id: int, include_body: bool = True) -> list[dict]:
        url = f"/api/v1/mailbox/mailThreads/{thread_id}/mailMessages"
        response = client.get(url + ("?include_body=1" if include_body else ""), headers=account.auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]

    return load


def db_down_error() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("database is down (simulated)"))


@pytest.fixture
def break_database(services, monkeypatch):
    """break_database() makes every services.db.session() raise OperationalError."""

    def broken_session():
        raise db_down_error()

    def apply() -> None:
        monkeypatch.setattr(services.db, "session", broken_session)

    return apply


@pytest.fixture
def break_blob_store(services, monkeypatch):
    """break_blob_store() makes services.blobs.put raise OSError (a full or read-only disk)."""

    def broken_put(data, digest=None):
        raise OSError(28, "No space left on device (simulated)")

    def apply() -> None:
        monkeypatch.setattr(services.blobs, "put", broken_put)

    return apply


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
