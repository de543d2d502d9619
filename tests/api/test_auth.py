"""Bearer-token authentication: every endpoint answers 401 without a valid, active user's token."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from backend.accounts import rotate_api_token
from backend.models import User
from tests.api.conftest import ALL, API, assert_error

ROUTES = [("GET", "/users/me"), ("GET", "/users")]
for _res in ALL:
    ROUTES += [("GET", f"/{_res.name}"), ("POST", f"/{_res.name}")]
    ROUTES += [(m, f"/{_res.name}/1") for m in ("GET", "PATCH", "PUT", "DELETE")]
# The blueprints whose routes ROUTES must cover completely.
COVERED_BLUEPRINTS = ("api.persons.", "api.items.", "api.users.")


def _call(client, method, path, headers):
    body = {"name": "x", "title": "x"} if method in ("POST", "PATCH", "PUT") else None
    return client.open(API + path, method=method, json=body, headers=headers)


def _assert_401(response):
    body = assert_error(response, 401)
    assert "Bearer" in response.headers.get("WWW-Authenticate", "")
    assert "token" in body["error"].lower()


def _set_active(services, user_id, active):
    with services.db.session() as session:
        session.get(User, user_id).active = active


def test_routes_list_covers_every_crud_and_user_route(app):
    actual = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(COVERED_BLUEPRINTS):
            path = rule.rule.removeprefix(API).replace("<int:item_id>", "1")
            actual |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert actual == set(ROUTES)


@pytest.mark.parametrize("method,path", ROUTES)
def test_missing_authorization_header_is_401(client, acme, method, path):
    _assert_401(_call(client, method, path, {}))


@pytest.mark.parametrize("method,path", ROUTES)
def test_unknown_token_is_401(client, acme, method, path):
    _assert_401(_call(client, method, path, {"Authorization": "Bearer sbc_not-a-real-token"}))


@pytest.mark.parametrize("method,path", ROUTES)
def test_token_of_an_inactive_user_is_401(client, services, acme, method, path):
    _set_active(services, acme.user_id, False)
    _assert_401(_call(client, method, path, acme.auth))


@pytest.mark.parametrize("header", [
    pytest.param(lambda t: f"Token {t}", id="token-scheme"),
    pytest.param(lambda t: "Basic " + base64.b64encode(f"alice:{t}".encode()).decode(), id="basic"),
    pytest.param(lambda t: t, id="no-scheme"),
    pytest.param(lambda t: "Bearer", id="scheme-only"),
    pytest.param(lambda t: "Bearer    ", id="blank-token"),
    pytest.param(lambda t: f"Bearer {t}x", id="token-plus-junk"),
    pytest.param(lambda t: f"Bearer {t[:-1]}", id="truncated-token"),
    pytest.param(lambda t: f"Bearer{t}", id="no-space"),
])
def test_malformed_authorization_is_401(client, acme, header):
    _assert_401(client.get(f"{API}/users/me", headers={"Authorization": header(acme.token)}))


def test_the_bearer_scheme_name_is_case_insensitive(client, acme):
    response = client.get(f"{API}/users/me", headers={"Authorization": f"bearer {acme.token}"})
    assert response.status_code == 200


def test_a_rejected_create_stores_nothing(client, acme):
    _assert_401(client.post(f"{API}/deals", json={"title": "sneaky"}))
    assert client.get(f"{API}/deals", headers=acme.auth).get_json()["data"] == []


def test_a_user_made_active_again_is_let_in(client, services, acme):
    _set_active(services, acme.user_id, False)
    _assert_401(client.get(f"{API}/users/me", headers=acme.auth))
    _set_active(services, acme.user_id, True)
    assert client.get(f"{API}/users/me", headers=acme.auth).status_code == 200


def test_a_rotated_token_stops_working_and_the_new_one_works(client, services, acme):
    with services.db.session() as session:
        new_token = rotate_api_token(session.get(User, acme.user_id))
    _assert_401(client.get(f"{API}/users/me", headers=acme.auth))
    response = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {new_token}"})
    assert response.status_code == 200


def test_tokens_are_stored_only_as_hashes(services, acme):
    with services.db.session() as session:
        stored = session.scalar(select(User.api_token_hash).where(User.id == acme.user_id))
    assert stored and acme.token not in stored


def test_openapi_document_needs_no_token(client):
    assert client.get(f"{API}/openapi.json").status_code == 200
