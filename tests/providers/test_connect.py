"""Connecting Outlook (MSAL) and Gmail (authlib) from Settings > Connections, against the local servers."""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from backend.models import MailboxConnection
from backend.providers import crypto

from .conftest import csrf_of


def _follow_consent(client, provider: str):
    """Start -> the provider's authorize endpoint (the user consents) -> our callback."""
    start = client.get(f"/settings/connections/{provider}/start")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    auth_url = start.headers["Location"]
    # The fake authorize endpoint stands in for the browser at Microsoft/Google.
    consent = requests.get(auth_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    callback = urlsplit(consent.headers["Location"])
    done = client.get(callback.path + "?" + callback.query)
    return auth_url, done


def _connection(services, user_id, provider):
    with services.db.session() as session:
        return session.scalar(select(MailboxConnection).where(
            MailboxConnection.user_id == user_id, MailboxConnection.provider == provider))


def test_connect_outlook_runs_the_authorization_code_flow(signed_in, services, rep, ms):
    auth_url, done = _follow_consent(signed_in, "outlook")
    parts = urlsplit(auth_url)
    query = parse_qs(parts.query)
    assert parts.path == "/organizations/oauth2/v2.0/authorize"
    assert query["client_id"] == ["ms-client-id"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/settings/connections/outlook/callback"]
    scopes = set(query["scope"][0].split())
    assert {"offline_access", "openid", "profile"} <= scopes
    assert any(s.endswith("/Mail.Read") for s in scopes)
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    assert query["login_hint"] == [rep.email]

    assert done.status_code == 302 and done.headers["Location"].endswith("/settings/connections")
    [token_call] = ms.seen(r"/oauth2/v2.0/token$", "POST")
    assert token_call.form["grant_type"] == "authorization_code"
    assert token_call.form["code_verifier"] and token_call.form["client_secret"] == "ms-client-secret"
    assert "offline_access" in token_call.form["scope"]

    conn = _connection(services, rep.user_id, "outlook")
    assert conn.status == "connected" and conn.account_email == "alice@acme.example"
    refresh_plain = crypto.decrypt(services.settings, conn.refresh_token_enc)
    assert refresh_plain in ms.tokens.refresh
    assert refresh_plain not in conn.refresh_token_enc  # encrypted at rest

    page = signed_in.get("/settings/connections").get_data(as_text=True)
    assert "Outlook is connected (alice@acme.example)" in page
    assert "Connected" in page and "Disconnect" in page


def test_connect_gmail_asks_for_offline_access_and_reads_the_profile(signed_in, services, rep, google):
    auth_url, done = _follow_consent(signed_in, "gmail")
    query = parse_qs(urlsplit(auth_url).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert "https://www.googleapis.com/auth/gmail.readonly" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert done.status_code == 302
    [token_call] = google.seen(r"^/token$", "POST")
    assert token_call.form["grant_type"] == "authorization_code" and token_call.form["code_verifier"]
    assert google.seen(r"^/gmail/v1/users/me/profile$")
    conn = _connection(services, rep.user_id, "gmail")
    assert conn.account_email == "alice@acme.example"
    assert conn.sync_cursor == str(google.history)  # the sync starts from the history id at connect time


def test_gmail_without_the_gmail_scope_is_not_connected(signed_in, services, rep, google):
    google.granted_scope = "openid email"
    _auth, done = _follow_consent(signed_in, "gmail")
    page = signed_in.get(done.headers["Location"]).get_data(as_text=True)
    assert "Read access to Gmail was not granted" in page
    assert _connection(services, rep.user_id, "gmail") is None


def test_denied_consent_is_explained_and_stores_nothing(signed_in, services, rep):
    signed_in.get("/settings/connections/outlook/start")
    state_less = signed_in.get("/settings/connections/outlook/callback?error=access_denied"
                               "&error_description=AADSTS65004%3A+User+declined+to+consent.")
    page = signed_in.get(state_less.headers["Location"]).get_data(as_text=True)
    assert "Outlook was not connected" in page and "access_denied" in page
    assert _connection(services, rep.user_id, "outlook") is None


def test_a_callback_not_started_in_this_session_is_refused(signed_in, services, rep, ms):
    response = signed_in.get("/settings/connections/outlook/callback?code=stolen&state=whatever")
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "was not started here" in page
    assert not ms.seen(r"/token$")
    assert _connection(services, rep.user_id, "outlook") is None


def test_unconfigured_provider_says_so(signed_in, services, app):
    services.settings = services.settings.with_(google_client_id="")
    response = signed_in.get("/settings/connections/gmail/start")
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Gmail is not set up" in page


def test_pages_need_a_signed_in_user(client):
    response = client.get("/settings/connections")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.get("/settings/connections/outlook/start").status_code == 302


def test_unknown_provider_is_404(signed_in):
    assert signed_in.get("/settings/connections/yahoo/start").status_code == 404


def test_disconnect_needs_the_csrf_token_and_forgets_the_grant(signed_in, services, rep, outlook):
    refused = signed_in.post("/settings/connections/outlook/disconnect")
    assert refused.status_code == 400
    assert _connection(services, rep.user_id, "outlook") is not None
    done = signed_in.post("/settings/connections/outlook/disconnect", data={"csrf_token": csrf_of(signed_in)})
    assert done.status_code == 302
    assert _connection(services, rep.user_id, "outlook") is None


def test_api_lists_and_deletes_connections(client, rep, outlook):
    listed = client.get("/api/v1/connections", headers=rep.auth).get_json()["data"]
    by = {c["provider"]: c for c in listed}
    assert by["outlook"]["status"] == "connected" and by["outlook"]["account_email"] == rep.email
    assert by["gmail"] == {**by["gmail"], "connected": False, "status": "not_connected", "configured": True}
    assert "refresh" not in str(listed).lower()
    assert client.delete("/api/v1/connections/outlook", headers=rep.auth).get_json()["data"] == \
        {"provider": "outlook", "connected": False}
    assert client.delete("/api/v1/connections/outlook", headers=rep.auth).status_code == 404
    assert client.delete("/api/v1/connections/yahoo", headers=rep.auth).status_code == 404
    assert client.get("/api/v1/connections").status_code == 401


def test_api_connections_are_per_user(client, rep, outlook, make_account):
    colleague = make_account("acme.example", "carol@acme.example")
    listed = client.get("/api/v1/connections", headers=colleague.auth).get_json()["data"]
    assert all(not c["connected"] for c in listed)
    assert client.delete("/api/v1/connections/outlook", headers=colleague.auth).status_code == 404


@pytest.mark.parametrize("provider", ["outlook", "gmail"])
def test_no_token_reaches_the_logs_during_connect_and_refresh(signed_in, services, rep, ms, google, caplog,
                                                              provider):
    from backend.providers.connections import TokenSource

    caplog.set_level(logging.DEBUG)
    _follow_consent(signed_in, provider)
    conn = _connection(services, rep.user_id, provider)
    book = ms.tokens if provider == "outlook" else google.tokens
    book.expire_all_access()
    with services.db.session() as session:
        session.get(MailboxConnection, conn.id).access_expires_at = None
    TokenSource(services, conn.id).get()  # a refresh
    assert len(book.issued) >= 3
    text = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert text  # the libraries and our code did log
    for token in book.issued:
        assert token not in text
