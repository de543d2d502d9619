"""Microsoft identity tokens on the add-in API: signature against a locally served JWKS, issuer, audience, tenant, scope, expiry, user."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import jwt
import pytest

from backend.addins import jwks
from backend.models import SenderAddress, User
from tests.addins.conftest import CLIENT_ID, OTHER_TENANT, TENANT, bearer, public_jwk, sign

URL = "/api/v1/addin/resolve"


@pytest.fixture
def call(client, acme):
    def _call(token: str):
        return client.post(URL, json={"to": []}, headers=bearer(token))
    return _call


def error_of(response, status: int = 401) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["success"] is False
    return body["error"]


def test_a_valid_v2_token_works(call, ms_token, acme):
    response = call(ms_token("alice@acme.example"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["company_address"] == acme.bcc_address


def test_a_valid_v1_token_works(call, ms_token):
    assert call(ms_token("alice@acme.example", v1=True)).status_code == 200


def test_the_bare_client_id_is_an_accepted_audience(call, ms_token):
    assert call(ms_token(aud=CLIENT_ID)).status_code == 200
    assert call(ms_token(aud=f"api://{CLIENT_ID}")).status_code == 200


def test_the_address_claim_is_matched_case_insensitively(call, ms_token):
    assert call(ms_token("Alice@ACME.example")).status_code == 200


def test_email_claim_is_used_when_there_is_no_preferred_username(call, ms_token):
    token = ms_token("ignored@x.example", drop=("preferred_username",), email="alice@acme.example")
    assert call(token).status_code == 200


def test_expired(call, ms_token):
    now = int(time.time())
    assert "expired" in error_of(call(ms_token(iat=now - 7200, nbf=now - 7200, exp=now - 3600)))


def test_wrong_audience(call, ms_token):
    assert "another application" in error_of(call(ms_token(aud="api://crm.example/00000000-0000-0000-0000-000000000000")))
    assert "another application" in error_of(call(ms_token(aud="https://graph.microsoft.com")))


@pytest.mark.parametrize("issuer", [
    "https://login.microsoftonline.com/common/v2.0",
    f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0",
    f"https://evil.example/{TENANT}/v2.0",
    f"https://sts.windows.net/{TENANT}",
])
def test_wrong_issuer(call, ms_token, issuer):
    assert "not issued by Microsoft" in error_of(call(ms_token(iss=issuer)))


def test_wrong_tenant(call, ms_token):
    message = error_of(call(ms_token(tid=OTHER_TENANT)))
    assert "tenant is not allowed" in message


def test_any_tenant_when_none_are_configured(client, services, ms_token, acme, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(ms_allowed_tenants=()))
    response = client.post(URL, json={}, headers=bearer(ms_token(tid=OTHER_TENANT)))
    assert response.status_code == 200


def test_wrong_signature(call, ms_token):
    # Signed with another key but claiming the published key's id.
    assert "invalid signature" in error_of(call(ms_token(key="other", kid="ms-key-1")))


def test_unknown_kid(call, ms_token, published_keys):
    message = error_of(call(ms_token(key="other", kid="not-published")))
    assert "unknown key" in message


def test_unknown_user(call, ms_token):
    message = error_of(call(ms_token("stranger@nowhere.example")))
    assert "stranger@nowhere.example is not a Smart Bcc user" in message


def test_missing_scope(call, ms_token):
    assert "access_as_user" in error_of(call(ms_token(scp="User.Read")))


def test_no_address_claim(call, ms_token):
    assert "names no email address" in error_of(call(ms_token(drop=("preferred_username",))))


def test_tokens_not_signed_with_rs256_are_refused(call, keys):
    now = int(time.time())
    claims = {"aud": CLIENT_ID, "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "tid": TENANT,
              "scp": "access_as_user", "preferred_username": "alice@acme.example", "iat": now, "exp": now + 600}
    hs = jwt.encode(claims, "secret-secret-secret-secret-secret!", algorithm="HS256", headers={"kid": "ms-key-1"})
    assert "RS256" in error_of(call(hs))
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "ms-key-1"})
    assert "RS256" in error_of(call(unsigned))


def test_garbage_is_refused(call):
    assert error_of(call("not.a.token"))


def test_microsoft_sign_in_not_configured(client, services, ms_token, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(ms_client_id=""))
    message = error_of(client.post(URL, json={}, headers=bearer(ms_token())))
    assert "SMARTBCC_MS_CLIENT_ID" in message


def test_a_verified_alternative_address_maps_to_its_user(call, ms_token, services, acme):
    with services.db.session() as session:
        session.add(SenderAddress(company_id=acme.company_id, user_id=acme.user_id, email="alice@alias.example",
                                  verified_at=datetime.now(timezone.utc)))
        session.add(SenderAddress(company_id=acme.company_id, user_id=acme.user_id, email="alice@pending.example"))
    response = call(ms_token("alice@alias.example"))
    assert response.status_code == 200
    assert response.get_json()["data"]["company_address"] == acme.bcc_address
    assert "not a Smart Bcc user" in error_of(call(ms_token("alice@pending.example")))


def test_a_deactivated_user_is_refused(call, ms_token, services, acme):
    with services.db.session() as session:
        session.get(User, acme.user_id).active = False
    assert "not a Smart Bcc user" in error_of(call(ms_token("alice@acme.example")))


def test_keys_are_cached(call, ms_token, published_keys):
    for _ in range(3):
        assert call(ms_token()).status_code == 200
    assert published_keys.hits["/ms/keys"] == 1


def test_an_unknown_kid_refetches_the_keys_once(call, ms_token, published_keys, keys, monkeypatch):
    monkeypatch.setattr(jwks.JwksCache, "min_refetch_interval", 0.0)
    assert call(ms_token()).status_code == 200
    assert published_keys.hits["/ms/keys"] == 1
    # Microsoft rotates: the new key is published after our first fetch.
    published_keys.documents["/ms/keys"] = {"keys": [public_jwk(keys["ms"], "ms-key-1"),
                                                     public_jwk(keys["ms2"], "ms-key-2")]}
    assert call(ms_token(key="ms2", kid="ms-key-2")).status_code == 200
    assert published_keys.hits["/ms/keys"] == 2
    # A kid that stays unknown is looked up once, not on every request.
    for _ in range(3):
        assert "unknown key" in error_of(call(ms_token(key="other", kid="forged-kid")))
    assert published_keys.hits["/ms/keys"] == 3


def test_keys_are_refetched_after_the_ttl(published_keys, keys, settings):
    clock = [1000.0]
    cache = jwks.JwksCache(settings.ms_jwks_url, ttl=60, clock=lambda: clock[0])
    assert cache.key("ms-key-1")
    assert cache.key("ms-key-1")
    assert published_keys.hits["/ms/keys"] == 1
    clock[0] += 61
    assert cache.key("ms-key-1")
    assert published_keys.hits["/ms/keys"] == 2


def test_unreachable_key_server_is_a_clear_401(client, services, ms_token, monkeypatch, settings):
    monkeypatch.setattr(services, "settings", services.settings.with_(ms_jwks_url="http://127.0.0.1:9/keys"))
    message = error_of(client.post(URL, json={}, headers=bearer(ms_token())))
    assert "could not be fetched" in message


def test_token_for_the_gmail_add_on_is_not_a_microsoft_token(call, google_user_token):
    # Signed by a key the Microsoft key set does not have.
    assert error_of(call(google_user_token()))


def test_sign_helper_is_real_rs256(keys):
    token = sign({"a": 1}, keys["ms"], "ms-key-1")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_an_address_verified_in_two_companies_is_refused(call, ms_token, services, acme, globex):
    with services.db.session() as session:
        for account in (acme, globex):
            session.add(SenderAddress(company_id=account.company_id, user_id=account.user_id,
                                      email="shared@consultant.example", verified_at=datetime.now(timezone.utc)))
    assert "more than one company" in error_of(call(ms_token("shared@consultant.example")))
