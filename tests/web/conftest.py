"""Helpers for the page tests: sign in through the form, read the CSRF token, send mail over SMTP."""
from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(client) -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    page = client.get("/")
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)[:500]
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD) -> str:
    """Signs the test client in through the form; returns the session's CSRF token."""
    page = client.get("/sign-in")
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    response = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_of(client)


def mail(sender: str, to: str, subject: str, msgid: str, text: str = "Hello", html: str | None = None,
         extra: dict | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{msgid}>"
    msg["Date"] = "Mon, 3 Mar 2025 10:00:00 +0000"
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return bytes(msg)


@pytest.fixture
def alice(make_account):
    """An admin of acme.example with a password for the pages."""
    return make_account("acme.example", "alice@acme.example", admin=True, name="Alice Admin", password=PASSWORD)


@pytest.fixture
def bert(make_account, alice):
    """A member of the same company."""
    return make_account("acme.example", "bert@acme.example", admin=False, name="Bert Member", password=PASSWORD)


@pytest.fixture
def web(app, alice):
    """A test client signed in as alice; ``web.csrf`` holds its token."""
    client = app.test_client()
    client.csrf = sign_in(client, alice.email)
    return client


@pytest.fixture
def thread_of(app, send_mail):
    """thread_of(account, subject, ...) -> the id of the thread the mail created (sent over SMTP)."""
    from sqlalchemy import select

    from backend.models import MailThread

    counter = {"n": 0}

    def send(account, subject: str = "Proposal", to: str = "Bob Buyer <bob@customer.example>",
             rcpt: str | None = None, **kwargs) -> int:
        counter["n"] += 1
        raw = mail(account.email, to, subject, f"m{counter['n']}-{subject.replace(' ', '')}@acme.example",
                   **kwargs)
        send_mail(raw, [rcpt or account.bcc_address], account.email)
        services = app.extensions["smartbcc"]
        with services.db.session() as session:
            return session.scalar(select(MailThread.id).where(MailThread.owner_id == account.user_id)
                                  .order_by(MailThread.id.desc()).limit(1))

    return send
