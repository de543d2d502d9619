"""Add-in fixtures: RSA keys served as JWKS by a real local HTTP server, token factories, CRM data, settings for it."""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend import addresses
from backend.addins import jwks
from backend.models import Company, Deal, Lead, Person, PersonEmail

CLIENT_ID = "6f1f3c52-1a8e-4c3e-9d7a-3b2f1e0c9a11"
TENANT = "9a8b7c6d-1111-4222-8333-444455556666"
OTHER_TENANT = "0f0e0d0c-aaaa-4bbb-8ccc-ddddeeeeffff"
BASE_URL = "https://crm.example"
GMAIL_AUDIENCE = "https://crm.example/addons/gmail"
SERVICE_ACCOUNT = "service-1234@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
ADDON_CLIENT_ID = "9988776655.apps.googleusercontent.com"  # the add-on's OAuth client


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class KeyServer:
    """A local HTTP server publishing JWKS documents; ``documents`` can change during a test."""

    url: str
    documents: dict = field(default_factory=dict)
    hits: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)


@pytest.fixture(scope="session")
def keys():
    return {"ms": _key(), "ms2": _key(), "google": _key(), "other": _key()}


def public_jwk(private_key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return jwk


@pytest.fixture(scope="session")
def key_server(keys):
    state = KeyServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            path = self.path.split("?", 1)[0]
            state.hits[path] = state.hits.get(path, 0) + 1
            state.requests.append((self.path, dict(self.headers)))
            document = state.documents.get(path)
            body = json.dumps(document).encode() if document is not None else b"{}"
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def published_keys(key_server, keys):
    """The keys Microsoft and Google publish for this test; fresh caches on both sides."""
    key_server.documents.clear()
    key_server.hits.clear()
    key_server.requests.clear()
    key_server.documents["/ms/keys"] = {"keys": [public_jwk(keys["ms"], "ms-key-1")]}
    key_server.documents["/google/certs"] = {"keys": [public_jwk(keys["google"], "g-key-1")]}
    jwks.clear()
    yield key_server
    jwks.clear()


@pytest.fixture
def settings(settings, key_server):
    return settings.with_(
        base_url=BASE_URL, ms_client_id=CLIENT_ID, ms_jwks_url=f"{key_server.url}/ms/keys",
        ms_allowed_tenants=(TENANT,), google_jwks_url=f"{key_server.url}/google/certs",
        gmail_addon_audience=GMAIL_AUDIENCE, gmail_addon_service_account=SERVICE_ACCOUNT,
        gmail_addon_client_id=ADDON_CLIENT_ID,
        gmail_api_url=f"{key_server.url}/gmail/")


def sign(claims: dict, private_key, kid: str, headers: dict | None = None) -> str:
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, **(headers or {})})


@pytest.fixture
def ms_token(keys):
    """ms_token(address, v1=False, key=..., kid=..., drop=(claims,), **claim_overrides) -> a Microsoft access token."""

    def make(address: str = "alice@acme.example", *, v1: bool = False, key: str = "ms", kid: str = "ms-key-1",
             drop: tuple = (), **overrides) -> str:
        now = int(time.time())
        tenant = overrides.pop("tid", TENANT)
        claims = {
            "aud": f"api://crm.example/{CLIENT_ID}",
            "iss": f"https://sts.windows.net/{tenant}/" if v1 else f"https://login.microsoftonline.com/{tenant}/v2.0",
            "tid": tenant, "iat": now - 10, "nbf": now - 10, "exp": now + 3600,
            "scp": "access_as_user", "oid": str(uuid.uuid4()), "ver": "1.0" if v1 else "2.0",
        }
        claims["upn" if v1 else "preferred_username"] = address
        claims.update(overrides)
        for name in drop:
            claims.pop(name, None)
        return sign(claims, keys[key], kid)

    return make


@pytest.fixture
def google_token(keys):
    """google_token(**overrides) -> the add-on service account's ID token for our endpoint."""

    def make(*, key: str = "google", kid: str = "g-key-1", **overrides) -> str:
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": GMAIL_AUDIENCE, "azp": "1122334455",
                  "sub": "1122334455", "email": SERVICE_ACCOUNT, "email_verified": True,
                  "iat": now - 10, "exp": now + 3600}
        claims.update(overrides)
        return sign(claims, keys[key], kid)

    return make


@pytest.fixture
def google_user_token(keys):
    """google_user_token(email, **overrides) -> the userIdToken Gmail puts in the event object."""

    def make(email: str = "alice@acme.example", *, key: str = "google", kid: str = "g-key-1", **overrides) -> str:
        now = int(time.time())
        claims = {"iss": "accounts.google.com", "aud": ADDON_CLIENT_ID,
                  "sub": "5566778899", "email": email, "email_verified": True,
                  "iat": now - 10, "exp": now + 3600}
        claims.update(overrides)
        return sign(claims, keys[key], kid)

    return make


@dataclass
class Crm:
    """Makes persons, deals and leads straight in the database (faster than the API)."""

    services: object
    mail_domain: str

    def person(self, company_id: int, name: str, *emails: str) -> int:
        with self.services.db.session() as session:
            person = Person(company_id=company_id, name=name)
            session.add(person)
            session.flush()
            for address in emails:
                session.add(PersonEmail(company_id=company_id, person_id=person.id, email=address.lower()))
            return person.id

    def deal(self, company_id: int, person_id: int | None, title: str, status: str = "open") -> tuple[int, str]:
        return self._item(Deal, "deal", company_id, person_id, title, status=status)

    def lead(self, company_id: int, person_id: int | None, title: str) -> tuple[int, str]:
        return self._item(Lead, "lead", company_id, person_id, title)

    def _item(self, model, kind, company_id, person_id, title, **extra) -> tuple[int, str]:
        token = addresses.new_item_token()
        with self.services.db.session() as session:
            row = model(company_id=company_id, person_id=person_id, title=title, bcc_token=token, **extra)
            session.add(row)
            session.flush()
            slug = session.get(Company, company_id).slug
            return row.id, addresses.item_address(slug, kind, token, self.mail_domain)


@pytest.fixture
def crm(services, settings) -> Crm:
    return Crm(services, settings.mail_domain)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
