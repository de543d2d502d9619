"""Access tokens: cached while valid, renewed with the refresh token, a revoked grant shown as broken; OBO."""
from __future__ import annotations

import pytest

from backend.models import MailboxConnection
from backend.providers import crypto
from backend.providers.connections import TokenSource
from backend.providers.limits import AuthFailed
from backend.providers.oauth_ms import obo_graph_token
from backend.providers.sync import sync_connection

from .conftest import csrf_of


def _conn(services, conn_id) -> MailboxConnection:
    with services.db.session() as session:
        return session.get(MailboxConnection, conn_id)


def _expire(services, conn_id):
    with services.db.session() as session:
        session.get(MailboxConnection, conn_id).access_expires_at = None


def test_a_valid_access_token_is_used_without_a_token_request(services, outlook, ms):
    TokenSource(services, outlook).get()
    assert not ms.seen(r"/token$")


@pytest.mark.parametrize("provider", ["outlook", "gmail"])
def test_an_expired_token_is_renewed_and_stored_encrypted(services, request, ms, google, provider):
    conn_id = request.getfixturevalue(provider)
    book, server = (ms.tokens, ms) if provider == "outlook" else (google.tokens, google)
    book.rotate_refresh = True
    old_refresh = crypto.decrypt(services.settings, _conn(services, conn_id).refresh_token_enc)
    _expire(services, conn_id)
    token = TokenSource(services, conn_id).get()
    [call] = server.seen(r"/token$", "POST")
    assert call.form["grant_type"] == "refresh_token" and call.form["refresh_token"] == old_refresh
    conn = _conn(services, conn_id)
    assert crypto.decrypt(services.settings, conn.access_token_enc) == token
    assert token not in conn.access_token_enc
    if provider == "outlook":  # Microsoft rotates refresh tokens; the new one is kept
        assert crypto.decrypt(services.settings, conn.refresh_token_enc) != old_refresh
    else:  # Google answers without one: the old one stays
        assert crypto.decrypt(services.settings, conn.refresh_token_enc) == old_refresh


@pytest.mark.parametrize("provider", ["outlook", "gmail"])
def test_a_revoked_grant_marks_the_connection_broken_with_the_fix(services, request, ms, google, signed_in,
                                                                    rep, provider):
    conn_id = request.getfixturevalue(provider)
    book = ms.tokens if provider == "outlook" else google.tokens
    book.revoked |= set(book.refresh)
    book.expire_all_access()
    _expire(services, conn_id)
    result = sync_connection(services, conn_id)
    assert result["status"] == "broken"
    conn = _conn(services, conn_id)
    assert conn.status == "broken" and conn.last_error_at is not None
    assert "invalid_grant" in conn.last_error
    label = "Outlook" if provider == "outlook" else "Gmail"
    api = signed_in.get("/api/v1/connections", headers=rep.auth).get_json()["data"]
    shown = next(c for c in api if c["provider"] == provider)
    assert shown["status"] == "broken" and f'Connect {label}' in shown["fix"]
    page = signed_in.get("/settings/connections").get_data(as_text=True)
    assert "Needs reconnecting" in page and f"Connect {label} again" in page and "How to fix it" in page
    # A broken connection is not synced again until the user reconnects.
    assert sync_connection(services, conn_id) == {"skipped": True}
    with pytest.raises(AuthFailed):
        TokenSource(services, conn_id).get()


def test_a_transient_failure_is_retried_then_recorded_as_error(services, outlook, ms, waits):
    from .fake_microsoft import graph_error

    ms.inject(r"/messages/delta$", graph_error(503, "ServiceUnavailable", "try later"), times=5)
    result = sync_connection(services, outlook)
    assert result["status"] == "error"
    assert len(waits) == 4  # five tries, four waits between them
    conn = _conn(services, outlook)
    assert conn.status == "error" and "503" in conn.last_error and conn.failures == 1
    assert conn.next_sync_at > conn.last_error_at  # retried later, with backoff
    # Next run works: the error is cleared.
    from datetime import timedelta
    assert sync_connection(services, outlook, now=conn.next_sync_at + timedelta(seconds=1))["sent_logged"] == 0
    conn = _conn(services, outlook)
    assert conn.status == "connected" and conn.failures == 0


def test_on_behalf_of_exchanges_the_add_in_token(services, ms):
    ms.obo_assertions.add("addin-token-1")
    token = obo_graph_token(services.settings, "addin-token-1")
    assert token in ms.tokens.access
    [call] = ms.seen(r"/oauth2/v2.0/token$", "POST")
    assert call.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert call.form["requested_token_use"] == "on_behalf_of" and call.form["assertion"] == "addin-token-1"
    assert "Mail.Read" in call.form["scope"]


def test_on_behalf_of_without_consent_raises(services, ms):
    with pytest.raises(AuthFailed) as info:
        obo_graph_token(services.settings, "never-consented")
    assert "consent" in info.value.message.lower() or "AADSTS65001" in info.value.message


def test_reconnecting_repairs_a_broken_connection(services, outlook, signed_in, ms, rep):
    from urllib.parse import urlsplit

    import requests

    with services.db.session() as session:
        conn = session.get(MailboxConnection, outlook)
        conn.status, conn.last_error = "broken", "Microsoft no longer accepts the stored grant (invalid_grant)"
    start = signed_in.get("/settings/connections/outlook/start")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    signed_in.get(back.path + "?" + back.query)
    conn = _conn(services, outlook)
    assert conn.status == "connected" and conn.last_error is None and conn.id == outlook
    assert csrf_of(signed_in)
