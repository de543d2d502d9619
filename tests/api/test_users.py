"""GET /users/me: the signed-in user and company, never a secret."""
from __future__ import annotations

from tests.api.conftest import API, assert_error


def test_me_returns_the_signed_in_user_and_company(client, acme):
    response = client.get(f"{API}/users/me", headers=acme.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    me = body["data"]
    assert me["id"] == acme.user_id
    assert me["email"] == "alice@acme.example"
    assert me["company_id"] == acme.company_id
    assert me["role"] == "admin"
    assert me["company"] == {"id": acme.company_id, "name": "Acme", "domain": "acme.example"}
    assert me["created_at"]


def test_me_answers_for_the_tokens_owner_only(client, acme, globex, make_account):
    member = make_account("acme.example", "mo@acme.example", admin=False, name="Mo Member")
    assert client.get(f"{API}/users/me", headers=globex.auth).get_json()["data"]["email"] == "gary@globex.example"
    data = client.get(f"{API}/users/me", headers=member.auth).get_json()["data"]
    assert (data["id"], data["name"], data["role"]) == (member.user_id, "Mo Member", "member")


def test_me_never_returns_secrets(client, make_account):
    account = make_account("acme.example", "pw@acme.example", password="correct horse battery")
    response = client.get(f"{API}/users/me", headers=account.auth)
    text = response.get_data(as_text=True)
    for secret in ("api_token", "token_hash", "password", account.token, "inbound_secret", "slug"):
        assert secret not in text


def test_me_without_a_token_is_401(client):
    assert_error(client.get(f"{API}/users/me"), 401)


def test_me_does_not_accept_writes(client, acme):
    body = assert_error(client.patch(f"{API}/users/me", json={"role": "admin"}, headers=acme.auth), 405)
    assert "PATCH" in body["error"]
