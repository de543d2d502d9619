"""Fixtures for the provider tests: a guard against real Microsoft/Google hosts, local fake servers, connections."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import ssl

import pytest

from backend.providers import limits
from backend.providers.connections import save_connection
from backend.providers.tokens import TokenSet

from .fake_google import CLIENT_ID as G_ID, CLIENT_SECRET as G_SECRET, FakeGoogle
from .fake_microsoft import CLIENT_ID as MS_ID, CLIENT_SECRET as MS_SECRET, FakeMicrosoft

BLOCKED_HOST = re.compile(r"(microsoft|google|gmail|outlook\.|office\.|office365|live\.com|windows\.net)", re.I)
PASSWORD = "correct horse battery staple"

# Written into a sitecustomize.py for subprocesses (the Celery worker) so they are guarded too.
GUARD_SOURCE = '''
import re, socket
_BLOCKED = re.compile(%r, re.I)
_real = socket.getaddrinfo
def _guarded(host, *args, **kwargs):
    if isinstance(host, (bytes, str)) and _BLOCKED.search(host.decode() if isinstance(host, bytes) else host):
        raise OSError("test guard: no connections to %%s" %% (host,))
    return _real(host, *args, **kwargs)
socket.getaddrinfo = _guarded
''' % BLOCKED_HOST.pattern


class BlockedHost(OSError):
    pass


@pytest.fixture(autouse=True)
def no_real_providers(monkeypatch):
    """Any lookup of a Microsoft or Google host fails the test loudly."""
    real = socket.getaddrinfo
    attempts: list[str] = []

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if BLOCKED_HOST.search(name):
            attempts.append(name)
            raise BlockedHost(f"test guard: {name} must not be contacted from tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert not attempts, f"tests tried to reach {attempts}"


@pytest.fixture(autouse=True)
def waits(monkeypatch):
    """Backoff and Retry-After waits are recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(limits, "sleep", recorded.append)
    return recorded


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (MSAL only talks to https authorities)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def ms(tls_files, monkeypatch):
    cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # requests (MSAL, the Graph client) trusts the local certificate through the standard variable.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    server = FakeMicrosoft(context)
    yield server
    server.close()


@pytest.fixture
def google():
    server = FakeGoogle()
    yield server
    server.close()


@pytest.fixture
def settings(settings, ms, google):
    """The suite's settings, with both providers configured against the local servers."""
    return settings.with_(
        ms_client_id=MS_ID, ms_client_secret=MS_SECRET, ms_authority_host=ms.base,
        ms_graph_url=ms.base + "/v1.0", google_client_id=G_ID, google_client_secret=G_SECRET,
        google_auth_url=google.base + "/o/oauth2/v2/auth", google_token_url=google.base + "/token",
        gmail_api_url=google.base + "/")


@pytest.fixture
def rep(make_account):
    return make_account("acme.example", "alice@acme.example", password=PASSWORD, name="Alice Rep")


@pytest.fixture
def signed_in(client, rep):
    """The test client, signed in as ``rep`` through the real sign-in page."""
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"email": rep.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf_of(client) -> str:
    page = client.get("/settings/connections").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _connect(services, rep, provider, book, account, cursor):
    tokens = TokenSet(access_token=book.new_access(), refresh_token=book.new_refresh(account),
                      expires_in=3600, scopes=["Mail.Read"], account_email=account)
    return save_connection(services, company_id=rep.company_id, user_id=rep.user_id, provider=provider,
                           tokens=tokens, account_email=account, cursor=cursor)


@pytest.fixture
def outlook(services, rep, ms):
    """A stored Outlook connection of ``rep`` whose tokens the fake Microsoft accepts; yields its id."""
    return _connect(services, rep, "outlook", ms.tokens, rep.email, None)


@pytest.fixture
def gmail(services, rep, google):
    return _connect(services, rep, "gmail", google.tokens, rep.email, str(google.history))


def sent_mail(sender: str, bcc: list[str], msgid: str, *, ref: str | None = None, subject: str = "Proposal",
              to: str = "Bob Buyer <bob@cust.example>", extra: str = "", body: str = "Hello Bob,\r\nthe offer.\r\n",
              date: str = "Mon, 3 Mar 2025 10:00:00 +0000") -> bytes:
    head = f"From: Alice Rep <{sender}>\r\nTo: {to}\r\n"
    if bcc:
        head += f"Bcc: {', '.join(bcc)}\r\n"
    head += f"Subject: {subject}\r\nDate: {date}\r\nMessage-ID: <{msgid}>\r\n"
    if ref:
        head += f"X-SmartBcc-Ref: {ref}\r\n"
    return (head + extra + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def smtp_copy(raw: bytes) -> bytes:
    """What the Smart Bcc address receives over SMTP: the same message without its Bcc header."""
    lines = raw.split(b"\r\n")
    return b"\r\n".join(line for line in lines if not line.lower().startswith(b"bcc:"))
