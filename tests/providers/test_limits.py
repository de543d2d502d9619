"""Backoff with a cap, Retry-After in both forms, retries that give up, and the per-mailbox concurrency bound."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from backend.providers import limits
from backend.providers.clients import client_for
from backend.providers.limits import RateLimited, RetryLater, Transient, backoff_delay, retry_after_seconds, with_retries

from .conftest import sent_mail


def test_backoff_grows_and_is_capped():
    for attempt in range(12):
        delay = backoff_delay(attempt)
        full = min(limits.BACKOFF_CAP, limits.BACKOFF_BASE * 2 ** attempt)
        assert full / 2 <= delay <= full
    assert max(backoff_delay(30) for _ in range(50)) <= limits.BACKOFF_CAP


def test_retry_after_seconds_or_http_date():
    assert retry_after_seconds("120") == 120
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    assert 80 <= retry_after_seconds(later) <= 91
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_with_retries_gives_up_after_the_attempts(waits):
    calls = []

    def flaky():
        calls.append(1)
        raise Transient("boom")

    with pytest.raises(Transient):
        with_retries(flaky, attempts=3)
    assert len(calls) == 3 and len(waits) == 2


def test_a_long_retry_after_is_not_slept(waits):
    def throttled():
        raise RateLimited("429", retry_after=3600)

    with pytest.raises(RetryLater) as info:
        with_retries(throttled)
    assert info.value.after == 3600 and waits == []


def test_gate_bounds_requests_per_mailbox():
    gate = limits.MailboxGate(limit=3)
    active, peak, lock = [0], [0], threading.Lock()

    def work(key):
        with gate.slot(key):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work, args=("m1",)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3 and gate.peak["m1"] == 3


def test_parallel_jobs_on_one_mailbox_stay_within_the_limit(services, rep, outlook, ms, monkeypatch):
    monkeypatch.setattr(limits, "GATE", limits.MailboxGate(limit=2))
    from backend.providers import graph
    monkeypatch.setattr(graph, "GATE", limits.GATE)
    mails = [ms.add(sent_mail(rep.email, [rep.bcc_address], f"par-{i}@acme.example")) for i in range(8)]
    client = client_for(services, outlook, "outlook")
    original = ms.handle

    def slow(seen):
        time.sleep(0.05)
        return original(seen)

    monkeypatch.setattr(ms, "handle", slow)
    threads = [threading.Thread(target=client.mime, args=(m.id,)) for m in mails]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ms.seen(r"/\$value$")) == 8
    assert ms.peak_in_flight <= 2


def test_the_guard_blocks_microsoft_and_google_hosts(no_real_providers):
    import socket

    import requests

    for host in ("login.microsoftonline.com", "graph.microsoft.com", "oauth2.googleapis.com",
                 "gmail.googleapis.com", "accounts.google.com"):
        with pytest.raises(OSError):
            socket.getaddrinfo(host, 443)
    with pytest.raises(requests.ConnectionError):
        requests.get("https://graph.microsoft.com/v1.0/me", timeout=5)
    assert len(no_real_providers) == 6
    no_real_providers.clear()  # blocked on purpose here; any other test doing this fails


# ---- one round of a batch: which failed parts are sent again

def test_batch_round_drops_gone_parts_and_retries_throttled_ones_after_the_longest_wait():
    from backend.providers.limits import NotFound

    errors = {"gone": NotFound("404"), "slow": RateLimited("429", 7.0), "flaky": Transient("503"),
              "slower": RateLimited("429", 11.0)}
    retry, wait = limits.batch_round(errors, attempt=0, attempts=5, what="batch")
    assert retry == ["slow", "flaky", "slower"] and wait == 11.0


def test_batch_round_waits_with_backoff_when_no_part_says_how_long():
    retry, wait = limits.batch_round({"a": Transient("503")}, attempt=3, attempts=5, what="batch")
    assert retry == ["a"] and 4.0 <= wait <= 8.0


def test_batch_round_retries_expired_token_parts_only_when_asked():
    from backend.providers.limits import AuthExpired

    assert limits.batch_round({"a": AuthExpired("401")}, 0, 5, "batch", retry_expired=True) == (["a"], 0.0)
    with pytest.raises(AuthExpired):
        limits.batch_round({"a": AuthExpired("401")}, 0, 5, "batch")


def test_batch_round_raises_what_it_cannot_retry_and_gives_up_on_the_last_attempt():
    from backend.providers.limits import AuthFailed

    with pytest.raises(AuthFailed):
        limits.batch_round({"a": RateLimited("429", 1.0), "b": AuthFailed("403")}, 0, 5, "batch")
    with pytest.raises(RateLimited) as caught:
        limits.batch_round({"a": RateLimited("429", 3.0)}, attempt=4, attempts=5, what="Graph batch")
    assert caught.value.retry_after == 3.0 and "still throttled" in str(caught.value)
    assert limits.batch_round({}, attempt=4, attempts=5, what="batch") == ([], 0.0)
