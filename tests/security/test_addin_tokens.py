"""Tampered and replayed tokens on the add-in endpoints (Outlook: Microsoft access tokens; Gmail: Google ID tokens).

What tests/addins already covers (forged signature, unknown kid, expired, wrong audience, issuer,
tenant, scope, HS256 and ``alg: none`` on the Microsoft side) is not repeated; this file adds the
header tricks, keys tied to another tenant, cross-company Google requests, and replay.

Replay, as decided (see the module docstring of backend/addins/tokens.py):
- Microsoft access tokens and Google's ID tokens are bearer tokens that their issuers cache and
  send again for their whole lifetime; neither is single-use, so reusing one within its lifetime
  is accepted by design (pinned below), and refused once it has expired (60 s clock leeway).
- Google's add-on token belongs to the add-on's service account, not to a user: Google reuses it
  for every user of the add-on, so it cannot be bound to one userIdToken (pinned below). The user
  comes only from the Google-signed, Google-verified userIdToken; nothing in the request body can
  name another user or company.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from backend.addins import tokens
from tests.addins.conftest import (  # noqa: F401 - fixtures used by the tests below
    BASE_URL, CLIENT_ID, OTHER_TENANT, TENANT, bearer, crm, google_token, google_user_token, key_server,
    keys, ms_token, public_jwk, published_keys, settings, sign)

URL = "/api/v1/addin/resolve"
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # Microsoft's tenant of personal (consumer) accounts


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(header))), json.loads(base64.urlsafe_b64decode(pad(payload))),
            signature)


def tampered(token: str, header: dict | None = None, claims: dict | None = None, signature: str | None = None,
             drop_header: tuple = ()) -> str:
    """The token with header fields and claims changed, keeping (or replacing) the signature."""
    old_header, old_claims, old_signature = _parts(token)
    new_header = {**old_header, **(header or {})}
    for name in drop_header:
        new_header.pop(name, None)
    new_claims = {**old_claims, **(claims or {})}
    return ".".join([_b64(json.dumps(new_header).encode()), _b64(json.dumps(new_claims).encode()),
                     old_signature if signature is None else signature])


def hs256_with_public_key(token: str, private_key) -> str:
    """The classic key confusion: HMAC-signed with the PEM of the issuer's *public* key as the secret."""
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    header, claims, _ = _parts(token)
    signing_input = ".".join([_b64(json.dumps({**header, "alg": "HS256"}).encode()),
                              _b64(json.dumps(claims).encode())])
    return signing_input + "." + _b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def error_of(response, status: int = 401) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


@pytest.fixture
def resolve(client, acme, globex):
    def call(token: str, body: dict | None = None, headers: dict | None = None):
        return client.post(URL, json=body if body is not None else {"to": []}, headers={**bearer(token), **(headers or {})})
    return call


def _none_variants(token: str) -> list[str]:
    out = []
    for alg in ("none", "None", "NONE", "nOnE"):
        out.append(tampered(token, header={"alg": alg}, signature=""))
        out.append(tampered(token, header={"alg": alg}))  # the real signature left in place
    out.append(tampered(token, drop_header=("alg",)))
    return out


# ---- Microsoft: header tricks

def test_alg_none_in_any_spelling_and_a_missing_alg_are_refused(resolve, ms_token):
    valid = ms_token()
    assert resolve(valid).status_code == 200
    for forged in _none_variants(valid):
        assert "RS256" in error_of(resolve(forged)), _parts(forged)[0]


def test_hmac_signed_with_the_public_key_is_refused(resolve, ms_token, keys):
    assert "RS256" in error_of(resolve(hs256_with_public_key(ms_token(), keys["ms"])))


@pytest.mark.parametrize("algorithm", ["RS512", "PS256"])
def test_other_algorithms_even_with_the_real_key_are_refused(resolve, keys, ms_token, algorithm):
    _header, claims, _ = _parts(ms_token())
    token = jwt.encode(claims, keys["ms"], algorithm=algorithm, headers={"kid": "ms-key-1"})
    assert "RS256" in error_of(resolve(token))


def test_an_embedded_jwk_header_is_ignored(resolve, ms_token, keys):
    attacker = public_jwk(keys["other"], "attacker-key")
    # The attacker's own key, handed over in the header: not in Microsoft's key set.
    token = ms_token(key="other", kid="attacker-key")
    assert "unknown key" in error_of(resolve(tampered(token, header={"jwk": attacker})))
    # Claiming Microsoft's kid while signing with the embedded key.
    token = sign(_parts(ms_token())[1], keys["other"], "ms-key-1", headers={"jwk": attacker})
    assert "invalid signature" in error_of(resolve(token))


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_key_urls_in_the_header_are_never_fetched(resolve, ms_token, keys, published_keys, header):
    published_keys.documents["/attacker/keys"] = {"keys": [public_jwk(keys["other"], "attacker-key")]}
    token = sign(_parts(ms_token())[1], keys["other"], "attacker-key",
                 headers={header: f"{published_keys.url}/attacker/keys"})
    assert "unknown key" in error_of(resolve(token))
    assert published_keys.hits.get("/attacker/keys", 0) == 0


def test_a_google_key_id_means_nothing_to_microsoft(resolve, ms_token):
    # Signed by Google's (published, valid) key under its own kid: the Microsoft key set has no such key.
    assert "unknown key" in error_of(resolve(ms_token(key="google", kid="g-key-1")))


# ---- Microsoft: keys tied to a tenant

def _publish_ms_keys(published_keys, keys, *tied: tuple[str, str, str]) -> None:
    """Microsoft's key set: the common key, plus (key name, kid, issuer) keys tied to an issuer."""
    entries = [public_jwk(keys["ms"], "ms-key-1")]
    for key, kid, issuer in tied:
        entries.append({**public_jwk(keys[key], kid), "issuer": issuer})
    published_keys.documents["/ms/keys"] = {"keys": entries}


@pytest.fixture
def any_tenant(services, monkeypatch):
    # No allow list, so the tenant check cannot be what stops a token: the key check must.
    monkeypatch.setattr(services, "settings", services.settings.with_(ms_allowed_tenants=()))


@pytest.mark.parametrize("key_tenant", [OTHER_TENANT, MSA_TENANT])
def test_a_kid_pointing_at_another_tenants_key_is_refused(resolve, ms_token, keys, published_keys, any_tenant,
                                                          key_tenant):
    _publish_ms_keys(published_keys, keys, ("ms2", "tied-key", f"https://login.microsoftonline.com/{key_tenant}/v2.0"))
    # A token for TENANT signed with the key Microsoft publishes for another tenant (or for
    # consumer accounts, as in the 2023 forged-token incident).
    for v1 in (False, True):
        message = error_of(resolve(ms_token(key="ms2", kid="tied-key", v1=v1)))
        assert "key that belongs to another issuer" in message
    # The token that key may sign, for its own tenant, is fine.
    assert resolve(ms_token(key="ms2", kid="tied-key", tid=key_tenant)).status_code == 200


def test_keys_tied_to_the_tokens_own_tenant_or_to_any_tenant_are_accepted(resolve, ms_token, keys, published_keys):
    _publish_ms_keys(published_keys, keys,
                     ("ms2", "own-tenant", f"https://login.microsoftonline.com/{TENANT}/v2.0"),
                     ("other", "templated", "https://login.microsoftonline.com/{tenantid}/v2.0"))
    for v1 in (False, True):
        assert resolve(ms_token(key="ms2", kid="own-tenant", v1=v1)).status_code == 200
        assert resolve(ms_token(key="other", kid="templated", v1=v1)).status_code == 200
        assert resolve(ms_token(v1=v1)).status_code == 200  # the untied common key


def test_a_tied_key_cannot_sign_for_a_lookalike_issuer(resolve, ms_token, keys, published_keys, any_tenant):
    _publish_ms_keys(published_keys, keys, ("ms2", "tied-key", f"https://evil.example/{TENANT}/v2.0"))
    assert "another issuer" in error_of(resolve(ms_token(key="ms2", kid="tied-key")))


# ---- Microsoft: one user cannot act as another

def test_a_token_for_one_user_cannot_act_as_another(resolve, ms_token, acme, globex):
    tricks = {"user": globex.email, "email": globex.email, "company_id": globex.company_id,
              "user_id": globex.user_id, "to": []}
    headers = {"X-Smartbcc-User": globex.email, "X-User-Email": globex.email, "Cookie": "uid=" + str(globex.user_id)}
    response = resolve(ms_token("alice@acme.example"), body=tricks, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["company_address"] == acme.bcc_address
    assert resolve(ms_token("gary@globex.example")).get_json()["data"]["company_address"] == globex.bcc_address


def test_a_token_for_one_user_cannot_pick_another_companys_deal(resolve, ms_token, crm, globex):
    theirs, _ = crm.deal(globex.company_id, None, "Globex secret deal")
    response = resolve(ms_token("alice@acme.example"), body={"to": [], "item": {"item_type": "deal", "item_id": theirs}})
    assert response.status_code == 404
    assert "Globex secret deal" not in response.get_data(as_text=True)


def test_an_unverified_email_claim_from_any_tenant_names_nobody(resolve, ms_token, any_tenant):
    # nOAuth: in a tenant of their own, anyone can set a user's "email" to alice's address.
    token = ms_token("x", tid=OTHER_TENANT, drop=("preferred_username",), email="alice@acme.example")
    assert "not verified" in error_of(resolve(token))
    # Microsoft saying that the tenant owns the address's domain makes it count.
    verified = ms_token("x", tid=OTHER_TENANT, drop=("preferred_username",), email="alice@acme.example",
                        xms_edov=True)
    assert resolve(verified).status_code == 200


# ---- Microsoft: replay

def test_a_token_is_reusable_within_its_lifetime_by_design(resolve, ms_token, acme):
    # Office and MSAL cache the access token and send it with every call until it expires.
    token = ms_token()
    for _ in range(3):
        assert resolve(token).get_json()["data"]["company_address"] == acme.bcc_address


def test_a_replayed_token_is_refused_once_it_has_expired(resolve, ms_token, monkeypatch):
    monkeypatch.setattr(tokens, "LEEWAY_SECONDS", 0)
    expires = int(time.time()) + 2
    token = ms_token(exp=expires)
    assert resolve(token).status_code == 200
    while time.time() < expires + 0.2:
        time.sleep(0.1)
    assert "expired" in error_of(resolve(token))


def test_clock_leeway_is_one_minute_and_no_more(resolve, ms_token):
    now = int(time.time())
    assert resolve(ms_token(iat=now - 3600, nbf=now - 3600, exp=now - 30)).status_code == 200
    assert "expired" in error_of(resolve(ms_token(iat=now - 3600, nbf=now - 3600, exp=now - 90)))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_that_is_not_valid_yet_is_refused(resolve, ms_token, claim):
    later = int(time.time()) + 600
    assert "not valid yet" in error_of(resolve(ms_token(**{claim: later}, exp=later + 3600)))


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_token_without_exp_or_iat_is_refused(resolve, ms_token, claim):
    assert f"'{claim}'" in error_of(resolve(ms_token(drop=(claim,))))


# ---- Google: the add-on request token and the user token

@pytest.fixture
def addon(client, google_token, google_user_token, acme, globex):
    """addon(endpoint, user="alice@acme.example", system=None, user_token=None, params=None, **gmail) -> response."""
    def call(endpoint: str, user: str = "alice@acme.example", *, system: str | None = None,
             user_token: str | None = None, params: dict | None = None, **gmail):
        body = {
            "commonEventObject": {"hostApp": "GMAIL", "platform": "WEB", **({"parameters": params} if params else {})},
            "authorizationEventObject": {"userOAuthToken": "ya29.user-oauth",
                                         "userIdToken": user_token if user_token is not None else google_user_token(user)},
            "gmail": gmail,
        }
        return client.post(f"/addons/gmail/{endpoint}", json=body,
                           headers=bearer(system if system is not None else google_token()))
    return call


def test_google_alg_none_and_key_confusion_are_refused(addon, google_token, google_user_token, keys):
    system, user = google_token(), google_user_token()
    assert addon("homepage", system=system, user_token=user).status_code == 200
    for forged in _none_variants(system) + [hs256_with_public_key(system, keys["google"])]:
        assert "RS256" in error_of(addon("homepage", system=forged, user_token=user))
    for forged in _none_variants(user) + [hs256_with_public_key(user, keys["google"])]:
        assert "RS256" in error_of(addon("homepage", system=system, user_token=forged))


def test_a_user_token_claiming_another_identity_is_refused(addon, google_user_token, globex):
    # The user token of alice, its payload rewritten to gary: the signature no longer matches.
    forged = tampered(google_user_token("alice@acme.example"), claims={"email": globex.email})
    assert "invalid signature" in error_of(addon("homepage", user_token=forged))


def test_a_microsoft_key_id_means_nothing_to_google(addon, google_token, google_user_token):
    assert "unknown key" in error_of(addon("homepage", user_token=google_user_token(key="ms", kid="ms-key-1")))
    assert "unknown key" in error_of(addon("homepage", system=google_token(key="ms", kid="ms-key-1")))


def test_a_user_token_without_a_verified_address_is_refused(addon, google_user_token, keys):
    from tests.addins.conftest import ADDON_CLIENT_ID

    now = int(time.time())
    unverified = sign({"iss": "https://accounts.google.com", "aud": ADDON_CLIENT_ID, "sub": "1",
                       "email": "alice@acme.example", "iat": now, "exp": now + 600}, keys["google"], "g-key-1")
    assert "not verified" in error_of(addon("homepage", user_token=unverified))
    for value in (None, "true", 1):
        token = google_user_token(email_verified=value)
        assert "not verified" in error_of(addon("homepage", user_token=token)), value


def test_a_user_token_issued_to_another_app_is_refused(addon, google_user_token):
    """A Google ID token of the same person, but for some other Google client (aud), proves nothing."""
    from tests.addins.conftest import ADDON_CLIENT_ID

    assert addon("homepage", user_token=google_user_token(aud=[ADDON_CLIENT_ID, "other"])).status_code == 200
    for audience in ("1234-other.apps.googleusercontent.com", ["1234-other.apps.googleusercontent.com"], "",
                     None, ADDON_CLIENT_ID.upper(), 42):
        error = error_of(addon("homepage", user_token=google_user_token(aud=audience)))
        assert "issued to another app" in error and "SMARTBCC_GMAIL_ADDON_CLIENT_ID" in error, audience


def test_without_the_add_on_client_id_user_tokens_are_refused(addon, services, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(gmail_addon_client_id=""))
    response = addon("homepage")
    assert response.status_code == 401
    assert "SMARTBCC_GMAIL_ADDON_CLIENT_ID is empty" in error_of(response)


@pytest.fixture
def acme_data(crm, acme, services):
    """What acme has: a customer with one open deal, and a logged message."""
    from backend.models import MailMessage, MailThread

    pat = crm.person(acme.company_id, "Acme Customer Pat", "pat@customer.example")
    deal_id, deal_address = crm.deal(acme.company_id, pat, "Acme secret renewal")
    with services.db.session() as session:
        thread = MailThread(company_id=acme.company_id, owner_id=acme.user_id, subject="Acme pricing", shared=True)
        session.add(thread)
        session.flush()
        session.add(MailMessage(company_id=acme.company_id, thread_id=thread.id, owner_id=acme.user_id,
                                dedupe_key="acme-1@customer.example", message_id_header="acme-1@customer.example",
                                raw_sha256="0" * 64, sender_email="pat@customer.example"))
    return {"deal": deal_id, "deal_address": deal_address}


def test_a_valid_request_for_a_user_of_another_company_sees_only_that_users_company(
        addon, acme, globex, acme_data, published_keys):
    # Google's add-on token is valid; the userIdToken is gary's (globex); everything asks for acme's data.
    gary = globex.email
    home = addon("homepage", gary)
    assert home.status_code == 200
    assert globex.bcc_address in home.get_data(as_text=True) and acme.bcc_address not in home.get_data(as_text=True)

    chosen = addon("bcc-action", gary, params={"item": f"deal:{acme_data['deal']}"}, toRecipients=["pat@customer.example"])
    assert chosen.status_code == 404
    assert acme_data["deal_address"] not in chosen.get_data(as_text=True)

    compose = addon("on-compose", gary, toRecipients=["pat@customer.example"], bccRecipients=[acme.bcc_address])
    text = compose.get_data(as_text=True)
    assert compose.status_code == 200 and globex.bcc_address in text
    assert "Acme secret renewal" not in text and "Acme Customer Pat" not in text and acme_data["deal_address"] not in text

    auto = addon("bcc-action", gary, params={"item": "auto"}, toRecipients=["pat@customer.example"],
                 bccRecipients=[acme_data["deal_address"]])
    bcc = auto.get_json()["renderActions"]["hostAppAction"]["gmailAction"]["updateDraftActionMarkup"][
        "updateBccRecipients"]["bccRecipients"]
    assert bcc == [{"email": globex.bcc_address}]  # acme's deal address is replaced, not kept or used

    published_keys.documents["/gmail/gmail/v1/users/me/messages/m1"] = {"id": "m1", "payload": {"headers": [
        {"name": "Message-ID", "value": "<acme-1@customer.example>"}, {"name": "From", "value": "pat@customer.example"}]}}
    opened = addon("on-message", gary, messageId="m1", accessToken="t")
    text = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "Not logged yet" in text and "Acme" not in text
    # The control: alice, whose company it is, sees it all.
    assert "Acme secret renewal" in addon("on-message", messageId="m1", accessToken="t").get_data(as_text=True)


def test_the_add_on_token_is_not_bound_to_one_user_by_design(addon, google_token, acme, globex):
    # Google sends the same service-account token for every user of the add-on until it expires.
    system = google_token()
    assert acme.bcc_address in addon("homepage", "alice@acme.example", system=system).get_data(as_text=True)
    assert globex.bcc_address in addon("homepage", globex.email, system=system).get_data(as_text=True)


def test_an_add_on_token_for_one_endpoint_cannot_be_replayed_to_another(addon, google_token, services, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(gmail_addon_audience=""))
    for_homepage = google_token(aud=f"{BASE_URL}/addons/gmail/homepage")
    assert addon("homepage", system=for_homepage).status_code == 200
    for endpoint in ("on-compose", "on-message", "bcc-action"):
        assert "another audience" in error_of(addon(endpoint, system=for_homepage, params={"item": "none"}))


@pytest.mark.parametrize("which", ["system", "user"])
def test_a_replayed_google_token_is_refused_once_it_has_expired(addon, google_token, google_user_token, monkeypatch,
                                                                which):
    monkeypatch.setattr(tokens, "LEEWAY_SECONDS", 0)
    expires = int(time.time()) + 2
    system = google_token(exp=expires) if which == "system" else google_token()
    user = google_user_token(exp=expires) if which == "user" else google_user_token()
    assert addon("homepage", system=system, user_token=user).status_code == 200
    assert addon("homepage", system=system, user_token=user).status_code == 200  # within its lifetime: fine
    while time.time() < expires + 0.2:
        time.sleep(0.1)
    assert "expired" in error_of(addon("homepage", system=system, user_token=user))
