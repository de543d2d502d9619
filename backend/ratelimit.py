"""Fixed-window rate limits per company, per sender and per user; in memory or shared through Redis."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Limit | None":
        """``"120/60"`` = 120 per 60 seconds; empty or ``0`` = no limit."""
        text = (text or "").strip()
        if not text or text == "0":
            return None
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class MemoryCounter:
    """One process's counters (the embedded default)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def incr(self, key: str, window: int, seconds: int) -> int:
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._windows[key] = (start, count)
            if len(self._windows) > 100_000:  # forget old windows rather than grow forever
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            return count

    def get(self, key: str, window: int) -> int:
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            return count if start == window else 0


class RedisCounter:
    """Counters shared by every process, so limits hold when scaled out."""

    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def incr(self, key: str, window: int, seconds: int) -> int:
        name = f"smartbcc:rl:{key}:{window}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, seconds + 5)
        return int(pipe.execute()[0])

    def get(self, key: str, window: int) -> int:
        return int(self.redis.get(f"smartbcc:rl:{key}:{window}") or 0)


class RateLimiter:
    def __init__(self, redis_url: str = ""):
        self.counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    def hit(self, key: str, limit: Limit | None) -> Verdict:
        """Counts one use of ``key``; refused once the window holds more than ``limit`` allows."""
        return self._verdict(key, limit, counting=True)

    def peek(self, key: str, limit: Limit | None) -> Verdict:
        """Whether ``key`` has used up ``limit`` in the current window, without counting a hit.

        For limits on failures (sign-in): ask before the attempt, ``hit`` only when it fails.
        """
        return self._verdict(key, limit, counting=False)

    def _verdict(self, key: str, limit: Limit | None, *, counting: bool) -> Verdict:
        if limit is None:
            return Verdict(True)
        now = time.time()
        window = int(now // limit.seconds)
        try:
            if counting:
                used = self.counter.incr(key, window, limit.seconds) - 1  # before this one
            else:
                used = self.counter.get(key, window)
        except Exception:
            # A limiter outage must not stop mail or lock anyone out; limits are a guard, not a gate.
            log.warning("rate limiter unavailable; letting %s through", key, exc_info=True)
            return Verdict(True)
        if used < limit.count:
            return Verdict(True)
        return Verdict(False, max(1, int((window + 1) * limit.seconds - now) + 1))

    def check_all(self, checks: list[tuple[str, Limit | None]]) -> Verdict:
        worst = Verdict(True)
        for key, limit in checks:
            verdict = self.hit(key, limit)
            if not verdict.allowed and verdict.retry_after >= worst.retry_after:
                worst = verdict
        return worst
