"""The embedded pipeline process runs the record jobs that queued up as one batch job."""
from __future__ import annotations

import multiprocessing
import threading
from types import SimpleNamespace

import pytest

from backend import jobs
from backend.tasks import TASKS


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple[str, tuple]] = []
    monkeypatch.setitem(TASKS, "test.one", lambda services, *args: seen.append(("one", args)))
    monkeypatch.setitem(TASKS, "test.many", lambda services, ids: seen.append(("many", tuple(ids))))
    monkeypatch.setitem(TASKS, "test.other", lambda services, *args: seen.append(("other", args)))
    monkeypatch.setattr(jobs, "BATCHED_JOBS", {"test.one": "test.many"})
    return seen


def _run_process_loop(items: list[tuple]) -> list[str]:
    """Runs the pipeline process's loop in a thread on items already waiting in its pipe; returns its acks."""
    jobs_in, jobs_out = multiprocessing.Pipe(duplex=False)
    acks_in, acks_out = multiprocessing.Pipe(duplex=False)
    for item in items:
        jobs_out.send(item)
    loop = threading.Thread(target=jobs._serve, args=(SimpleNamespace(), jobs_in, acks_out))
    loop.start()
    acks = []
    while len(acks) < len(items):
        assert acks_in.poll(10), f"only {len(acks)} acknowledgements"
        acks.append(acks_in.recv())
    jobs_out.close()
    loop.join(10)
    assert not loop.is_alive()  # the loop ends when the pipe closes
    return acks


def test_waiting_record_jobs_run_as_one_batch_and_each_is_acknowledged(calls, monkeypatch):
    acks = _run_process_loop([("test.one", (1,)), ("test.one", (2,)), ("test.one", (3,)),
                              ("test.other", ("x",)), ("test.one", (4,))])
    assert acks == ["done"] * 5
    assert calls == [("many", (1, 2, 3)), ("other", ("x",)), ("one", (4,))]


def test_jobs_sent_again_after_a_crash_run_one_at_a_time(calls, monkeypatch):
    acks = _run_process_loop([("test.one", (1,), jobs.ALONE), ("test.one", (2,), jobs.ALONE),
                              ("test.one", (3,)), ("test.one", (4,))])
    assert acks == ["done"] * 4
    assert calls == [("one", (1,)), ("one", (2,)), ("many", (3, 4))]


def test_a_batch_is_never_bigger_than_max_batch(calls, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_BATCH", 2)
    _run_process_loop([("test.one", (n,)) for n in range(5)])
    assert calls == [("many", (0, 1)), ("many", (2, 3)), ("one", (4,))]


def test_the_real_record_job_has_its_batch_job():
    from backend.services import load_jobs

    load_jobs()
    for name, batched in jobs.BATCHED_JOBS.items():
        assert name in jobs.PIPELINE_JOBS and batched in TASKS
