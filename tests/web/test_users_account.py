"""Settings > Your account (issue 20): password change, personal API tokens, other sessions; a
deactivated user's tokens and add-in calls refused at once; `make run` keeps a changed demo password."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.addins.tokens import TokenError, user_for_address
from backend.domain import users
from backend.models import User
from backend.models.company import ApiToken

from .conftest import PASSWORD, sign_in

NEW_PASSWORD = "violet tractor umbrella"
ME = "/api/v1/users/me"
RESOLVE = "/api/v1/addin/resolve"


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post("/settings/account/password", data={
        "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again, "csrf_token": client.csrf})


def make_token(client, name="CRM sync") -> tuple[int, str]:
    response = client.post("/settings/account/tokens", data={"name": name, "csrf_token": client.csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    token = re.search(r'<code id="new-token-value" class="address">(sbc_[^<]+)</code>', response.get_data(as_text=True))
    assert token, response.get_data(as_text=True)
    return response, token.group(1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_account_page_shows_who_you_are(web):
    text = web.get("/settings/account").get_data(as_text=True)
    assert "alice@acme.example" in text and "Admin of Acme" in text


def test_the_password_changes_and_other_sessions_end(app, web, alice):
    other = app.test_client()
    sign_in(other, alice.email)
    response = change_password(web)
    assert response.status_code == 302
    assert web.get("/inbox").status_code == 200  # this session stays
    assert other.get("/inbox").status_code == 302  # the other one is signed out
    sign_in(app.test_client(), alice.email, NEW_PASSWORD)


@pytest.mark.parametrize("current, new, again, field, words", [
    ("wrong password!!", NEW_PASSWORD, None, "current_password", "not your current password"),
    ("", NEW_PASSWORD, None, "current_password", "Enter your current password"),
    (PASSWORD, "short", None, "new_password", "at least 10 characters"),
    (PASSWORD, "qwertyuiop123", None, "new_password", "most common passwords"),
    (PASSWORD, "alice@acme.example", None, "new_password", "email address"),
    (PASSWORD, NEW_PASSWORD, "something else", "new_password_again", "differ"),
    (PASSWORD, PASSWORD, None, "new_password", "same as the current one"),
])
def test_a_refused_password_change_shows_the_error_next_to_its_field(app, web, alice, current, new, again, field,
                                                                      words):
    response = change_password(web, current, new, again)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in text and words in text
    sign_in(app.test_client(), alice.email, PASSWORD)  # unchanged


def test_a_personal_token_is_shown_once_works_records_its_use_and_is_revoked(app, web, alice, services):
    response, token = make_token(web)
    assert "not shown again" in response.get_data(as_text=True)
    page = web.get("/settings/account").get_data(as_text=True)
    assert "CRM sync" in page and token not in page and "last used: never" in page
    with services.db.session() as session:
        entry = session.scalar(select(ApiToken))
        assert entry.token_hash != token and token not in entry.token_hash
    client = app.test_client()
    assert client.get(ME, headers=bearer(token)).get_json()["data"]["email"] == alice.email
    with services.db.session() as session:
        used = session.scalar(select(ApiToken.last_used_at))
    assert used is not None
    assert "last used: never" not in web.get("/settings/account").get_data(as_text=True)
    # The account token from `smartbcc user create` keeps working beside it.
    assert client.get(ME, headers=alice.auth).status_code == 200
    revoked = web.post(f"/settings/account/tokens/{entry.id}/revoke", data={"csrf_token": web.csrf})
    assert revoked.status_code == 302
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert client.get(ME, headers=alice.auth).status_code == 200
    assert "Revoked" in web.get("/settings/account").get_data(as_text=True)


def test_the_account_token_can_be_revoked(app, web, alice):
    assert web.post("/settings/account/account-token/revoke", data={"csrf_token": web.csrf}).status_code == 302
    assert app.test_client().get(ME, headers=alice.auth).status_code == 401
    assert "Account token" not in web.get("/settings/account").get_data(as_text=True)


def test_last_use_is_written_at_most_once_a_minute(services, alice):
    with services.db.session() as session:
        session.add(ApiToken(company_id=alice.company_id, user_id=alice.user_id, name="t", token_hash="h" * 64))
    with services.db.session() as session:
        token_id = session.scalar(select(ApiToken.id))
        start = datetime.now(timezone.utc)
        assert users.mark_used(session, token_id, start)
        assert not users.mark_used(session, token_id, start + timedelta(seconds=30))
        assert users.mark_used(session, token_id, start + timedelta(seconds=61))


def test_a_token_name_is_required_and_shown_next_to_the_field(web):
    response = web.post("/settings/account/tokens", data={"name": "  ", "csrf_token": web.csrf})
    assert response.status_code == 400 and 'id="name-error"' in response.get_data(as_text=True)


def test_another_users_token_cannot_be_revoked(app, web, bert, services):
    member = app.test_client()
    member.csrf = sign_in(member, bert.email)
    _response, token = make_token(member, "bert's")
    with services.db.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert web.post(f"/settings/account/tokens/{token_id}/revoke", data={"csrf_token": web.csrf}).status_code == 404
    assert "bert&#39;s" not in web.get("/settings/account").get_data(as_text=True)
    assert app.test_client().get(ME, headers=bearer(token)).status_code == 200


def test_sign_out_other_sessions_keeps_this_one(app, web, alice, services):
    other = app.test_client()
    sign_in(other, alice.email)
    assert web.post("/settings/account/sessions/sign-out-others", data={"csrf_token": web.csrf}).status_code == 302
    assert web.get("/inbox").status_code == 200
    assert other.get("/inbox").status_code == 302
    # API tokens are not sessions: they keep working.
    assert app.test_client().get(ME, headers=alice.auth).status_code == 200


def test_a_deactivated_users_tokens_add_in_calls_and_sessions_are_refused_at_once(app, web, bert, services):
    member = app.test_client()
    member.csrf = sign_in(member, bert.email)
    _response, personal = make_token(member)
    api = app.test_client()
    for token in (personal, bert.token):
        assert api.get(ME, headers=bearer(token)).status_code == 200
        assert api.post(RESOLVE, json={}, headers=bearer(token)).status_code == 200
    with services.db.session() as session:
        assert user_for_address(session, bert.email).id == bert.user_id  # the Microsoft/Google token path
    assert web.post(f"/settings/users/{bert.user_id}/deactivate", data={"csrf_token": web.csrf}).status_code == 302
    for token in (personal, bert.token):
        assert api.get(ME, headers=bearer(token)).status_code == 401
        refused = api.post(RESOLVE, json={}, headers=bearer(token))
        assert refused.status_code == 401 and "deactivated" in refused.get_json()["error"]
    with services.db.session() as session:
        with pytest.raises(TokenError, match="an admin of your company deactivated this account"):
            user_for_address(session, bert.email)
    assert member.get("/inbox").status_code == 302
    assert member.get("/app-api/search?q=x").status_code == 401
    # Reactivated: the same tokens work again (they were not revoked).
    assert web.post(f"/settings/users/{bert.user_id}/reactivate", data={"csrf_token": web.csrf}).status_code == 302
    assert api.get(ME, headers=bearer(personal)).status_code == 200


def test_make_run_keeps_a_demo_password_the_user_changed(services):
    from backend.demo import DEMO_ADMIN, DEMO_REP, demo_credentials, seed_demo
    from backend.security import check_password

    printed, _token = demo_credentials(services.settings)
    seed_demo(services)
    with services.db.session() as session:
        admin = session.scalar(select(User).where(User.email == DEMO_ADMIN))
        users.set_password(admin, NEW_PASSWORD)
        # The rep's password was reset by someone with the database, not chosen: the seed restores it.
        rep = session.scalar(select(User).where(User.email == DEMO_REP))
        rep.password_hash = None
    info = seed_demo(services)
    with services.db.session() as session:
        admin = session.scalar(select(User).where(User.email == DEMO_ADMIN))
        rep = session.scalar(select(User).where(User.email == DEMO_REP))
        assert check_password(admin.password_hash, NEW_PASSWORD)
        assert check_password(rep.password_hash, printed)
    banner = info.banner(services.settings)
    assert f"{DEMO_ADMIN} / (the password you chose; kept)" in banner
    assert f"{DEMO_REP} / {printed}" in banner
