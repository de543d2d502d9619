#!/usr/bin/env python
"""Ingest benchmark: the real Smart Bcc SMTP receiver against a bare aiosmtpd receiver.

    .venv/bin/python bench/ingest.py [--db sqlite|postgres|both] [--messages N] [--concurrency C]
                                     [--pg-url URL] [--repeat R] [--breakdown] [--experiment NAME]

For each database (a fresh SQLite file in a temp dir, and/or a freshly reset and migrated
PostgreSQL schema: its public schema is DROPPED) it runs, on the same generated messages and
with the same client concurrency, each right after its own bare reference run:

  bare       aiosmtpd Controller whose handle_DATA just returns "250 OK"
  inline     (a) the Smart Bcc receiver, jobs="inline": the pipeline runs in the process's
             job thread pool while mail keeps arriving (the embedded default);
             (b) the same run until every InboundRecord is processed/duplicate/failed
             (counted with SQL), then checked through GET /api/v1/mailbox/mailThreads
  defer      (a) services.jobs.enqueue patched to a no-op (Celery-like: acceptance only);
             (b') then all records queued to the real inline pool: the pipeline alone
  worker     (a)/(b) enqueue no-op, and a separate spawned process (like one Celery worker)
             processes 'received' records while mail arrives

The SMTP client runs in a separate process (spawned once, messages loaded into memory before
any timing) with C threads, each holding one smtplib.SMTP connection that it reuses for many
messages, so the client does not compete for the receiver's GIL. See bench/README.md.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing as mp
import os
import pickle
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_ingest"
MAIL_DOMAIN = "bcc.bench"
COMPANY_DOMAIN = "acme.example"
USER_EMAIL = "alice@acme.example"
N_DEALS = 5
GOAL = 0.5
KEEP_UP = 0.8

WORDS = ("proposal pricing renewal contract quarter budget licence seats onboarding meeting "
         "agenda timeline security review discount invoice support migration rollout pilot "
         "stakeholder feedback roadmap integration deadline signature legal approval volume "
         "tier annual monthly forecast pipeline demo workshop training kickoff status next "
         "steps thanks regards please attached find below update question answer").split()
FIRST = "Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent".split()
LAST = "Smith Jones Brown Garcia Miller Davis Wilson Moore Taylor Clark".split()
CUST_DOMAINS = ("cust.example", "globex.example", "initech.example", "umbrella.example")


# --------------------------------------------------------------------------- messages

def _para(rng: random.Random, words: int) -> str:
    out = [rng.choice(WORDS) for _ in range(words)]
    out[0] = out[0].capitalize()
    return " ".join(out) + "."


def _text_body(rng: random.Random, size: int) -> str:
    paras, n = [], 0
    while n < size:
        lines = []
        for _ in range(rng.randint(3, 6)):
            lines.append(_para(rng, rng.randint(8, 14)))
        p = "\n".join(lines)
        paras.append(p)
        n += len(p) + 2
    return "\n\n".join(paras)


def build_messages(n: int, seed: int, company_addr: str, deal_addrs: list[str],
                   attach_every: int, attach_bytes: int) -> list[tuple[list[str], bytes]]:
    """(envelope recipients, raw CRLF bytes) for n realistic messages."""
    rng = random.Random(seed)
    customers = [(f"{f} {l}", f"{f.lower()}.{l.lower()}@{rng.choice(CUST_DOMAINS)}")
                 for f in FIRST for l in LAST[:3]]
    start = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
    run_tag = rng.getrandbits(32)
    out = []
    for i in range(n):
        msg = EmailMessage(policy=SMTP_POLICY)
        subject = f"{_para(rng, rng.randint(3, 6))[:-1]} #{i}"
        to = rng.sample(customers, 2)
        msg["From"] = f"Alice Rep <{USER_EMAIL}>"
        msg["To"] = ", ".join(f"{name} <{addr}>" for name, addr in to)
        if i % 4 == 0:
            msg["Cc"] = "{} <{}>".format(*rng.choice(customers))
        msg["Subject"] = subject
        msg["Date"] = format_datetime(start + timedelta(minutes=7 * i))
        msg["Message-ID"] = f"<bench-{run_tag:08x}-{i}@{COMPANY_DOMAIN}>"
        msg["MIME-Version"] = "1.0"
        text = _text_body(rng, 8_000)
        msg.set_content(text)
        html_paras = "".join(f"<p style=\"margin:0 0 8px 0;font-family:Arial\">{p}</p>\n"
                             for p in _text_body(rng, 9_000).split("\n\n"))
        msg.add_alternative(f"<html><body>\n<div>\n{html_paras}</div>\n</body></html>\n", subtype="html")
        if attach_every and i % attach_every == attach_every - 1:
            msg.add_attachment(rng.randbytes(attach_bytes), maintype="application", subtype="pdf",
                               filename=f"quote-{i}.pdf")
        if i % 7 == 3:
            rcpts = [company_addr, deal_addrs[i % len(deal_addrs)]]
        elif i % 3 == 1:
            rcpts = [deal_addrs[i % len(deal_addrs)]]
        else:
            rcpts = [company_addr]
        out.append((rcpts, msg.as_bytes()))
    return out


# --------------------------------------------------------------------------- SMTP client process

def _run_clients(host: str, port: int, mail_from: str, msgs, concurrency: int) -> dict:
    import smtplib

    counter = itertools.count()
    lock = threading.Lock()
    results: list[list] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    t0_holder: list[float] = []
    barrier = threading.Barrier(concurrency, action=lambda: t0_holder.append(time.monotonic()))

    def worker(k: int) -> None:
        client = smtplib.SMTP(host, port, timeout=300)
        client.ehlo("bench.client")
        barrier.wait()
        try:
            while True:
                with lock:
                    i = next(counter)
                if i >= len(msgs):
                    break
                rcpts, raw = msgs[i]
                t = time.monotonic()
                try:
                    client.sendmail(mail_from, rcpts, raw)
                    ok = True
                except (smtplib.SMTPException, OSError) as exc:
                    ok = False
                    errors.append(f"msg {i}: {exc!r}"[:300])
                    with contextlib.suppress(Exception):
                        client.close()
                    client = smtplib.SMTP(host, port, timeout=300)
                    client.ehlo("bench.client")
                results[k].append((i, t, time.monotonic(), ok))
        finally:
            with contextlib.suppress(Exception):
                client.quit()

    cpu0 = time.process_time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    rows = [r for rs in results for r in rs]
    return {
        "t0": t0_holder[0],
        "t_end": max(r[2] for r in rows),
        "latencies": [r[2] - r[1] for r in rows if r[3]],
        "ok": sum(1 for r in rows if r[3]),
        "errors": errors,
        "client_cpu": time.process_time() - cpu0,
    }


def client_process(conn, msgs_path: str) -> None:
    with open(msgs_path, "rb") as fh:
        msgs = pickle.load(fh)
    conn.send("ready")
    while True:
        cmd = conn.recv()
        if cmd[0] == "stop":
            break
        _, host, port, mail_from, concurrency = cmd
        try:
            conn.send(_run_clients(host, port, mail_from, msgs, concurrency))
        except Exception as exc:  # report, don't hang the parent
            conn.send({"fatal": repr(exc)})


def _loadavg() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "n/a"
    warn = "  (WARNING: machine is busy; figures will be noisy)" if one > (os.cpu_count() or 1) else ""
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cpus{warn}"


def _cpu_stat() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            vals = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0, 1
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


class Client:
    def __init__(self, msgs_path: str):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=client_process, args=(child, msgs_path), daemon=True)
        self.proc.start()
        if self.conn.recv() != "ready":
            raise RuntimeError("client process did not start")

    def run(self, host, port, mail_from, concurrency) -> dict:
        cpu0, stat0 = time.process_time(), _cpu_stat()
        self.conn.send(("run", host, port, mail_from, concurrency))
        res = self.conn.recv()
        if "fatal" in res:
            raise RuntimeError(f"client failed: {res['fatal']}")
        stat1 = _cpu_stat()
        res["server_cpu"] = time.process_time() - cpu0  # this process, all threads
        res["busy"] = (stat1[0] - stat0[0]) / max(stat1[1] - stat0[1], 1)  # all cores, all processes
        return res

    def close(self):
        with contextlib.suppress(Exception):
            self.conn.send(("stop",))
        self.proc.join(10)


# --------------------------------------------------------------------------- servers & databases

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BareHandler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def fresh_database(kind: str, workdir: Path, pg_url: str) -> str:
    from benchutil import fresh_database as make

    return make(kind, workdir, pg_url, "bench")


@dataclass
class Seeded:
    company_id: int
    user_id: int
    token: str
    company_addr: str
    deal_addrs: list[str]


def seed(services, deal_tokens: list[str]) -> Seeded:
    from backend import addresses
    from backend.accounts import create_company, create_user
    from backend.models import Deal

    with services.db.session() as session:
        made = create_company(session, "Acme", COMPANY_DOMAIN)
        user = create_user(session, made.company.id, USER_EMAIL, "Alice Rep", admin=True)
        for k, token in enumerate(deal_tokens):
            session.add(Deal(company_id=made.company.id, title=f"Deal {k}", owner_id=user.user.id,
                             bcc_token=token))
        slug = made.company.slug
        return Seeded(made.company.id, user.user.id, user.api_token,
                      addresses.company_address(slug, MAIL_DOMAIN),
                      [addresses.item_address(slug, "deal", t, MAIL_DOMAIN) for t in deal_tokens])


# The benchmark sends everything from one user: per-sender/company limits would answer 451
# after the first minute's quota. Raised (not removed) so the limiter's own cost still counts.
BENCH_LIMITS = {"smtp_limit_per_sender": "100000000/60", "smtp_limit_per_company": "100000000/60"}


def bench_settings(instance: Path, url: str, jobs: str):
    from dataclasses import fields

    from backend.config import Settings

    known = {f.name for f in fields(Settings)}
    return Settings.from_env(
        instance_dir=instance, database_url=url, secret_key="bench-secret-not-for-production",
        mail_domain=MAIL_DOMAIN, jobs=jobs, base_url="http://testserver", smtp_relay="",
        blob_dir=instance / "blobs", outbox_dir=instance / "outbox",
        **{k: v for k, v in BENCH_LIMITS.items() if k in known})


def make_services(url: str, workdir: Path):
    from backend.services import Services

    return Services.create(bench_settings(workdir / "instance", url, "inline"))


def count_done(services) -> tuple[int, int, int]:
    """(records, done, failed) where done = processed/duplicate/failed."""
    from sqlalchemy import func, select

    from backend.models import InboundRecord

    with services.db.session() as session:
        rows = dict(session.execute(select(InboundRecord.status, func.count())
                                    .group_by(InboundRecord.status)).all())
    total = sum(rows.values())
    done = sum(rows.get(s, 0) for s in ("processed", "duplicate", "failed"))
    return total, done, rows.get("failed", 0)


def wait_processed(services, expected: int, timeout: float, interval: float = 0.1) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _total, done, _failed = count_done(services)
        if done >= expected:
            return time.monotonic()
        time.sleep(interval)
    return None


_APP = None


def api_thread_total(services, token: str) -> int:
    """Threads the seeded user sees, through the real API on a Flask test client.

    One app per process, its services swapped per run: the API reads them from
    app.extensions on each request, so one create_app serves every fresh database.
    """
    global _APP
    from backend.app import create_app

    if _APP is None:
        _APP = create_app(services=services)
        _APP.config["TESTING"] = True
    app = _APP
    app.extensions["smartbcc"] = services
    resp = app.test_client().get("/api/v1/mailbox/mailThreads?limit=1&include_total=1",
                                 headers={"Authorization": f"Bearer {token}"})
    if resp.status_code != 200:
        raise RuntimeError(f"mailThreads answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}")
    return resp.json["additional_data"]["pagination"]["total"]


# --------------------------------------------------------------------------- breakdown (optional)

class Breakdown:
    """Wall time spent in acceptance/pipeline components (monkeypatched timers, per thread context).

    Times are summed over threads, so with concurrent threads they can exceed the run's seconds.
    """

    def __init__(self):
        self.totals = defaultdict(float)
        self.counts = defaultdict(int)
        self.lock = threading.Lock()
        self.tl = threading.local()
        self._undo = []

    def add(self, label, dt):
        with self.lock:
            self.totals[label] += dt
            self.counts[label] += 1

    def _patch(self, owner, name, new):
        self._undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    def _context(self, owner, name, ctx):
        """Wrap owner.name: time it, and tag the calls it makes with ``ctx``."""
        orig = getattr(owner, name)
        bd = self

        def timed(*a, **kw):
            tl = bd.tl
            prev, tl.ctx, tl.first_write = getattr(tl, "ctx", None), ctx, None
            t = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                end = time.perf_counter()
                bd.add(f"{ctx}: total", end - t)
                if tl.first_write is not None:
                    bd.add(f"{ctx}: write txn held (1st INSERT -> commit)", end - tl.first_write)
                tl.ctx = prev
        self._patch(owner, name, timed)

    def _tagged(self, owner, name, what, mark_write=False):
        orig = getattr(owner, name)
        bd = self

        def timed(*a, **kw):
            ctx = getattr(bd.tl, "ctx", None) or "other"
            if mark_write and getattr(bd.tl, "first_write", 1) is None:
                sess = a[0]
                if sess.new or sess.dirty or sess.deleted:
                    bd.tl.first_write = time.perf_counter()
            t = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                bd.add(f"{ctx}:   {what}", time.perf_counter() - t)
        self._patch(owner, name, timed)

    def install(self, services):
        import sqlalchemy.orm

        from backend.intake import accept, smtp
        from backend.pipeline import runner

        self._context(smtp.SmartBccHandler, "_route", "rcpt")
        self._context(smtp.SmartBccHandler, "_accept", "accept")
        self._context(runner, "_process_once", "pipeline")
        self._tagged(accept, "read_headers", "read_headers")
        self._tagged(accept, "accepted_user", "accepted_user query")
        self._tagged(services.blobs, "put", "blobs.put (write + fsync file + dir)")
        self._tagged(sqlalchemy.orm.Session, "flush", "session.flush (SQLite: waits for write lock)", True)
        self._tagged(sqlalchemy.orm.Session, "commit", "session.commit (WAL/xlog fsync)")
        orig_db = smtp.SmartBccHandler._db
        bd = self

        async def _db(handler, fn, *args):
            t_submit = time.perf_counter()

            def run():
                bd.add("loop: executor queue wait (per RCPT/DATA)", time.perf_counter() - t_submit)
                return fn(*args)
            return await orig_db(handler, run)
        self._patch(smtp.SmartBccHandler, "_db", _db)

    def uninstall(self):
        for owner, name, orig in reversed(self._undo):
            setattr(owner, name, orig)
        self._undo.clear()

    def report(self, title: str) -> list[str]:
        lines = [f"  breakdown [{title}] wall ms per call, summed over threads:"]
        for label in sorted(self.totals, key=lambda k: (k.split(":")[0], not k.endswith("total"), k)):
            n = self.counts[label]
            lines.append(f"    {label:<58} {1000 * self.totals[label] / n:9.2f} ms x {n:>5}"
                         f"  = {self.totals[label]:7.2f} s")
        self.totals.clear()
        self.counts.clear()
        return lines


# --------------------------------------------------------------------------- statement counts

class StatementCounter:
    """SQL statements an engine runs, per label (an executemany counts once).

    The label is per thread: ``label()`` sets it around a call, ``wrap_stages()`` sets it to
    the stage's name while each pipeline stage runs; statements outside any label count under
    ``default`` (the runner's own: claiming, loading and finishing records)."""

    def __init__(self, engine, default: str = "runner"):
        from sqlalchemy import event

        self.engine, self.default = engine, default
        self.counts: dict[str, int] = defaultdict(int)
        self.tl = threading.local()
        self.lock = threading.Lock()
        self._undo: list = []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        label = getattr(self.tl, "label", None) or self.default
        with self.lock:
            self.counts[label] += 1

    @contextlib.contextmanager
    def label(self, name: str):
        prev, self.tl.label = getattr(self.tl, "label", None), name
        try:
            yield
        finally:
            self.tl.label = prev

    def wrap_stages(self) -> None:
        from backend.pipeline import runner

        for stage in runner.STAGES:
            orig = stage.run

            def run(ctx, _orig=orig, _name=stage.name):
                with self.label(_name):
                    return _orig(ctx)
            stage.run = run
            self._undo.append(stage)

    def take(self) -> dict[str, int]:
        with self.lock:
            out = dict(self.counts)
            self.counts.clear()
        return out

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        for stage in self._undo:
            del stage.run
        self._undo.clear()


def stage_order() -> list[str]:
    from backend.pipeline import runner

    return [s.name for s in runner.STAGES]


def format_statements(counts: dict[str, int], per: int) -> str:
    """``12.3 per message: runner 2.0, parse 0.0, ...`` (stages in pipeline order)."""
    if per <= 0:
        return "no messages"
    order = [k for k in ["runner"] + stage_order() if k in counts] + sorted(
        k for k in counts if k not in stage_order() and k != "runner")
    total = sum(counts.values())
    parts = ", ".join(f"{k} {counts[k] / per:.1f}" for k in order)
    return f"{total / per:.1f} per message ({total} for {per}): {parts}"


# --------------------------------------------------------------------------- runs

@dataclass
class Row:
    db: str
    variant: str
    msgs: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    is_accept: bool = True
    note: str = ""
    srv_cpu: float = float("nan")  # server process CPU seconds during the SMTP run
    busy: float = float("nan")     # machine CPU busy fraction (all cores) during the SMTP run
    bare_rate: float = float("nan")  # the bare receiver's rate measured just before this run
    accepted_rate: float = float("nan")  # (b) rows: the (a) rate of the same run

    @property
    def of_accepted(self) -> float:
        return self.rate / self.accepted_rate if self.accepted_rate > 0 else float("nan")

    @property
    def ratio(self) -> float:
        return self.rate / self.bare_rate if self.bare_rate > 0 else float("nan")

    @property
    def rate(self) -> float:
        return self.msgs / self.seconds if self.seconds > 0 else float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[k]


def run_bare(client: Client, concurrency: int, n: int, db: str) -> Row:
    from aiosmtpd.controller import Controller

    controller = Controller(BareHandler(), hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    try:
        res = client.run(controller.hostname, controller.port, USER_EMAIL, concurrency)
    finally:
        controller.stop()
    note = f"{len(res['errors'])} errors" if res["errors"] else ""
    return Row(db, "bare aiosmtpd (250 OK)", res["ok"], res["t_end"] - res["t0"], res["latencies"], note=note,
               srv_cpu=res["server_cpu"], busy=res["busy"])


def pipeline_worker(url: str, instance_dir: str, expected: int, timeout: float, conn, nice: int = 0) -> None:
    """A separate process draining status='received' records: it claims up to 50 at a time and hands
    them to runner.process_batch (BATCH_SIZE per transaction), as the embedded pipeline process
    does with the jobs that queued up. (A Celery worker still runs process_inbound per record.)"""
    import logging

    from sqlalchemy import select

    from backend.models import InboundRecord
    from backend.pipeline.runner import process_batch
    from backend.services import Services

    logging.basicConfig(level=logging.WARNING)
    if nice:
        os.nice(nice)
    instance = Path(instance_dir)
    services = Services.create(bench_settings(instance, url, "eager"))
    counter = StatementCounter(services.db.engine)
    counter.wrap_stages()
    conn.send("ready")
    deadline = time.monotonic() + timeout
    handled = 0
    while handled < expected and time.monotonic() < deadline and not conn.poll():
        with counter.label("poll"), services.db.session() as session:
            ids = list(session.scalars(select(InboundRecord.id).where(InboundRecord.status == "received")
                                       .order_by(InboundRecord.id).limit(50)))
        if not ids:
            time.sleep(0.05)
            continue
        process_batch(services, ids)
        handled += len(ids)
    counts = counter.take()
    counts.pop("poll", None)  # the worker's own polling, not the pipeline's cost
    counter.close()
    services.close()
    conn.send((handled, counts))


EXPERIMENTS = {
    "sync-normal": "SQLite PRAGMA synchronous=NORMAL (WAL) instead of FULL",
    "no-blob-fsync": "blob store without any fsync (diagnostic only: NOT durable)",
    "no-dir-fsync": "blob store without the directory fsync (file still fsynced)",
    "no-pre-ping": "PostgreSQL pool without pool_pre_ping (no extra round trip per checkout)",
    "route-cache": "RCPT route lookups cached in-process (address -> Route, 60 s TTL)",
    "jobs-1": "inline job pool with 1 thread instead of 2",
    "jobs-nice": "inline job threads at OS nice 19 (Linux per-thread priority)",
    "worker-nice": "separate pipeline process at OS nice 19",
    "pipeline-sync-normal": "SQLite: the job threads use their own engine with synchronous=NORMAL "
                            "(intake keeps FULL)",
    "jobs-yield": "inline jobs wait until no RCPT/DATA was handled for 0.2 s (at most 10 s)",
}


def apply_experiments(services, experiments: list[str]) -> None:
    from sqlalchemy import event

    if "sync-normal" in experiments and services.db.is_sqlite:
        @event.listens_for(services.db.engine, "connect")
        def _normal(dbapi_conn, _record):
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        services.db.engine.dispose()
    if "no-blob-fsync" in experiments or "no-dir-fsync" in experiments:
        import stat
        import types

        from backend import blobs
        fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
        if "no-blob-fsync" in experiments:
            fake_os.fsync = lambda fd: None
        else:
            fake_os.fsync = lambda fd: None if stat.S_ISDIR(os.fstat(fd).st_mode) else os.fsync(fd)
        blobs.os = fake_os
    if "no-pre-ping" in experiments and not services.db.is_sqlite:
        services.db.engine.pool._pre_ping = False
    if "route-cache" in experiments:
        from backend.intake import smtp
        cache: dict = {}
        orig = smtp.SmartBccHandler._route

        def _route(handler, address):
            hit = cache.get(address)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
            route = orig(handler, address)
            if route is not None:
                cache[address] = (time.monotonic() + 60, route)
            return route
        smtp.SmartBccHandler._route = _route
        _UNDO.append((smtp.SmartBccHandler, "_route", orig))
    if "pipeline-sync-normal" in experiments and services.db.is_sqlite:
        import dataclasses

        from backend.db import Database
        job_db = Database(services.db.url)

        @event.listens_for(job_db.engine, "connect")
        def _job_normal(dbapi_conn, _record):
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        services.jobs.services = dataclasses.replace(services, db=job_db)
    if "jobs-yield" in experiments:
        from backend import jobs
        from backend.intake import smtp
        last = [0.0]
        for name in ("_route", "_accept"):
            orig_fn = getattr(smtp.SmartBccHandler, name)

            def stamped(handler, *a, _orig=orig_fn):
                last[0] = time.monotonic()
                try:
                    return _orig(handler, *a)
                finally:
                    last[0] = time.monotonic()
            setattr(smtp.SmartBccHandler, name, stamped)
            _UNDO.append((smtp.SmartBccHandler, name, orig_fn))
        from backend.services import load_jobs

        load_jobs()
        orig_task = jobs.TASKS["process_inbound"]

        def yielding(svc, record_id):
            give_up = time.monotonic() + 10
            while time.monotonic() - last[0] < 0.2 and time.monotonic() < give_up:
                time.sleep(0.05)
            return orig_task(svc, record_id)
        jobs.TASKS["process_inbound"] = yielding
        _UNDO.append((jobs.TASKS, None, orig_task))
    if "jobs-1" in experiments or "jobs-nice" in experiments:
        from concurrent.futures import ThreadPoolExecutor

        def lower_priority():
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        services.jobs._pool = ThreadPoolExecutor(
            max_workers=1 if "jobs-1" in experiments else 2, thread_name_prefix="smartbcc-job",
            initializer=lower_priority if "jobs-nice" in experiments else None)


_UNDO: list = []


def undo_experiments() -> None:
    from backend import blobs
    blobs.os = os
    while _UNDO:
        owner, name, orig = _UNDO.pop()
        if name is None:
            owner["process_inbound"] = orig
        else:
            setattr(owner, name, orig)


MODE_LABEL = {
    "inline": "jobs=inline (pipeline threads)",
    "defer": "jobs enqueue no-op",
    "worker": "pipeline in separate process",
}


def run_smartbcc(kind: str, client: Client, concurrency: int, deal_tokens: list[str], pg_url: str,
                 mode: str, timeout: float, breakdown: bool, notes: list[str],
                 experiments: list[str], statements: list[str] | None = None) -> list[Row]:
    from backend.intake.smtp import start_controller

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{kind}-"))
    rows: list[Row] = []
    services = controller = worker = None
    bd = Breakdown() if breakdown else None
    suffix = "".join(f" +{e}" for e in experiments)
    statements = notes if statements is None else statements
    try:
        url = fresh_database(kind, workdir, pg_url)
        services = make_services(url, workdir)
        seeded = seed(services, deal_tokens)
        apply_experiments(services, experiments)
        if mode in ("defer", "worker"):
            services.jobs.enqueue = lambda *a, **k: None  # Celery-like: acceptance only
        if mode == "worker":
            ctx = mp.get_context("spawn")
            wconn, child = ctx.Pipe()
            # expected is unknown until acceptance ends; the worker stops on a message or after all.
            worker = ctx.Process(target=pipeline_worker,
                                 args=(url, str(workdir / "instance"), 10 ** 9, timeout, child,
                                       19 if "worker-nice" in experiments else 0), daemon=True)
            worker.start()
            if wconn.recv() != "ready":
                raise RuntimeError("pipeline worker did not start")
        if bd:
            bd.install(services)
        controller = start_controller(services, hostname="127.0.0.1", port=free_port())
        accept_counter = StatementCounter(services.db.engine, default="accept")
        try:
            res = client.run(controller.hostname, controller.port, USER_EMAIL, concurrency)
        finally:
            accept_counts = accept_counter.take()
            accept_counter.close()
        label = f"(a) accept, {MODE_LABEL[mode]}{suffix}"
        errs = res["errors"]
        note = f"{len(errs)} SMTP errors, first: {errs[0]}" if errs else ""
        rows.append(Row(kind, label, res["ok"], res["t_end"] - res["t0"], res["latencies"], note=note,
                        srv_cpu=res["server_cpu"], busy=res["busy"]))
        total, _done, _failed = count_done(services)
        if total != res["ok"]:
            notes.append(f"{kind} {label}: {res['ok']} x 250 but {total} inbound records")
        statements.append(f"{kind} {label}: {format_statements(accept_counts, res['ok'])}")
        if bd:
            notes.extend(bd.report(f"{kind} {label}, during acceptance"))

        if mode == "defer":
            del services.jobs.enqueue  # back to the real JobRunner.enqueue (inline pool)
            from sqlalchemy import select

            from backend.models import InboundRecord
            with services.db.session() as session:
                ids = list(session.scalars(select(InboundRecord.id).order_by(InboundRecord.id)))
            start = time.monotonic()
            for record_id in ids:
                services.jobs.enqueue("process_inbound", record_id)
            variant = f"(b') processed after acceptance, inline pool alone{suffix}"
        else:
            start = res["t0"]
            variant = f"(b) processed end-to-end, {MODE_LABEL[mode]}{suffix}"
        t_done = wait_processed(services, total, timeout)
        if worker is not None:
            wconn.send("stop")
            if wconn.poll(60):
                handled, counts = wconn.recv()
                statements.append(f"{kind} pipeline in separate process: {format_statements(counts, handled)}")
            worker.join(30)
        services.jobs.wait_idle(timeout=timeout)
        _total, done, failed = count_done(services)
        try:
            note = f"API mailThreads total={api_thread_total(services, seeded.token)}"
        except Exception as exc:  # the app is edited concurrently; the SQL count above still stands
            note = f"API check failed: {exc.__class__.__name__}: {exc}"[:120]
        import logging
        logging.getLogger("backend").setLevel(logging.WARNING)  # create_app sets INFO
        if failed:
            note += f", {failed} failed records"
        if t_done is None:
            note += f", TIMEOUT after {timeout:.0f}s ({done}/{total} done)"
            t_done = time.monotonic()
        note = f"{done / max(t_done - start, 1e-9) / rows[0].rate:.2f} of accepted msg/s; " + note
        rows.append(Row(kind, variant, done, t_done - start, is_accept=False, note=note,
                        accepted_rate=rows[0].rate))
        if bd:
            notes.extend(bd.report(f"{kind} {variant}, after acceptance"))
    finally:
        if bd:
            bd.uninstall()
        undo_experiments()
        if controller is not None:
            controller.stop()
        if worker is not None and worker.is_alive():
            worker.kill()
        if services is not None:
            services.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def aggregate(rows: list[Row]) -> list[Row]:
    """One row per (db, variant): the run with the median ratio vs its paired bare run, noting the spread."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.db, r.variant), []).append(r)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        ordered = sorted(group, key=lambda r: r.ratio)
        med = ordered[(len(ordered) - 1) // 2]
        spread = (f"median of {len(group)}: ratio {ordered[0].ratio:.2f}-{ordered[-1].ratio:.2f}, "
                  f"{min(r.rate for r in group):.0f}-{max(r.rate for r in group):.0f} msg/s")
        if med.variant.startswith("bare"):
            spread = f"{len(group)} runs: {min(r.rate for r in group):.0f}-{max(r.rate for r in group):.0f} msg/s"
        out.append(Row(med.db, med.variant, med.msgs, med.seconds, med.latencies, med.is_accept,
                       f"{spread}; {med.note}" if med.note else spread, med.srv_cpu, med.busy, med.bare_rate,
                       med.accepted_rate))
    return out


def print_table(rows: list[Row]) -> None:
    w = max(len(r.variant) for r in rows) + 2
    head = (f"{'db':<9}{'variant':<{w}}{'msgs':>6}{'seconds':>9}{'msg/s':>9}{'bare msg/s':>12}{'vs bare':>9}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'srvCPU ms/msg':>15}{'busy%':>7}  note")
    print(head)
    print("-" * len(head))
    for r in rows:
        p50 = f"{1000 * pct(r.latencies, 0.50):9.1f}" if r.latencies else f"{'-':>9}"
        p99 = f"{1000 * pct(r.latencies, 0.99):9.1f}" if r.latencies else f"{'-':>9}"
        cpu = f"{1000 * r.srv_cpu / max(r.msgs, 1):15.1f}" if r.srv_cpu == r.srv_cpu else f"{'-':>15}"
        busy = f"{100 * r.busy:7.0f}" if r.busy == r.busy else f"{'-':>7}"
        print(f"{r.db:<9}{r.variant:<{w}}{r.msgs:>6}{r.seconds:>9.2f}{r.rate:>9.1f}{r.bare_rate:>12.1f}"
              f"{r.ratio:>9.2f}{p50}{p99}{cpu}{busy}  {r.note}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL)
    ap.add_argument("--attach-every", type=int, default=10, help="every Nth message gets an attachment")
    ap.add_argument("--attach-mb", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20250303)
    ap.add_argument("--process-timeout", type=float, default=300.0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every measurement R times (interleaved) and report the median-rate run")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time acceptance components (adds a little overhead)")
    ap.add_argument("--variants", default="inline,defer,worker",
                    help="comma list of inline, defer, worker (see README)")
    ap.add_argument("--experiment", action="append", default=[], choices=sorted(EXPERIMENTS),
                    help="diagnostic: one extra set of Smart Bcc runs per db with the change(s) monkeypatched "
                         "in (repeatable; all given changes are applied together)")
    args = ap.parse_args(argv)

    import logging
    logging.basicConfig(level=logging.WARNING)
    from backend import addresses

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    # Same tokens in every fresh database, so the same message bytes route everywhere.
    deal_tokens = [addresses.new_item_token() for _ in range(N_DEALS)]
    slug = addresses.slug_for_domain(COMPANY_DOMAIN)
    company_addr = addresses.company_address(slug, MAIL_DOMAIN)
    deal_addrs = [addresses.item_address(slug, "deal", t, MAIL_DOMAIN) for t in deal_tokens]

    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    client = None
    rows: list[Row] = []
    notes: list[str] = []
    statements: list[str] = []
    try:
        t = time.monotonic()
        msgs = build_messages(args.messages, args.seed, company_addr, deal_addrs,
                              args.attach_every, int(args.attach_mb * 1024 * 1024))
        total_bytes = sum(len(raw) for _r, raw in msgs)
        sizes = sorted(len(raw) for _r, raw in msgs)
        print(f"generated {len(msgs)} messages in {time.monotonic() - t:.1f}s: {total_bytes / 1e6:.1f} MB, "
              f"median {sizes[len(sizes) // 2] / 1024:.1f} KiB, max {sizes[-1] / 1024:.0f} KiB; "
              f"concurrency {args.concurrency}; cpus {os.cpu_count()}")
        msgs_path = tmp / "msgs.pickle"
        with open(msgs_path, "wb") as fh:
            pickle.dump(msgs, fh, protocol=pickle.HIGHEST_PROTOCOL)
        del msgs
        client = Client(str(msgs_path))
        for db in dbs:
            if db == "postgres":
                try:
                    fresh_database("postgres", tmp, args.pg_url)
                except Exception as exc:
                    print(f"skipping postgres ({args.pg_url}): {exc.__class__.__name__}: {exc}")
                    continue
            sets = [[]] + ([args.experiment] if args.experiment else [])
            print(f"[{db}] load average before: {_loadavg()}", flush=True)
            for rep in range(args.repeat):
                tag = f" (run {rep + 1}/{args.repeat})" if args.repeat > 1 else ""
                for experiments in sets:
                    for v in variants:
                        # A bare run right before each Smart Bcc run: the ratio compares runs made
                        # seconds apart, under the same background load.
                        bare = run_bare(client, args.concurrency, args.messages, db)
                        bare.bare_rate = bare.rate
                        rows.append(bare)
                        extra = f" +{'+'.join(experiments)}" if experiments else ""
                        print(f"[{db}] bare {bare.rate:.0f} msg/s; smart bcc, {v}{extra}{tag} ...", flush=True)
                        for r in run_smartbcc(db, client, args.concurrency, deal_tokens, args.pg_url, v,
                                              args.process_timeout, args.breakdown, notes, experiments,
                                              statements):
                            r.bare_rate = bare.rate
                            rows.append(r)
            print(f"[{db}] load average after: {_loadavg()}", flush=True)
    finally:
        try:
            if client is not None:
                client.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = aggregate(rows)
    print()
    print_table(rows)
    print()
    print("bare msg/s = the bare receiver run made just before (paired); vs bare = msg/s / bare msg/s.")
    print("(a) = time from the first MAIL FROM to the last 250 reply (250 => raw fsynced + record committed).")
    print("(b) = time until every inbound record is processed/duplicate/failed (polled with SQL every 0.1 s);")
    print("      the 'API mailThreads total' note is GET /api/v1/mailbox/mailThreads via a Flask test client.")
    print("p50/p99 = per-message SMTP transaction latency (MAIL+RCPT+DATA as seen by smtplib.sendmail).")
    print("srvCPU = CPU time of this (receiver) process during the SMTP run, per message; busy% = whole-machine")
    print("      CPU use during the SMTP run (all cores: receiver + client process + PostgreSQL + pipeline worker).")
    for line in notes:
        print(line)
    print()
    print("SQL statements per message (before_cursor_execute on the engine; an executemany counts once;")
    print("  accept = the receiver during (a); pipeline = the separate worker process, split by stage,")
    print("  'runner' = claiming, loading and finishing records outside the stages):")
    for line in statements:
        print(f"  {line}")
    print()
    print(f"Goal: (a) >= {GOAL} of the bare receiver")
    all_met = True
    for r in rows:
        if r.variant.startswith("(a)"):
            ratio = r.ratio
            met = ratio >= GOAL
            diagnostic = " +" in r.variant
            if not diagnostic:
                all_met &= met
            print(f"  {r.db:<9}{r.variant:<60} ratio {ratio:.2f}  -> {'MET' if met else 'NOT MET'}"
                  f"{'  (diagnostic experiment, not counted)' if diagnostic else ''}")
    print(f"Overall (every non-diagnostic (a) row): {'MET' if all_met else 'NOT MET'}")
    print(f"Goal: (b) processed end to end >= {KEEP_UP} of the accepted rate of the same run (issue 18 part 2)")
    for r in rows:
        if r.variant.startswith("(b)"):
            met = r.of_accepted >= KEEP_UP
            print(f"  {r.db:<9}{r.variant:<60} {r.rate:6.1f} of {r.accepted_rate:6.1f} msg/s = "
                  f"{r.of_accepted:.2f}  -> {'MET' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
