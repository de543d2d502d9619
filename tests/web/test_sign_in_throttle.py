"""Failed sign-ins are limited per account email and per client address; successful ones are not counted."""
from __future__ import annotations

import re
import time

import pytest

from backend.web import auth

from .conftest import CSRF_RE, PASSWORD

PER_EMAIL = int(auth.SIGNIN_LIMIT_PER_EMAIL.split("/")[0])
PER_IP = int(auth.SIGNIN_LIMIT_PER_IP.split("/")[0])
WINDOW = int(auth.SIGNIN_LIMIT_PER_EMAIL.split("/")[1])


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch):
    # The module constants apply unless the environment says otherwise; a test sets its own.
    for name in ("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "SMARTBCC_SIGNIN_LIMIT_PER_IP", "SMARTBCC_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)


def attempt(client, email: str, password: str, ip: str = "127.0.0.1", headers: dict | None = None):
    """One sign-in through the form, as a browser at ``ip`` would send it (fresh CSRF token each time)."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get("/sign-in", environ_base=environ)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ, headers=headers or {})


def fail(client, email: str, times: int, ip: str = "127.0.0.1", headers: dict | None = None) -> None:
    for n in range(times):
        response = attempt(client, email, f"wrong password {n}", ip, headers)
        assert response.status_code == 401, (n, response.status_code)


def signed_in(response) -> bool:
    return response.status_code == 302


def paused_for(response, words: str) -> int:
    """The seconds the 429 page tells the user to wait; checks the page and the Retry-After header."""
    html = response.get_data(as_text=True)
    assert response.status_code == 429, html[:300]
    assert "text/html" in response.content_type
    assert words in html
    match = re.search(r"retry in (\d+) seconds \(about (\d+) minutes?\)", html)
    assert match, html
    seconds = int(match.group(1))
    assert response.headers["Retry-After"] == str(seconds)
    assert 0 < seconds <= WINDOW + 1
    assert 'role="alert"' in html and 'name="password"' in html  # the form is still there, in plain words
    assert "Traceback" not in html
    return seconds


def test_the_defaults_are_sensible():
    assert (PER_EMAIL, WINDOW) == (10, 900)
    assert PER_IP == 50 and auth.SIGNIN_LIMIT_PER_IP.endswith("/900")


def test_an_account_is_paused_after_too_many_failures_even_with_the_right_password(client, alice):
    fail(client, alice.email, PER_EMAIL)
    response = attempt(client, alice.email, PASSWORD)
    paused_for(response, "Too many failed sign-in attempts for this account")
    assert 'value="alice@acme.example"' in response.get_data(as_text=True)  # the form keeps the address
    assert client.get("/inbox").status_code == 302  # not signed in
    # Wrong guesses are refused the same way: guessing on tells nothing.
    assert attempt(client, alice.email, "another guess").status_code == 429


def test_the_last_allowed_failure_is_still_an_ordinary_refusal(client, alice):
    fail(client, alice.email, PER_EMAIL - 1)
    last = attempt(client, alice.email, "still wrong")
    assert last.status_code == 401 and "do not match an account" in last.get_data(as_text=True)
    assert attempt(client, alice.email, PASSWORD).status_code == 429


def test_successful_sign_ins_are_not_counted(app, alice):
    for _ in range(PER_EMAIL + 5):
        client = app.test_client()
        assert signed_in(attempt(client, alice.email, PASSWORD))
    fail(app.test_client(), alice.email, PER_EMAIL - 1)
    assert signed_in(attempt(app.test_client(), alice.email, PASSWORD))
    fail(app.test_client(), alice.email, 1)  # the 10th failure: the successes did not add to it
    assert attempt(app.test_client(), alice.email, PASSWORD).status_code == 429


def test_the_address_is_counted_whatever_its_case(client, alice):
    fail(client, "ALICE@Acme.Example", PER_EMAIL)
    paused_for(attempt(client, " alice@acme.example ", PASSWORD), "for this account")


def test_unknown_addresses_are_limited_alike_so_the_limit_reveals_no_account(client, alice):
    fail(client, "nobody@acme.example", PER_EMAIL)
    unknown = attempt(client, "nobody@acme.example", "x")
    fail(client, alice.email, PER_EMAIL)
    known = attempt(client, alice.email, "x")
    assert unknown.status_code == known.status_code == 429
    strip = re.compile(r"\d+ seconds \(about \d+ minutes?\)|value=\"[^\"]*\"|content=\"[^\"]*\"")
    assert strip.sub("", unknown.get_data(as_text=True)) == strip.sub("", known.get_data(as_text=True))


def test_one_account_paused_does_not_pause_a_colleague(app, alice, bert):
    client = app.test_client()
    fail(client, alice.email, PER_EMAIL)
    assert attempt(client, alice.email, PASSWORD).status_code == 429
    assert signed_in(attempt(app.test_client(), bert.email, PASSWORD))


def test_empty_fields_and_forms_without_a_token_are_not_counted(client, alice):
    for _ in range(PER_EMAIL + 2):
        assert attempt(client, alice.email, "").status_code == 401
        assert client.post("/sign-in", data={"email": alice.email, "password": "x"}).status_code == 400
    assert signed_in(attempt(client, alice.email, PASSWORD))


def test_one_address_spraying_many_accounts_is_paused(app, alice):
    client = app.test_client()
    for n in range(PER_IP):
        # Never more than one failure per account: only the per-address limit can catch this.
        assert attempt(client, f"user{n}@acme.example", "Winter2025!", ip="203.0.113.7").status_code == 401
    response = attempt(client, alice.email, PASSWORD, ip="203.0.113.7")
    paused_for(response, "Too many failed sign-in attempts from your network")
    # Alice herself, from her own address, is not affected.
    assert signed_in(attempt(app.test_client(), alice.email, PASSWORD, ip="198.51.100.20"))


def test_a_forged_forwarded_for_header_does_not_escape_the_address_limit(app, alice):
    # No trusted proxy is configured: X-Forwarded-For is the client's own words and is ignored.
    client = app.test_client()
    for n in range(PER_IP):
        response = attempt(client, f"user{n}@acme.example", "x", ip="203.0.113.7",
                           headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert response.status_code == 401
    paused_for(attempt(client, alice.email, PASSWORD, ip="203.0.113.7",
                       headers={"X-Forwarded-For": "192.0.2.250"}), "from your network")


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(app, alice, monkeypatch):
    monkeypatch.setenv("SMARTBCC_TRUSTED_PROXIES", "1")
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_IP", "3/900")
    proxy = "10.0.0.1"
    client = app.test_client()
    # The client wrote a fake first entry; the proxy appended the real peer address.
    fail(client, "a@acme.example", 3, ip=proxy, headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    paused_for(attempt(client, "b@acme.example", "x", ip=proxy,
                       headers={"X-Forwarded-For": "5.6.7.8, 203.0.113.7"}), "from your network")
    # Another client behind the same proxy signs in as usual.
    assert signed_in(attempt(app.test_client(), alice.email, PASSWORD, ip=proxy,
                             headers={"X-Forwarded-For": "198.51.100.20"}))


def test_limits_come_from_the_environment(client, alice, monkeypatch):
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "2/900")
    fail(client, alice.email, 2)
    paused_for(attempt(client, alice.email, PASSWORD), "for this account")


def test_zero_switches_a_limit_off(client, alice, monkeypatch):
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "0")
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_IP", "0")
    fail(client, alice.email, PER_EMAIL + 3)
    assert signed_in(attempt(client, alice.email, PASSWORD))


def test_a_malformed_setting_falls_back_to_the_default(client, alice, monkeypatch):
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "ten per hour")
    fail(client, alice.email, PER_EMAIL)
    assert attempt(client, alice.email, PASSWORD).status_code == 429


def test_the_pause_ends_with_its_window(client, alice, monkeypatch):
    monkeypatch.setenv("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "2/3")
    while time.time() % 3 > 0.3:  # start at the beginning of a window, so all three attempts fall in it
        time.sleep(0.05)
    fail(client, alice.email, 2)
    seconds = paused_for(attempt(client, alice.email, PASSWORD), "for this account")
    assert seconds <= 4
    time.sleep(seconds + 0.1)
    assert signed_in(attempt(client, alice.email, PASSWORD))


def test_the_limits_hold_across_processes_sharing_the_limiter(settings, alice):
    # Two app instances (two gunicorn workers) over the same counter: the pause holds in both.
    from backend.app import create_app
    from backend.services import Services

    first, second = Services.create(settings), Services.create(settings)
    try:
        second.limiter = first.limiter  # what SMARTBCC_RATE_LIMIT_REDIS_URL gives real processes
        one, two = create_app(services=first).test_client(), create_app(services=second).test_client()
        fail(one, alice.email, PER_EMAIL // 2)
        fail(two, alice.email, PER_EMAIL - PER_EMAIL // 2)
        assert attempt(one, alice.email, PASSWORD).status_code == 429
        assert attempt(two, alice.email, PASSWORD).status_code == 429
    finally:
        first.close()
        second.close()


def test_an_unavailable_limiter_locks_nobody_out(client, alice, services, monkeypatch):
    class Broken:
        def incr(self, *args):
            raise ConnectionError("redis down")

        def get(self, *args):
            raise ConnectionError("redis down")

    monkeypatch.setattr(services.limiter, "counter", Broken())
    fail(client, alice.email, PER_EMAIL + 2)
    assert signed_in(attempt(client, alice.email, PASSWORD))
