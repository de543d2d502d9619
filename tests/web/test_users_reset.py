"""Password reset by mail from the sign-in page (issue 20): the same answer for every address, a
signed link that expires and works once, every session ended."""
from __future__ import annotations

import re
import time

from itsdangerous import URLSafeTimedSerializer

from backend.domain import password_reset

from .conftest import CSRF_RE, PASSWORD, sign_in
from .test_users_pages import link_in, outbox_mails

NEW_PASSWORD = "violet tractor umbrella"


def ask(client, email: str):
    token = CSRF_RE.search(client.get("/forgot-password").get_data(as_text=True)).group(1)
    return client.post("/forgot-password", data={"email": email, "csrf_token": token})


def choose(client, link: str, password=NEW_PASSWORD, again=None):
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    return client.post("/reset-password", data={
        "token": re.search(r'name="token" value="([^"]+)"', text).group(1), "password": password,
        "password_again": password if again is None else again, "csrf_token": CSRF_RE.search(text).group(1)})


def flash_after(client, response) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'<p class="flash [^"]+"[^>]*>([^<]+)</p>', page))


def test_the_sign_in_page_links_to_the_reset(client):
    assert 'href="/forgot-password"' in client.get("/sign-in").get_data(as_text=True)


def test_a_known_and_an_unknown_address_get_the_same_answer(app, alice, services):
    known, unknown = app.test_client(), app.test_client()
    first, second = ask(known, alice.email), ask(unknown, "nobody@acme.example")
    assert first.status_code == second.status_code == 302
    said_known = flash_after(known, first)
    said_unknown = flash_after(unknown, second)
    assert "If alice@acme.example belongs to an active Smart Bcc account" in said_known
    assert said_known.replace(alice.email, "X") == said_unknown.replace("nobody@acme.example", "X")
    [mail] = outbox_mails(services, "reset-")  # only the real account got a mail
    assert mail["To"] == alice.email


def test_the_link_sets_a_new_password_works_once_and_ends_every_session(app, alice, services):
    signed_in = app.test_client()
    sign_in(signed_in, alice.email)
    ask(app.test_client(), alice.email)
    link = link_in(outbox_mails(services, "reset-")[0], "/reset-password")
    browser = app.test_client()
    done = choose(browser, link)
    assert done.status_code == 302
    assert "Your new password is set" in flash_after(browser, done)
    assert signed_in.get("/inbox").status_code == 302
    sign_in(app.test_client(), alice.email, NEW_PASSWORD)
    used = app.test_client().get(link)
    assert used.status_code == 410 and "already used" in used.get_data(as_text=True)


def test_a_weak_password_shows_the_error_next_to_its_field_and_keeps_the_link(app, alice, services):
    ask(app.test_client(), alice.email)
    link = link_in(outbox_mails(services, "reset-")[0], "/reset-password")
    client = app.test_client()
    weak = choose(client, link, password="1234567890")
    assert weak.status_code == 400 and 'id="password-error"' in weak.get_data(as_text=True)
    differ = choose(client, link, again="not the same at all")
    assert differ.status_code == 400 and 'id="password_again-error"' in differ.get_data(as_text=True)
    sign_in(app.test_client(), alice.email, PASSWORD)  # unchanged so far
    assert choose(client, link).status_code == 302


def test_an_expired_or_forged_link_is_refused_with_words(app, alice, services, monkeypatch):
    serializer = URLSafeTimedSerializer(services.settings.secret_key, salt="smartbcc.password-reset")
    old = serializer.dumps({"u": alice.user_id, "s": "x"})
    later = time.time() + password_reset.RESET_MINUTES * 60 + 5
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: later)
        expired = app.test_client().get(f"/reset-password?token={old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    forged = URLSafeTimedSerializer("another key", salt="smartbcc.password-reset").dumps({"u": alice.user_id})
    refused = app.test_client().get(f"/reset-password?token={forged}")
    assert refused.status_code == 404 and "not valid" in refused.get_data(as_text=True)


def test_a_deactivated_user_gets_no_reset_mail(app, alice, bert, services):
    from backend.models import User

    with services.db.session() as session:
        session.get(User, bert.user_id).active = False
    ask(app.test_client(), bert.email)
    assert outbox_mails(services, "reset-") == []


def test_an_empty_address_shows_the_error_next_to_the_field(client):
    token = CSRF_RE.search(client.get("/forgot-password").get_data(as_text=True)).group(1)
    response = client.post("/forgot-password", data={"email": "", "csrf_token": token})
    assert response.status_code == 400 and 'id="email-error"' in response.get_data(as_text=True)


def test_reset_requests_are_limited_per_address_without_telling_whether_it_exists(app, alice, services):
    from backend.ratelimit import RateLimiter

    services.limiter = RateLimiter()
    settings = services.settings.with_(signin_limit_per_email="2/900")
    app.extensions["smartbcc"].settings = settings
    for email in (alice.email, "nobody@acme.example"):
        client = app.test_client()
        assert [ask(client, email).status_code for _ in range(3)] == [302, 302, 429]
        refused = ask(client, email)
        assert "Too many password reset requests" in refused.get_data(as_text=True)
        assert refused.headers["Retry-After"]
    assert len(outbox_mails(services, "reset-")) == 2


def test_a_link_of_another_kind_opens_nothing(app, web, alice, services):
    """Each kind of link has its own salt: an invitation's token is no reset token, and back."""
    web.post("/settings/users/invitations", data={"email": "nina@acme.example", "role": "member",
                                                   "csrf_token": web.csrf})
    invitation = link_in(outbox_mails(services, "invite-")[0], "/invitations/accept")
    ask(app.test_client(), alice.email)
    reset = link_in(outbox_mails(services, "reset-")[0], "/reset-password")
    token_of = lambda link: link.split("?token=", 1)[1]  # noqa: E731
    refused = app.test_client().get(f"/reset-password?token={token_of(invitation)}")
    assert refused.status_code == 404 and "not valid" in refused.get_data(as_text=True)
    refused = app.test_client().get(f"/invitations/accept?token={token_of(reset)}")
    assert refused.status_code == 404 and "not valid" in refused.get_data(as_text=True)
    assert app.test_client().get(reset).status_code == 200
