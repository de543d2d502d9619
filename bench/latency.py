#!/usr/bin/env python
"""Latency benchmark: from the SMTP `250` to the thread listed by GET /api/v1/mailbox/mailThreads.

    .venv/bin/python bench/latency.py [--topology embedded|procfile|both] [--rates 1,10,30,50]
                                      [--seconds S] [--max] [--baseline-rates 10] [--connections C]

Mail is sent at a steady rate (one message every 1/rate seconds, over C SMTP connections, default 1),
each 1.5 KB with a unique subject, from the seeded user to the company's Smart Bcc address. A poller
thread asks the API for the newest threads, one request after the other (at most one every --poll-ms),
and notes when each subject first appears; per message, that time minus the time of its 250 reply.

Topologies, each on free ports and a fresh database, servers in subprocesses:

  embedded   `smartbcc serve` (what `make run` starts): web + SMTP + in-process jobs, SQLite
  procfile   gunicorn (2 workers x 4 threads), `smartbcc smtpd`, a Celery worker (concurrency 2) on
             Redis, PostgreSQL (--pg-url; its public schema is DROPPED and recreated)

The baseline, measured in the same run (--baseline-rates, embedded only): the same `smartbcc serve`
with the job runner of before issue 18 patched in — an in-process job waits until no RCPT/DATA was
handled for 0.2 s, at most 10 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

from benchutil import pct  # noqa: E402
from ingest import BENCH_LIMITS, MAIL_DOMAIN, USER_EMAIL, free_port  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_latency"
DEFAULT_BROKER = "redis://127.0.0.1:6379/11"
BIN = Path(sys.executable).parent
# (topology, rate msg/s) -> (percentile, seconds) the issue asks for
GOALS = {("embedded", 10): (0.90, 0.5), ("embedded", 30): (0.90, 1.0), ("procfile", 30): (0.99, 0.3)}
FILLER = ("Thanks for the call today. As discussed, here is where we are on the renewal: the team "
          "would like to move to the annual plan, with forty seats from next quarter and the option "
          "to add twenty more in the autumn. Legal has reviewed the contract and has two small "
          "comments on the data processing addendum, attached in the next mail. ")


# --------------------------------------------------------------------------- servers

def _env(base: Path, url: str, http_port: int, smtp_port: int, jobs: str, broker: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env.update({
        "SMARTBCC_INSTANCE_DIR": str(base / "instance"), "SMARTBCC_DATABASE_URL": url,
        "SMARTBCC_SECRET_KEY": "bench-secret-not-for-production", "SMARTBCC_MAIL_DOMAIN": MAIL_DOMAIN,
        "SMARTBCC_HTTP_HOST": "127.0.0.1", "SMARTBCC_HTTP_PORT": str(http_port),
        "SMARTBCC_SMTP_HOST": "127.0.0.1", "SMARTBCC_SMTP_PORT": str(smtp_port),
        "SMARTBCC_BASE_URL": f"http://127.0.0.1:{http_port}", "SMARTBCC_JOBS": jobs,
        "SMARTBCC_BROKER_URL": broker, "SMARTBCC_SMTP_RELAY": "", "PYTHONUNBUFFERED": "1",
        # The poller asks far more often than a person: no API limit (0 = none).
        "SMARTBCC_API_LIMIT_PER_USER": "0", "SMARTBCC_API_LIMIT_PER_COMPANY": "0",
        **{f"SMARTBCC_{k.upper()}": v for k, v in BENCH_LIMITS.items()},
    })
    env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def _seed(url: str, base: Path):
    """Migrated database with the company and its user; returns ingest.Seeded (token, company address)."""
    from benchutil import fresh_database
    from ingest import bench_settings, seed

    from backend.services import Services

    kind = "sqlite" if url.startswith("sqlite") else "postgres"
    url = fresh_database(kind, base, url, "latency")
    services = Services.create(bench_settings(base / "instance", url, "eager"))
    try:
        return url, seed(services, [])
    finally:
        services.close()


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open within {timeout:.0f} s")


class Topology:
    """Servers of one topology on a fresh database; ``http_port``, ``smtp_port``, ``token``, ``rcpt``."""

    def __init__(self, kind: str, variant: str, pg_url: str, broker: str):
        self.kind, self.variant = kind, variant
        self.base = Path(tempfile.mkdtemp(prefix=f"bench-latency-{kind}-"))
        self.procs: list[subprocess.Popen] = []
        self.http_port, self.smtp_port = free_port(), free_port()
        url = f"sqlite:///{self.base / 'latency.sqlite3'}" if kind == "embedded" else pg_url
        url, seeded = _seed(url, self.base)
        self.token, self.rcpt = seeded.token, seeded.company_addr
        logs = self.base / "logs"
        logs.mkdir()
        if kind == "embedded":
            env = _env(self.base, url, self.http_port, self.smtp_port, "inline", broker)
            if variant == "old":
                cmd = [sys.executable, str(Path(__file__).resolve()), "--child-old-serve"]
            else:
                cmd = [str(BIN / "smartbcc"), "serve"]
            self._start("serve", cmd, env, logs)
        else:
            import redis

            redis.Redis.from_url(broker).flushdb()  # no task left from an earlier run
            env = _env(self.base, url, self.http_port, self.smtp_port, "celery", broker)
            self._start("web", [str(BIN / "gunicorn"), "-c", "python:backend.gunicorn_conf", "--bind",
                                f"127.0.0.1:{self.http_port}", "--workers", "2", "--threads", "4",
                                "backend.app:create_app()"], env, logs)
            self._start("smtp", [str(BIN / "smartbcc"), "smtpd"], env, logs)
            self._start("worker", [str(BIN / "celery"), "-A", "backend.worker", "worker", "--loglevel",
                                   "INFO", "--concurrency", "2", "--without-gossip", "--without-mingle",
                                   "--without-heartbeat"], env, logs)
        for port in (self.http_port, self.smtp_port):
            _wait_port(port, self.procs[0] if kind == "embedded" else self.procs[-1])
        if kind == "procfile":
            self._wait_worker(logs)

    def _start(self, name: str, cmd: list[str], env: dict, logs: Path) -> None:
        out = open(logs / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))

    def _wait_worker(self, logs: Path, timeout: float = 60.0) -> None:
        """A Celery worker that is not consuming yet would count its start-up into the first latencies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in (logs / "worker.log").read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError("the Celery worker did not become ready")

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-1500:]
                         for p in sorted((self.base / "logs").glob("*.log")))

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)


def child_old_serve() -> None:
    """`smartbcc serve` with the in-process job runner of before issue 18 (the baseline): a job
    waits until no RCPT/DATA has been handled for INTAKE_QUIET, at most INTAKE_YIELD_MAX."""
    import logging

    from backend import jobs
    from backend.cli_common import cli_services, cli_settings
    from backend.intake import smtp
    from backend.server import serve_all
    from backend.services import load_jobs

    logging.basicConfig(level=logging.WARNING)
    quiet, most, last = 0.2, 10.0, [0.0]
    for name in ("_route", "_accept"):
        orig = getattr(smtp.SmartBccHandler, name)

        def stamped(handler, *a, _orig=orig):
            last[0] = time.monotonic()
            return _orig(handler, *a)
        setattr(smtp.SmartBccHandler, name, stamped)
    load_jobs()
    task = jobs.TASKS["process_inbound"]

    def yielding(services, record_id):
        deadline = time.monotonic() + most
        while time.monotonic() - last[0] < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
        return task(services, record_id)
    jobs.TASKS["process_inbound"] = yielding
    jobs.PIPELINE_JOBS = frozenset()  # the pipeline in the thread pool, as before
    serve_all(cli_services(cli_settings()))


# --------------------------------------------------------------------------- sending and polling

def _message(tag: str, i: int, rcpt: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Alice Rep <{USER_EMAIL}>"
    msg["To"] = "Bob Smith <bob.smith@cust.example>"
    msg["Subject"] = f"Renewal {tag}x{i:06d} next steps"
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = f"<lat-{tag}-{i}@acme.example>"
    msg.set_content((FILLER * 4)[:1300] + f"\n\nRef {tag}x{i:06d}\nAlice\n")
    return msg.as_bytes()


class Poller(threading.Thread):
    """Asks for the newest threads back to back (at most one request every ``interval``) and notes
    when each of this run's subjects first appears (the time the answer arrived)."""

    def __init__(self, port: int, token: str, tag: str, interval: float):
        super().__init__(daemon=True)
        self.port, self.token, self.tag, self.interval = port, token, tag, interval
        self.seen: dict[int, float] = {}
        self.sent: dict[int, float] = {}  # i -> time of the 250 (written by the senders)
        self.stop = threading.Event()
        self.requests, self.request_time, self.errors = 0, 0.0, 0
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def _get(self, query: str) -> list[dict]:
        t = time.monotonic()
        try:
            self.conn.request("GET", f"/api/v1/mailbox/mailThreads?{query}",
                              headers={"Authorization": f"Bearer {self.token}"})
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.errors += 1
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return []
        self.requests += 1
        self.request_time += time.monotonic() - t
        if resp.status != 200:
            self.errors += 1
            return []
        return json.loads(body)["data"] or []

    def _note(self, threads: list[dict]) -> None:
        now = time.monotonic()
        marker = f"{self.tag}x"
        for thread in threads:
            subject = thread.get("subject") or ""
            at = subject.find(marker)
            if at >= 0:
                i = int(subject[at + len(marker):at + len(marker) + 6])
                self.seen.setdefault(i, now)

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            outstanding = [i for i in list(self.sent) if i not in self.seen]
            self._note(self._get(f"limit={min(200, max(20, len(outstanding) + 10))}"))
            # A message processed late sorts below newer ones already listed: look it up by name.
            old = [i for i in outstanding if i not in self.seen and t - self.sent[i] > 2.0]
            if old:
                self._note(self._get(f"q={self.tag}x{min(old):06d}&limit=5"))
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - t)))


def run_rate(top: Topology, rate: float, seconds: float, connections: int, poll_ms: float,
             drain: float) -> dict:
    tag = uuid.uuid4().hex[:8]
    n = max(1, int(round(rate * seconds)))
    msgs = [_message(tag, i, top.rcpt) for i in range(n)]
    poller = Poller(top.http_port, top.token, tag, poll_ms / 1000)
    poller.start()
    errors: list[str] = []
    smtp_times: list[float] = []
    t0 = time.monotonic() + 0.2

    def sender(k: int) -> None:
        client = smtplib.SMTP("127.0.0.1", top.smtp_port, timeout=60)
        client.ehlo("bench.latency")
        try:
            for i in range(k, n, connections):
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                try:
                    t = time.monotonic()
                    client.sendmail(USER_EMAIL, [top.rcpt], msgs[i])
                    poller.sent[i] = done = time.monotonic()
                    smtp_times.append(done - t)
                except (smtplib.SMTPException, OSError) as exc:
                    errors.append(f"{i}: {exc!r}"[:200])
        finally:
            try:
                client.quit()
            except Exception:  # noqa: BLE001 - the run is over either way
                pass

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_sent = time.monotonic()
    deadline = t_sent + drain
    while time.monotonic() < deadline and len(poller.seen) < len(poller.sent):
        time.sleep(0.05)
    poller.stop.set()
    poller.join(10)
    lat = [poller.seen[i] - poller.sent[i] for i in poller.sent if i in poller.seen]
    return {"rate": rate, "n": n, "ok": len(poller.sent), "sent_rate": len(poller.sent) / max(t_sent - t0, 1e-9),
            "lat": lat, "smtp": smtp_times, "missing": len(poller.sent) - len(lat), "errors": errors,
            "poll_errors": poller.errors, "polls": poller.requests / max(time.monotonic() - t0, 1e-9),
            "poll_ms": 1000 * poller.request_time / max(poller.requests, 1)}


# --------------------------------------------------------------------------- report

def _fmt(res: dict) -> str:
    lat = res["lat"]
    figures = "".join(f"{1000 * pct(lat, q):>9.0f}" if lat else f"{'-':>9}" for q in (0.5, 0.9, 0.99, 1.0))
    note = []
    if res["missing"]:
        note.append(f"{res['missing']} never visible")
    if res["errors"]:
        note.append(f"{len(res['errors'])} SMTP errors, first {res['errors'][0]}")
    if res["poll_errors"]:
        note.append(f"{res['poll_errors']} API errors")
    if res["sent_rate"] < 0.95 * res["rate"]:
        note.append("sender fell behind")
    smtp = "".join(f"{1000 * pct(res['smtp'], q):>7.0f}" if res["smtp"] else f"{'-':>7}" for q in (0.5, 0.99))
    return (f"{res['rate']:>7g}{res['sent_rate']:>9.1f}{res['ok']:>6}{figures}{smtp}"
            f"{res['polls']:>8.0f}{res['poll_ms']:>9.1f}  {'; '.join(note)}")


HEAD = (f"{'topology':<10}{'runner':<22}{'rate':>7}{'sent/s':>9}{'msgs':>6}{'p50 ms':>9}{'p90 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'smtp50':>7}{'smtp99':>7}{'polls/s':>8}{'poll ms':>9}  note")


def sustained(res: dict) -> bool:
    """The rate is kept up with: sent on time, everything visible, p99 under 2 s."""
    return (res["sent_rate"] >= 0.95 * res["rate"] and not res["missing"] and not res["errors"]
            and bool(res["lat"]) and pct(res["lat"], 0.99) < 2.0)


def measure(kind: str, variant: str, rates: list[float], args, rows: list) -> None:
    label = {"new": "jobs at once" if kind == "embedded" else "celery", "old": "old: quiet-gap yield"}[variant]
    print(f"[{kind}/{label}] starting servers ...", flush=True)
    top = Topology(kind, variant, args.pg_url, args.broker)
    try:
        for rate in rates:
            res = run_rate(top, rate, args.seconds, args.connections, args.poll_ms, args.drain)
            rows.append((kind, label, res))
            print(f"{kind:<10}{label:<22}{_fmt(res)}", flush=True)
            if res["missing"] or res["poll_errors"]:
                print(top.log_tail(), flush=True)
        if args.max and variant == "new":
            rate, best = args.max_start, None
            while rate <= args.max_limit:
                res = run_rate(top, rate, max(5.0, args.seconds / 2), args.connections, args.poll_ms, args.drain)
                print(f"{kind:<10}{label + ' (max?)':<22}{_fmt(res)}", flush=True)
                if not sustained(res):
                    break
                best, rate = res, round(rate * 1.25)
            if best is not None:
                rows.append((kind, label + " (max)", best))
    except Exception:
        print(top.log_tail())
        raise
    finally:
        top.close()


def report(rows: list) -> bool:
    print()
    print(HEAD)
    print("-" * len(HEAD))
    for kind, label, res in rows:
        print(f"{kind:<10}{label:<22}{_fmt(res)}")
    print()
    print("latency = from the 250 reply to the first API answer listing the thread (upper bound: the")
    print("answer's arrival; polls one after the other, 'poll ms' each). smtp50/99 = one SMTP transaction")
    print("(MAIL+RCPT+DATA to the 250), ms. 'old' = the runner before issue 18 (quiet-gap yield).")
    met_all = True
    for kind, label, res in rows:
        goal = GOALS.get((kind, int(res["rate"])))
        if goal is None or label.startswith("old") or "(max)" in label:
            continue
        q, limit = goal
        value = pct(res["lat"], q) if res["lat"] else float("inf")
        met = value < limit and not res["missing"]
        met_all &= met
        print(f"  goal {kind} {res['rate']:g} msg/s p{int(q * 100)} < {1000 * limit:.0f} ms: "
              f"{1000 * value:.0f} ms  {'✓ MET' if met else '✗ NOT MET'}")
    for _kind, _label, res in rows:
        if res["missing"] and res["rate"] <= 10:
            print(f"CHECK FAILED: {res['missing']} messages at {res['rate']:g} msg/s never became visible")
    return met_all


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", choices=("embedded", "procfile", "both"), default="embedded")
    ap.add_argument("--rates", default="1,10,30,50", help="msg/s, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="sending time per rate")
    ap.add_argument("--baseline-rates", default="10", help="rates for the old runner (embedded); empty: none")
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--poll-ms", type=float, default=50.0, help="at most one API request per this many ms")
    ap.add_argument("--drain", type=float, default=30.0, help="how long to wait for the last threads after sending")
    ap.add_argument("--max", action="store_true", help="also find the highest rate sustained (x1.25 steps)")
    ap.add_argument("--max-start", type=float, default=40.0)
    ap.add_argument("--max-limit", type=float, default=400.0)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL)
    ap.add_argument("--broker", default=DEFAULT_BROKER, help="Redis for the procfile topology's Celery (FLUSHED)")
    ap.add_argument("--child-old-serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_old_serve:
        child_old_serve()
        return 0
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    baseline = [float(r) for r in args.baseline_rates.split(",") if r.strip()]
    print(f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; {args.seconds:g} s per rate, "
          f"{args.connections} SMTP connection(s), 1.5 KB mails", flush=True)
    rows: list = []
    kinds = ["embedded", "procfile"] if args.topology == "both" else [args.topology]
    for kind in kinds:
        if kind == "embedded" and baseline:
            measure(kind, "old", baseline, args, rows)
        if rates or args.max:
            measure(kind, "new", rates, args, rows)
    met = report(rows)
    print(f"Overall: {'MET' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
