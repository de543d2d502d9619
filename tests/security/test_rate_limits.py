"""Rate limits per sender and per company on SMTP, per user and per company on the API."""
from __future__ import annotations

import smtplib

import pytest

from backend.app import create_app
from backend.intake.smtp import start_controller
from backend.ratelimit import Limit, RateLimiter
from backend.services import Services

from .. import isolation
from ..conftest import free_port


def _mail(n: int, sender: str) -> bytes:
    return f"From: {sender}\r\nSubject: n{n}\r\nMessage-ID: <rl-{n}@x.example>\r\n\r\nhi\r\n".encode()


@pytest.fixture
def limited(settings):
    made = []

    def make(**limits):
        services = Services.create(settings.with_(**limits))
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


def test_smtp_sender_over_its_limit_gets_451_471_with_when_to_retry(limited, acme, make_account):
    services = limited(smtp_limit_per_sender="2/60", smtp_limit_per_company="100/60")
    other = make_account("acme.example", "other@acme.example")
    controller = start_controller(services, hostname="127.0.0.1", port=free_port())
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
            for n in range(2):
                assert client.sendmail(acme.email, [acme.bcc_address], _mail(n, acme.email)) == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail(acme.email, [acme.bcc_address], _mail(2, acme.email))
            code, text = refused.value.recipients[acme.bcc_address]
            assert code == 451 and text.startswith(b"4.7.1") and b"retry in" in text
            # Another sender of the same company is not held back by the first one's limit.
            assert client.sendmail(other.email, [acme.bcc_address], _mail(3, other.email)) == {}
    finally:
        controller.stop()


def test_smtp_company_limit_holds_across_senders(limited, acme, make_account):
    services = limited(smtp_limit_per_sender="100/60", smtp_limit_per_company="2/60")
    other = make_account("acme.example", "other@acme.example")
    controller = start_controller(services, hostname="127.0.0.1", port=free_port())
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
            client.sendmail(acme.email, [acme.bcc_address], _mail(0, acme.email))
            client.sendmail(other.email, [acme.bcc_address], _mail(1, other.email))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail(other.email, [acme.bcc_address], _mail(2, other.email))
    finally:
        controller.stop()


def test_api_user_limit_answers_429_with_retry_after(limited, acme, globex):
    services = limited(api_limit_per_user="3/60", api_limit_per_company="100/60")
    client = create_app(services=services).test_client()
    for _ in range(3):
        assert client.get("/api/v1/users/me", headers=acme.auth).status_code == 200
    response = client.get("/api/v1/users/me", headers=acme.auth)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1 and "retry in" in response.json["error"]
    assert client.get("/api/v1/users/me", headers=globex.auth).status_code == 200


def test_limits_are_shared_through_redis_by_processes(settings):
    url = isolation.redis_url(15)
    first, second = RateLimiter(url), RateLimiter(url)
    first.counter.redis.flushdb()
    limit = Limit(3, 60)
    verdicts = [limiter.hit("shared-key", limit).allowed for limiter in (first, second, first, second)]
    assert verdicts == [True, True, True, False]


def test_limit_parsing():
    assert Limit.parse("120/60") == Limit(120, 60)
    assert Limit.parse("") is None and Limit.parse("0") is None
