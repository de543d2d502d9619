"""A Celery worker's record task claims the records waiting behind its own and processes them as one
batch (runner.process_waiting): concurrent workers never process a record twice, a bad mail still
fails alone, and the task of a record another worker already did ends at once. PostgreSQL claims
with row locks; on SQLite (no row locks) a task processes its own record only, as before."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from backend.intake.accept import accept_message
from backend.models import InboundRecord, MailMessage
from backend.pipeline import runner
from backend.pipeline.persist import Persist
from backend.pipeline.thread import Thread

from ..isolation import redis_url


def _mail(n: int, buyer: int | None = None) -> bytes:
    # Each mail to a buyer of its own by default: two batches creating one contact wait on each other.
    buyer = n if buyer is None else buyer
    return ("\r\n".join([
        "From: Alice <alice@acme.example>", f"To: Buyer {buyer} <buyer{buyer}@cust.example>",
        f"Subject: Order {n}", f"Message-ID: <claim-{n}@acme.example>",
        f"Date: Mon, 3 Mar 2025 10:{n % 60:02d}:00 +0000"]) + f"\r\n\r\nAbout order {n}.\r\n").encode()


@pytest.fixture
def accept(services, acme, monkeypatch):
    """accept(n) -> record id, left `received` (nothing queued: the test runs the tasks)."""
    monkeypatch.setattr(services.jobs, "enqueue", lambda *a, **k: None)

    def run(n: int, buyer: int | None = None) -> int:
        (record_id,) = accept_message(services, _mail(n, buyer), source="smtp", recipients=[acme.bcc_address])
        return record_id
    return run


def _records(services, ids) -> dict[int, InboundRecord]:
    with services.db.session() as session:
        return {r.id: r for r in session.scalars(select(InboundRecord).where(InboundRecord.id.in_(ids)))}


def _messages(services) -> int:
    with services.db.session() as session:
        return session.scalar(select(func.count()).select_from(MailMessage))


@pytest.fixture
def persisted(monkeypatch):
    """Thread name -> the record ids its batches persisted (rolled back or not)."""
    seen: dict[str, list[int]] = {}
    original = Persist.run

    def run(self, ctx):
        seen.setdefault(threading.current_thread().name, []).append(ctx.record.id)
        return original(self, ctx)
    monkeypatch.setattr(Persist, "run", run)
    return seen


def test_a_task_takes_the_records_waiting_oldest_first_up_to_the_batch_size(services, accept, persisted,
                                                                            sql_statements):
    ids = [accept(n) for n in range(runner.BATCH_SIZE + 3)]
    sql_statements.clear()
    assert runner.process_waiting(services, ids[5]) == "processed"
    if services.db.is_sqlite:  # its own record, as process_inbound
        assert persisted[threading.current_thread().name] == [ids[5]]
        assert [i for i, r in _records(services, ids).items() if r.status != "received"] == [ids[5]]
        return
    loads = [s for s in sql_statements if s.startswith("SELECT inbound_records.id, ")]
    assert len(loads) == 2  # its own record, then the waiting ones: one transaction
    # Its own record and the oldest waiting ones, in one transaction; the newest three wait.
    batch = [ids[5]] + [i for i in ids if i != ids[5]][:runner.BATCH_SIZE - 1]
    assert sorted(persisted[threading.current_thread().name]) == sorted(batch)
    records = _records(services, ids)
    assert {i for i in ids if records[i].status == "processed"} == set(batch)
    assert all(records[i].status == "received" for i in ids[-3:])
    assert all(records[i].attempts == 1 and records[i].message_id for i in batch)
    # The next task drains the rest.
    assert runner.process_waiting(services, ids[-1]) == "processed"
    assert {r.status for r in _records(services, ids).values()} == {"processed"}
    assert _messages(services) == len(ids)


def test_the_task_of_a_record_already_done_is_one_read(services, accept, sql_statements):
    ids = [accept(n) for n in range(3)]
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    waiting = accept(3)
    sql_statements.clear()
    assert runner.process_waiting(services, ids[2]) == "processed"
    assert [s for s in sql_statements if s.startswith(("SELECT", "UPDATE", "INSERT"))] == [
        next(s for s in sql_statements if s.startswith("SELECT"))]
    assert _records(services, [waiting])[waiting].status == "received"  # left to its own task
    assert runner.process_waiting(services, 999_999) == "missing"


def test_a_bad_mail_in_a_claimed_batch_fails_alone_and_is_kept(services, accept, monkeypatch):
    ids = [accept(n) for n in range(5)]
    original = Thread.run

    def run(self, ctx):
        if ctx.record.id == ids[2]:
            raise RuntimeError("cannot read this one")
        return original(self, ctx)
    monkeypatch.setattr(Thread, "run", run)
    assert runner.process_waiting(services, ids[0]) == "processed"
    left = [i for i, r in _records(services, ids).items() if r.status == "received"]
    assert left == (ids[1:] if services.db.is_sqlite else [])  # PostgreSQL: all in the first task
    # Every record's own task then runs: a no-op for those done (or failed) in the batch.
    assert [runner.process_waiting(services, i) for i in ids[1:]] == ["processed", "failed", "processed", "processed"]
    records = _records(services, ids)
    assert {i: r.status for i, r in records.items()} == {**{i: "processed" for i in ids}, ids[2]: "failed"}
    bad = records[ids[2]]
    assert bad.error == "stage thread failed: RuntimeError: cannot read this one"
    assert bad.attempts == 1 and bad.message_id is None
    assert all(records[i].attempts == 1 for i in ids)
    assert _messages(services) == 4
    # A failed record is not "waiting": the next task leaves it for `smartbcc inbound retry`.
    monkeypatch.undo()
    other = accept(9)
    assert runner.process_waiting(services, other) == "processed"
    assert _records(services, [ids[2]])[ids[2]].status == "failed"


def test_a_second_worker_leaves_the_records_the_first_holds(services, accept, persisted):
    """Worker A stops inside its batch, holding its records; worker B runs a task for A's record too
    (as when resume_pending queued it again). PostgreSQL: B leaves A's locked records and drains the
    next ten at once. SQLite (no claims, A processes its record alone): B waits for A's commit and
    does not store the record a second time."""
    ids = [accept(n) for n in range(2 * runner.BATCH_SIZE)]
    first, rest = ids[:runner.BATCH_SIZE], ids[runner.BATCH_SIZE:]
    inside, release = threading.Event(), threading.Event()
    recorder = Persist.run
    hold = first[0] if services.db.is_sqlite else first[-1]  # A's last record

    def run(self, ctx):
        if threading.current_thread().name == "A" and ctx.record.id == hold:
            inside.set()
            assert release.wait(30)
        return recorder(self, ctx)
    Persist.run = run  # around the `persisted` recorder (monkeypatch restores the original)
    try:
        results = {}
        a = threading.Thread(name="A", target=lambda: results.update(A=runner.process_waiting(services, first[0])))
        b = threading.Thread(name="B", target=lambda: results.update(B=runner.process_waiting(services, first[0])))
        a.start()
        assert inside.wait(30)
        b.start()
        if services.db.is_sqlite:
            b.join(0.5)
            assert b.is_alive()  # waiting for the write lock A holds
            release.set()
        else:
            b.join(30)
            assert not b.is_alive()  # did not wait for A
            assert results["B"] == "claimed"
            assert {r.status for r in _records(services, rest).values()} == {"processed"}
            assert {r.status for r in _records(services, first).values()} == {"received"}  # A not committed
            release.set()
        a.join(30)
        b.join(30)
    finally:
        release.set()
        Persist.run = recorder
    assert results["A"] == "processed"
    if services.db.is_sqlite:
        assert results["B"] == "processed"
        records = _records(services, ids)
        assert [i for i, r in records.items() if r.status == "processed"] == [first[0]]
        assert records[first[0]].attempts == 1
        assert _messages(services) == 1
        return
    assert sorted(persisted["A"]) == sorted(first)
    assert results["B"] == "claimed"
    assert sorted(persisted["B"]) == sorted(rest)
    records = _records(services, ids)
    assert {r.status for r in records.values()} == {"processed"}
    assert all(r.attempts == 1 for r in records.values())
    assert _messages(services) == len(ids)


@pytest.mark.parametrize("buyers", [None, 3], ids=["own-buyers", "three-new-buyers-shared"])
def test_two_workers_running_every_task_process_each_record_once(services, accept, persisted, buyers):
    """Like two Celery workers sharing the queue: every record's task runs, on one worker or the
    other, while the records are claimed in batches. With three buyers shared by all the mails,
    both workers' batches create the same contacts and collide (and run again)."""
    ids = [accept(n, None if buyers is None else n % buyers) for n in range(40)]
    results: dict[str, list[str]] = {"A": [], "B": []}
    errors = []

    def worker(name, tasks):
        try:
            for record_id in tasks:
                results[name].append(runner.process_waiting(services, record_id))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(name="A", target=worker, args=("A", ids[0::2])),
               threading.Thread(name="B", target=worker, args=("B", ids[1::2]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    records = _records(services, ids)
    assert {r.status for r in records.values()} == {"processed"}
    assert all(r.attempts == 1 and r.error is None for r in records.values())
    assert _messages(services) == len({r.message_id for r in records.values()}) == len(ids)
    done = persisted.get("A", []) + persisted.get("B", [])
    if buyers is None:
        assert sorted(done) == sorted(ids)  # no record persisted twice, not even in a rolled-back batch
    assert set(results["A"] + results["B"]) <= {"processed", "claimed"}


BROKER = redis_url(9)  # this run's own Redis database (tests/isolation.py), flushed


def test_a_real_worker_drains_the_waiting_records_with_one_task(services, settings, accept, monkeypatch):
    """`celery -A backend.worker worker` runs runner.process_waiting for smartbcc.process_inbound;
    its (prefork) worker process is ready before the first task."""
    import os
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    import redis

    from backend import jobs

    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    ids = [accept(n) for n in range(5)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env.update({
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "SMARTBCC_JOBS": "celery",
        "SMARTBCC_BROKER_URL": BROKER, "SMARTBCC_DATABASE_URL": settings.database_url,
        "SMARTBCC_SECRET_KEY": settings.secret_key, "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir),
        "SMARTBCC_BLOB_DIR": str(settings.blob_dir), "SMARTBCC_MAIL_DOMAIN": settings.mail_domain,
    })
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "backend.worker", "worker", "--pool=prefork",
         "--concurrency=1", "--loglevel=INFO", "-n", f"claims-test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
         "--without-mingle"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    monkeypatch.setenv("SMARTBCC_BROKER_URL", BROKER)
    monkeypatch.setattr(jobs, "_celery", None)  # rebuilt from the environment above
    try:
        # The worker process builds its services when it starts, before any task arrives.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("services built" in line for line in lines):
            assert proc.poll() is None, "".join(lines[-40:])
            time.sleep(0.1)
        assert any("smartbcc worker process ready: services built" in line for line in lines), "".join(lines[-40:])
        jobs.celery_app().send_task("smartbcc.process_inbound", args=[ids[0]])
        # SQLite: its own record only (no claims there).
        expected = {ids[0]} if services.db.is_sqlite else set(ids)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if {i for i, r in _records(services, ids).items() if r.status == "processed"} == expected:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # nothing more comes
        records = _records(services, ids)
        assert {i for i, r in records.items() if r.status == "processed"} == expected, "".join(lines[-40:])
        assert all(records[i].attempts == 1 for i in expected)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        reader.join(10)
        jobs._celery = None
        client.flushdb()
        client.close()
    assert sum("smartbcc.process_inbound[" in line and "received" in line for line in lines) == 1


def _age(services, ids, seconds: float) -> None:
    from datetime import datetime, timedelta, timezone

    with services.db.session() as session:
        for record in session.scalars(select(InboundRecord).where(InboundRecord.id.in_(ids))):
            record.received_at = datetime.now(timezone.utc) - timedelta(seconds=seconds)


def test_a_record_left_waiting_runs_alone_and_joins_no_batch(services, accept, persisted):
    """A record older than CLAIM_FRESH was left by a batch that did not finish (its worker may have
    died on it): no other task claims it, and its own task runs it alone."""
    old = accept(0)
    _age(services, [old], runner.CLAIM_FRESH.total_seconds() + 30)
    fresh = [accept(n) for n in range(1, 4)]
    me = threading.current_thread().name
    assert runner.process_waiting(services, fresh[0]) == "processed"
    if services.db.is_sqlite:
        assert persisted[me] == [fresh[0]]
        return
    assert sorted(persisted[me]) == sorted(fresh)  # the fresh ones together, the old one left
    assert _records(services, [old])[old].status == "received"
    persisted[me].clear()
    other = accept(9)
    assert runner.process_waiting(services, old) == "processed"
    assert persisted[me] == [old]  # alone: the fresh record arrived meanwhile is not taken with it
    assert _records(services, [other])[other].status == "received"
