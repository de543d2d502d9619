"""On-Behalf-Of from the Outlook add-in: POST /api/v1/addin/sent with the add-in's Microsoft token.

Everything is local: the add-in token is signed with a test RSA key published by
the local JWKS server of tests/addins, the OBO exchange goes to the fake
Microsoft token endpoint and the sent copy is read from the fake Graph.
"""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.addins import jwks
from backend.models import InboundRecord, MailboxConnection, MailMessage, SentAnnouncement
from backend.providers import crypto, fetch
from backend.providers.connections import now_utc
from backend.providers.fetch import fetch_announcement

from tests.addins.conftest import TENANT, bearer, key_server, keys, public_jwk, sign  # noqa: F401 - fixtures

from .conftest import sent_mail
from .fake_microsoft import CLIENT_ID as MS_ID
from .fakes import json_answer

API = "/api/v1/addin/sent"
TOKEN_ENDPOINT = r"/oauth2/v2\.0/token$"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def settings(settings, key_server):  # noqa: F811 - the provider settings plus the local JWKS
    return settings.with_(ms_jwks_url=f"{key_server.url}/ms/keys", ms_allowed_tenants=(TENANT,))


@pytest.fixture(autouse=True)
def published(key_server, keys):  # noqa: F811
    key_server.documents.clear()
    key_server.documents["/ms/keys"] = {"keys": [public_jwk(keys["ms"], "ms-key-1")]}
    jwks.clear()
    yield
    jwks.clear()


@pytest.fixture
def ms_token(keys, ms):  # noqa: F811
    """ms_token(address) -> an add-in (NAA/SSO) access token for the Smart Bcc app, as Entra ID issues it."""

    def make(address: str = "alice@acme.example", **overrides) -> str:
        now = int(time.time())
        claims = {"aud": f"api://crm.example/{MS_ID}", "iss": f"{ms.base}/{TENANT}/v2.0", "tid": TENANT,
                  "iat": now - 10, "nbf": now - 10, "exp": now + 3600, "scp": "access_as_user",
                  "oid": str(uuid.uuid4()), "ver": "2.0", "preferred_username": address, **overrides}
        return sign(claims, keys["ms"], "ms-key-1")

    return make


def announce(client, token: str, ref: str, address: str, expect: int = 201) -> dict:
    response = client.post(API, json={"ref": ref, "address": address}, headers=bearer(token))
    assert response.status_code == expect, response.get_json()
    return response.get_json()["data"]


def obo_calls(ms) -> list:
    return [s for s in ms.seen(TOKEN_ENDPOINT, "POST") if s.form.get("grant_type") == JWT_BEARER]


def connections(services, user_id: int) -> list[MailboxConnection]:
    with services.db.session() as session:
        return list(session.scalars(select(MailboxConnection).where(MailboxConnection.user_id == user_id)))


def announcement(services, ann_id: int) -> SentAnnouncement:
    with services.db.session() as session:
        return session.get(SentAnnouncement, ann_id)


def threads(client, rep) -> list[dict]:
    response = client.get("/api/v1/mailbox/mailThreads", headers=rep.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_a_microsoft_token_without_a_connection_connects_outlook_on_behalf_of_the_user(
        client, services, rep, ms, ms_token):
    ms.obo_refresh = True
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo1@acme.example", ref="obo-1", subject="OBO proposal"))

    data = announce(client, token, "obo-1", rep.bcc_address)

    # The add-in token was exchanged at the token endpoint of the user's tenant.
    [call] = obo_calls(ms)
    assert f"/{TENANT}/oauth2/v2.0/token" in call.path
    assert call.form["requested_token_use"] == "on_behalf_of" and call.form["assertion"] == token
    scopes = call.form["scope"].split()
    assert any(s.endswith("/Mail.Read") for s in scopes) and "offline_access" in scopes
    # The refresh token became the user's Outlook connection, encrypted like any other.
    [conn] = connections(services, rep.user_id)
    assert (conn.provider, conn.status, conn.account_email) == ("outlook", "connected", rep.email)
    refresh = crypto.decrypt(services.settings, conn.refresh_token_enc)
    assert refresh in ms.tokens.refresh and refresh not in conn.refresh_token_enc
    # ... and the normal fetch found the sent copy through it and logged it.
    assert data["status"] == "found" and data["provider"] == "outlook" and len(data["inbound_record_ids"]) == 1
    access = crypto.decrypt(services.settings, conn.access_token_enc)
    graph_calls = ms.seen(r"^/v1\.0/")
    assert graph_calls and all(s.headers["authorization"] == f"Bearer {access}" for s in graph_calls)
    assert announcement(services, data["id"]).access_token_enc is None
    with services.db.session() as session:
        [record] = session.scalars(select(InboundRecord))
        assert record.source == "graph" and record.status == "processed" and record.user_id == rep.user_id
    [thread] = threads(client, rep)
    assert thread["subject"] == "OBO proposal"
    shown = client.get("/api/v1/connections", headers=rep.auth).get_json()["data"]
    assert {c["provider"]: c["status"] for c in shown}["outlook"] == "connected"

    # The next announcement uses the stored connection: no second exchange.
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo2@acme.example", ref="obo-2", subject="Follow-up"))
    assert announce(client, token, "obo-2", rep.bcc_address)["status"] == "found"
    assert len(obo_calls(ms)) == 1
    assert len(threads(client, rep)) == 2


def test_without_a_refresh_token_the_access_token_serves_only_that_announcement(
        client, services, rep, ms, ms_token):
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)

    data = announce(client, token, "obo-3", rep.bcc_address)  # Sent Items lags behind: not there yet

    assert len(obo_calls(ms)) == 1
    assert data["status"] == "pending" and data["provider"] == "outlook" and data["attempts"] == 1
    assert connections(services, rep.user_id) == []
    ann = announcement(services, data["id"])
    access = crypto.decrypt(services.settings, ann.access_token_enc)
    assert access in ms.tokens.access and access not in ann.access_token_enc
    assert ann.access_expires_at > now_utc() + timedelta(minutes=30)
    assert all(s.headers["authorization"] == f"Bearer {access}" for s in ms.seen(r"^/v1\.0/"))

    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo3@acme.example", ref="obo-3", subject="Token only"))
    later = now_utc() + timedelta(seconds=fetch.BACKOFF[0] + 1)
    assert fetch_announcement(services, data["id"], now=later) == "found"
    ann = announcement(services, data["id"])
    assert ann.access_token_enc is None and ann.access_expires_at is None  # not kept once done
    assert [t["subject"] for t in threads(client, rep)] == ["Token only"]
    assert connections(services, rep.user_id) == [] and len(obo_calls(ms)) == 1


def test_an_expired_obo_access_token_ends_the_announcement_with_advice(client, services, rep, ms, ms_token):
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    data = announce(client, token, "obo-4", rep.bcc_address)
    assert data["status"] == "pending"
    with services.db.session() as session:  # the next look comes after the token's lifetime
        session.get(SentAnnouncement, data["id"]).access_expires_at = now_utc() - timedelta(minutes=1)
    later = now_utc() + timedelta(seconds=fetch.BACKOFF[0] + 1)
    assert fetch_announcement(services, data["id"], now=later) == "failed"
    assert len(ms.seen(r"^/v1\.0/")) == 1  # the expired token was not even tried
    ann = announcement(services, data["id"])
    assert "expired" in ann.last_error and "Settings > Connections" in ann.last_error
    assert ann.access_token_enc is None


def test_missing_consent_fails_the_announcement_with_a_message_for_the_pane(client, services, rep, ms, ms_token):
    token = ms_token(rep.email)  # never consented: the fake answers consent_required (AADSTS65001)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo5@acme.example", ref="obo-5"))

    data = announce(client, token, "obo-5", rep.bcc_address)

    assert len(obo_calls(ms)) == 1
    assert data["status"] == "failed" and data["finished_at"]
    assert "ask your admin to grant consent" in data["error"] and "AADSTS65001" in data["error"]
    assert connections(services, rep.user_id) == []
    assert ms.seen(r"^/v1\.0/") == []
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 0
    # The pane reads it back with the same token.
    shown = client.get(f"{API}/{data['id']}", headers=bearer(token)).get_json()["data"]
    assert shown["status"] == "failed" and shown["error"] == data["error"]


def test_a_refused_assertion_fails_the_announcement_not_the_request(client, services, rep, ms, ms_token):
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    ms.inject(TOKEN_ENDPOINT, json_answer(400, {
        "error": "invalid_grant", "error_description": "AADSTS500133: Assertion is not within its valid time range."}))
    data = announce(client, token, "obo-6", rep.bcc_address)
    assert data["status"] == "failed" and "sign in to the Smart Bcc pane again" in data["error"]
    assert "invalid_grant" in data["error"] and connections(services, rep.user_id) == []


def test_an_unreachable_token_endpoint_fails_the_announcement_not_the_request(client, services, rep, ms, ms_token):
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    ms.inject(TOKEN_ENDPOINT, json_answer(503, {"error": "temporarily_unavailable",
                                                "error_description": "AADSTS90033: try again."}), times=5)
    data = announce(client, token, "obo-7", rep.bcc_address)
    assert data["status"] == "failed" and "Settings > Connections" in data["error"]
    assert "unavailable" in data["error"] and "internal error" not in data["error"]
    assert connections(services, rep.user_id) == []


def test_a_broken_connection_is_replaced_through_obo(client, services, rep, outlook, ms, ms_token):
    with services.db.session() as session:
        conn = session.get(MailboxConnection, outlook)
        conn.status, conn.last_error = "broken", "Microsoft no longer accepts the stored grant (invalid_grant)"
    ms.obo_refresh = True
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo8@acme.example", ref="obo-8"))
    assert announce(client, token, "obo-8", rep.bcc_address)["status"] == "found"
    [conn] = connections(services, rep.user_id)
    assert conn.id == outlook and conn.status == "connected" and conn.last_error is None


def test_a_microsoft_token_with_a_working_connection_uses_it(client, services, rep, outlook, ms, ms_token):
    token = ms_token(rep.email)
    ms.obo_assertions.add(token)
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo9@acme.example", ref="obo-9"))
    assert announce(client, token, "obo-9", rep.bcc_address)["status"] == "found"
    assert obo_calls(ms) == []
    assert [c.id for c in connections(services, rep.user_id)] == [outlook]


def test_an_api_token_announcement_works_as_before(client, services, rep, outlook, ms):
    ms.add(sent_mail(rep.email, [rep.bcc_address], "obo10@acme.example", ref="obo-10"))
    response = client.post(API, json={"ref": "obo-10", "address": rep.bcc_address}, headers=rep.auth)
    assert response.status_code == 201 and response.get_json()["data"]["status"] == "found"
    assert obo_calls(ms) == []


def test_an_api_token_without_a_connection_never_tries_obo(client, services, rep, ms):
    response = client.post(API, json={"ref": "obo-11", "address": rep.bcc_address}, headers=rep.auth)
    data = response.get_json()["data"]
    assert response.status_code == 201 and data["status"] == "no_connection"
    assert ms.seen(TOKEN_ENDPOINT) == [] and connections(services, rep.user_id) == []


def test_a_microsoft_token_of_an_unknown_user_is_401(client, services, rep, ms, ms_token):
    token = ms_token("stranger@acme.example")
    ms.obo_assertions.add(token)
    response = client.post(API, json={"ref": "obo-12", "address": rep.bcc_address}, headers=bearer(token))
    assert response.status_code == 401
    assert "not a Smart Bcc user" in response.get_json()["error"]
    assert ms.seen(TOKEN_ENDPOINT) == []
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SentAnnouncement)) == 0


def test_a_token_for_another_app_is_401_and_never_exchanged(client, rep, ms, ms_token):
    token = ms_token(rep.email, aud="api://crm.example/00000000-0000-0000-0000-000000000000")
    ms.obo_assertions.add(token)
    response = client.post(API, json={"ref": "obo-13", "address": rep.bcc_address}, headers=bearer(token))
    assert response.status_code == 401 and ms.seen(TOKEN_ENDPOINT) == []


def test_outlook_on_the_web_may_call_the_announcement_cross_origin(client, rep, ms_token):
    origin = "https://outlook.office.com"
    preflight = client.options(API, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.headers.get("Access-Control-Allow-Origin") == origin
    assert "Authorization" in preflight.headers.get("Access-Control-Allow-Headers", "")
    listed = client.get(API, headers={"Origin": origin, **bearer(ms_token(rep.email))})
    assert listed.status_code == 200 and listed.headers.get("Access-Control-Allow-Origin") == origin
    other = client.get("/api/v1/connections", headers={"Origin": origin, **rep.auth})
    assert "Access-Control-Allow-Origin" not in other.headers
