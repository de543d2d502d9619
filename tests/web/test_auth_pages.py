"""Signing in and out of the pages: failures in plain words, safe redirects, session rules."""
from __future__ import annotations

import pytest

from .conftest import CSRF_RE, PASSWORD, sign_in


def _form_token(client) -> str:
    return CSRF_RE.search(client.get("/sign-in").get_data(as_text=True)).group(1)


def test_start_page_signed_out_shows_sign_in_and_demo_hint(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="password"' in html and 'for="password"' in html
    assert "make run" in html and "admin@demo.example" in html


@pytest.mark.parametrize(("email", "password"), [
    ("alice@acme.example", "wrong password"),
    ("nobody@acme.example", PASSWORD),
    ("ALICE@ACME.EXAMPLE", "wrong password"),
])
def test_wrong_email_or_password_is_refused_with_one_message(client, alice, email, password):
    response = client.post("/sign-in", data={"email": email, "password": password,
                                             "csrf_token": _form_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "do not match an account" in html
    assert client.get("/inbox").status_code == 302


def test_empty_fields_say_what_is_missing(client, alice):
    response = client.post("/sign-in", data={"email": "", "password": "", "csrf_token": _form_token(client)})
    assert response.status_code == 401
    assert "Enter your email address and your password" in response.get_data(as_text=True)


def test_user_without_password_cannot_sign_in(client, make_account):
    account = make_account("acme.example", "nopass@acme.example")
    response = client.post("/sign-in", data={"email": account.email, "password": "anything-at-all",
                                             "csrf_token": _form_token(client)})
    assert response.status_code == 401


def test_switched_off_user_is_told_to_ask_the_admin(client, alice, services):
    from backend.models import User

    with services.db.session() as session:
        session.get(User, alice.user_id).active = False
    response = client.post("/sign-in", data={"email": alice.email, "password": PASSWORD,
                                             "csrf_token": _form_token(client)})
    assert response.status_code == 401
    assert "switched off" in response.get_data(as_text=True)


def test_email_is_case_insensitive_and_sign_in_lands_on_next(client, alice):
    response = client.post("/sign-in", data={"email": " Alice@Acme.Example ", "password": PASSWORD,
                                             "next": "/inbox", "csrf_token": _form_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_site(client, alice, target):
    response = client.post("/sign-in", data={"email": alice.email, "password": PASSWORD, "next": target,
                                             "csrf_token": _form_token(client)})
    assert response.headers["Location"] == "/"


def test_signed_out_page_request_goes_to_sign_in_and_back(client, alice):
    response = client.get("/inbox?q=abc")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    page = client.get(response.headers["Location"])
    assert 'value="/inbox?q=abc"' in page.get_data(as_text=True)


def test_sign_out_ends_the_session(client, alice):
    token = sign_in(client, alice.email)
    assert client.get("/inbox").status_code == 200
    response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/inbox").status_code == 302


def test_password_change_signs_out_existing_sessions(client, alice, services):
    from backend.models import User
    from backend.security import hash_password

    sign_in(client, alice.email)
    with services.db.session() as session:
        session.get(User, alice.user_id).password_hash = hash_password("a brand new password")
    assert client.get("/inbox").status_code == 302


def test_session_cookie_does_not_authenticate_the_api(client, alice):
    sign_in(client, alice.email)
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.is_json


def test_app_api_signed_out_answers_json_401(client):
    response = client.get("/app-api/search?type=deal&term=x")
    assert response.status_code == 401
    assert response.get_json()["success"] is False
