"""The in-process job runner: a job asked for later runs later, off the caller's thread."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from backend.jobs import JobRunner
from backend.tasks import TASKS


@pytest.fixture
def recorded(monkeypatch):
    calls, done = [], threading.Event()

    def job(services, *args):
        calls.append((time.monotonic(), threading.current_thread().name, args))
        done.set()

    monkeypatch.setitem(TASKS, "test.record", job)
    return calls, done


def _runner(mode: str) -> JobRunner:
    return JobRunner(SimpleNamespace(settings=SimpleNamespace(jobs=mode)))


def test_inline_enqueue_in_runs_the_job_after_the_delay_on_a_job_thread(recorded):
    calls, done = recorded
    runner = _runner("inline")
    asked = time.monotonic()
    runner.enqueue_in(0.3, "test.record", 7, "x")
    assert calls == []  # the caller is not held, and nothing ran yet
    assert done.wait(5)
    at, thread, args = calls[0]
    assert at - asked >= 0.3 and args == (7, "x") and thread.startswith("smartbcc-job")
    runner.shutdown()


def test_eager_enqueue_in_runs_at_once(recorded):
    calls, _done = recorded
    _runner("eager").enqueue_in(30, "test.record", 1)
    assert [c[2] for c in calls] == [(1,)]


def test_enqueue_in_refuses_an_unknown_job():
    with pytest.raises(KeyError):
        _runner("eager").enqueue_in(1, "no.such.job")
