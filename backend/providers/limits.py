"""Provider limits: errors that say how to react, backoff with a cap, and per-mailbox concurrency."""
from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

# Graph allows 4 concurrent requests per app per mailbox; Gmail's per-user
# limits are similar in practice. Both are enforced per process here.
MAX_CONCURRENT_PER_MAILBOX = 4
MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0
# Longer waits than this are not slept through inside a job: the job ends
# with RetryLater and the next run picks the work up.
MAX_INLINE_WAIT = 60.0


class ProviderError(Exception):
    """A provider call failed; ``message`` is shown to the user on the connection."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimited(ProviderError):
    """429, 503 with Retry-After, or Gmail's rateLimitExceeded/userRateLimitExceeded."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(message, status)
        self.retry_after = retry_after


class Transient(ProviderError):
    """A 5xx or a network error: worth trying again."""


class AuthExpired(ProviderError):
    """The access token was refused (401): refresh it once and repeat."""


class AuthFailed(ProviderError):
    """The grant itself is gone (invalid_grant): only reconnecting helps."""


class RetryLater(ProviderError):
    """Stop now and run again later (a long Retry-After, retries used up)."""

    def __init__(self, message: str, after: float):
        super().__init__(message)
        self.after = after


class NotFound(ProviderError):
    """404 from the provider (or 410 for an expired Graph delta token)."""


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff_delay(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with "equal jitter": between half and all of base*2^attempt, capped."""
    full = min(cap, base * (2 ** attempt))
    return full / 2 + random.uniform(0, full / 2)


def batch_round(errors: dict[str, ProviderError], attempt: int, attempts: int, what: str, *,
                retry_expired: bool = False) -> tuple[list[str], float]:
    """What to do with the parts of one batch round that failed: a part that is gone is logged and
    dropped; throttled and transient parts (and, with ``retry_expired``, parts refused for an
    expired token) are sent again, after the longest wait any of them asks for; any other error is
    raised. Returns (ids to send again, seconds to wait first). On the last attempt, parts still
    throttled raise RateLimited, which the sync turns into a later retry."""
    retry, waits = [], []
    for item_id, error in errors.items():
        if isinstance(error, NotFound):
            log.info("%s: message %s is gone from the mailbox", what, item_id[:16])
        elif isinstance(error, AuthExpired) and retry_expired:
            retry.append(item_id)
            waits.append(0.0)
        elif isinstance(error, (RateLimited, Transient)):
            retry.append(item_id)
            waits.append(getattr(error, "retry_after", None) or backoff_delay(attempt))
        else:
            raise error
    wait = max(waits, default=0.0)
    if retry and attempt + 1 >= attempts:
        raise RateLimited(f"{what}: still throttled", wait)
    return retry, wait


def sleep(seconds: float) -> None:
    # A module-level hook so tests can record waits instead of sleeping.
    time.sleep(seconds)


def with_retries(call, *, attempts: int = MAX_ATTEMPTS, what: str = "request"):
    """Runs ``call`` until it succeeds, waiting as the provider asks; re-raises the last error."""
    last: ProviderError | None = None
    for attempt in range(attempts):
        try:
            return call()
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else backoff_delay(attempt)
            if wait > MAX_INLINE_WAIT:
                raise RetryLater(f"{what}: the provider asked to wait {int(wait)} s", wait) from exc
            last = exc
        except Transient as exc:
            wait = backoff_delay(attempt)
            last = exc
        if attempt + 1 < attempts:
            sleep(wait)
    assert last is not None
    raise last


class MailboxGate:
    """At most ``limit`` requests in flight per mailbox within this process."""

    def __init__(self, limit: int = MAX_CONCURRENT_PER_MAILBOX):
        self.limit = limit
        self._lock = threading.Lock()
        self._semaphores: dict[object, threading.BoundedSemaphore] = {}
        self.peak: dict[object, int] = {}
        self._active: dict[object, int] = {}

    @contextmanager
    def slot(self, mailbox_key):
        with self._lock:
            sem = self._semaphores.setdefault(mailbox_key, threading.BoundedSemaphore(self.limit))
        with sem:
            with self._lock:
                self._active[mailbox_key] = self._active.get(mailbox_key, 0) + 1
                self.peak[mailbox_key] = max(self.peak.get(mailbox_key, 0), self._active[mailbox_key])
            try:
                yield
            finally:
                with self._lock:
                    self._active[mailbox_key] -= 1


GATE = MailboxGate()
