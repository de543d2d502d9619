"""Failed sign-ins are limited per account email and per client address; successful ones are not counted."""
from __future__ import annotations

import re
import time

import pytest
from flask import request

from backend.app import create_app
from backend.config import ConfigError, Settings, default_of

from .conftest import CSRF_RE, PASSWORD

PER_EMAIL = int(default_of("signin_limit_per_email").split("/")[0])
PER_IP = int(default_of("signin_limit_per_ip").split("/")[0])
WINDOW = int(default_of("signin_limit_per_email").split("/")[1])
VARIABLES = ("SMARTBCC_SIGNIN_LIMIT_PER_EMAIL", "SMARTBCC_SIGNIN_LIMIT_PER_IP", "SMARTBCC_TRUSTED_PROXIES")


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch):
    # The defaults apply unless the environment says otherwise; a test sets its own (env_app).
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def env_app(services, monkeypatch):
    """env_app(**variables) -> the web app whose settings come from the environment with these set,
    read through Settings.from_env like a real process (the database etc. stay the test's)."""
    def make(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        base = services.settings
        services.settings = Settings.from_env(
            instance_dir=base.instance_dir, database_url=base.database_url, secret_key=base.secret_key,
            mail_domain=base.mail_domain, jobs="eager", base_url=base.base_url)
        app = create_app(services=services)
        app.config["TESTING"] = True

        @app.get("/_test/client-address")
        def client_address():
            return {"remote_addr": request.remote_addr, "scheme": request.scheme}

        return app
    return make


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
    assert PER_IP == 50 and default_of("signin_limit_per_ip").endswith("/900")


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


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(env_app, alice):
    app = env_app(SMARTBCC_TRUSTED_PROXIES="1", SMARTBCC_SIGNIN_LIMIT_PER_IP="3/900")
    proxy = "10.0.0.1"
    client = app.test_client()
    # The client wrote a fake first entry; the proxy appended the real peer address.
    fail(client, "a@acme.example", 3, ip=proxy, headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    paused_for(attempt(client, "b@acme.example", "x", ip=proxy,
                       headers={"X-Forwarded-For": "5.6.7.8, 203.0.113.7"}), "from your network")
    # Another client behind the same proxy signs in as usual.
    assert signed_in(attempt(app.test_client(), alice.email, PASSWORD, ip=proxy,
                             headers={"X-Forwarded-For": "198.51.100.20"}))


def test_trusted_proxies_set_the_request_address_through_proxyfix(env_app):
    # The whole app, not only the sign-in, sees the client: request.remote_addr is what the proxy saw.
    headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7", "X-Forwarded-Proto": "https"}
    behind_one = env_app(SMARTBCC_TRUSTED_PROXIES="1").test_client()
    seen = behind_one.get("/_test/client-address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen.get_json() == {"remote_addr": "203.0.113.7", "scheme": "https"}
    behind_two = env_app(SMARTBCC_TRUSTED_PROXIES="2").test_client()
    seen = behind_two.get("/_test/client-address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen.get_json()["remote_addr"] == "1.2.3.4"


def test_without_trusted_proxies_the_forwarded_headers_are_ignored(env_app, alice):
    app = env_app(SMARTBCC_TRUSTED_PROXIES="0", SMARTBCC_SIGNIN_LIMIT_PER_IP="3/900")
    headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7", "X-Forwarded-Proto": "https"}
    seen = app.test_client().get("/_test/client-address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen.get_json() == {"remote_addr": "10.0.0.1", "scheme": "http"}
    client = app.test_client()
    for n in range(3):  # a different forged client each time: all counted on the peer address
        response = attempt(client, f"user{n}@acme.example", "x", ip="10.0.0.1",
                           headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert response.status_code == 401
    paused_for(attempt(client, alice.email, PASSWORD, ip="10.0.0.1", headers={"X-Forwarded-For": "192.0.2.99"}),
               "from your network")


def test_limits_come_from_the_environment(env_app, alice):
    client = env_app(SMARTBCC_SIGNIN_LIMIT_PER_EMAIL="2/900").test_client()
    fail(client, alice.email, 2)
    paused_for(attempt(client, alice.email, PASSWORD), "for this account")


def test_zero_switches_a_limit_off(env_app, alice):
    client = env_app(SMARTBCC_SIGNIN_LIMIT_PER_EMAIL="0", SMARTBCC_SIGNIN_LIMIT_PER_IP="0").test_client()
    fail(client, alice.email, PER_EMAIL + 3)
    assert signed_in(attempt(client, alice.email, PASSWORD))


@pytest.mark.parametrize("name", VARIABLES[:2])
def test_a_malformed_limit_stops_the_start_with_one_sentence(env_app, name):
    with pytest.raises(ConfigError) as raised:
        env_app(**{name: "ten per hour"})
    assert str(raised.value) == f"{name}='ten per hour' is not a limit; write COUNT/SECONDS, e.g. " \
                                f"{default_of(name[len('SMARTBCC_'):].lower())}"


def test_a_malformed_proxy_count_stops_the_start(env_app):
    with pytest.raises(ConfigError, match=r"^SMARTBCC_TRUSTED_PROXIES='one' is not a whole number"):
        env_app(SMARTBCC_TRUSTED_PROXIES="one")


def test_the_pause_ends_with_its_window(env_app, alice):
    client = env_app(SMARTBCC_SIGNIN_LIMIT_PER_EMAIL="2/3").test_client()
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
