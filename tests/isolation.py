"""The names a test run gives the shared services' resources, so two runs can share one machine.

CI runs the suite on SQLite and on PostgreSQL at the same time (.ci/run), against one Redis server
and one PostgreSQL server. Tests that flush a Redis database or drop and create a scratch
PostgreSQL database would otherwise wipe the other run's state mid-test. ``TEST_SUITE_ID`` tells
the runs apart; this module is the one place that turns it into names:

- unset or empty: today's names (each test's own Redis database, or ``TEST_REDIS_URL``; the
  scratch database names as written in the tests), so a lone ``make test`` is unchanged;
- a number from 1 to 7: Redis database ``id + 1`` (2 to 8: free of the app's 0 and 1, the
  tests' 9 and 13 to 15 and the benchmarks' 11 and 12) for every Redis test of the run -- they run
  one after another and each flushes it first -- and ``_s<id>`` after each scratch database name.
"""
from __future__ import annotations

import os

ENV = "TEST_SUITE_ID"
REDIS_SERVER = "redis://127.0.0.1:6379"
IDS = range(1, 8)


def suite_id() -> int | None:
    """This run's id from ``TEST_SUITE_ID``, or None when unset; anything else is an error (a typo
    must not silently share the other run's resources)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) not in IDS:
        raise ValueError(f"{ENV}={raw!r}: write a number from {IDS.start} to {IDS.stop - 1}, or leave it unset")
    return int(raw)


def redis_url(default_db: int) -> str:
    """The Redis database a test may flush: this run's own, else ``TEST_REDIS_URL``, else ``default_db``."""
    sid = suite_id()
    if sid is not None:
        return f"{REDIS_SERVER}/{sid + 1}"
    return os.environ.get("TEST_REDIS_URL") or f"{REDIS_SERVER}/{default_db}"


def database_name(base: str) -> str:
    """The name of a scratch PostgreSQL database a test drops and creates: ``base`` for this run."""
    sid = suite_id()
    return base if sid is None else f"{base}_s{sid}"
