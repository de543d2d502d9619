"""Two web and two SMTP processes, one database, one Redis, Celery workers: nothing lost, nothing doubled."""
from __future__ import annotations

import smtplib
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .. import isolation
from ..conftest import free_port
from .procs import process_env, smartbcc_exe, start, stop

MESSAGES = 60


def _raw(sender: str, n: int) -> bytes:
    return (f"From: {sender}\r\nTo: c{n % 5}@cust.example\r\nSubject: Scale {n}\r\n"
            f"Message-ID: <scale-{n}@acme.example>\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\n\r\nhi {n}\r\n").encode()


def test_two_web_two_smtp_one_database(services, settings, acme, tmp_path):
    import os
    import sys
    import subprocess

    redis_url = isolation.redis_url(13)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = process_env(settings, SMARTBCC_JOBS="celery", SMARTBCC_BROKER_URL=redis_url)
    smtp_ports = [free_port(), free_port()]
    web_ports = [free_port(), free_port()]
    procs = []
    try:
        for port in smtp_ports:
            procs.append(start([smartbcc_exe(), "smtpd"], dict(env, SMARTBCC_SMTP_PORT=str(port)), port))
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        for port in web_ports:
            procs.append(start([gunicorn, "-c", "python:backend.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
                                "--workers", "2",
                                "backend.app:create_app()"], env, port))
        celery = os.path.join(os.path.dirname(sys.executable), "celery")
        for n in range(2):
            procs.append(subprocess.Popen(
                [celery, "-A", "backend.worker", "worker", "--concurrency", "2", "--loglevel", "WARNING",
                 "-n", f"w{n}@%h", "--without-gossip", "--without-mingle"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def send(n):
            port = smtp_ports[n % 2]
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.sendmail(acme.email, [acme.bcc_address], _raw(acme.email, n))
            return n

        with ThreadPoolExecutor(4) as pool:
            sent = sorted(pool.map(send, range(MESSAGES)))
        assert sent == list(range(MESSAGES))
        # A duplicate delivery through the other process collapses.
        for n in range(5):
            with smtplib.SMTP("127.0.0.1", smtp_ports[(n + 1) % 2], timeout=30) as client:
                client.sendmail(acme.email, [acme.bcc_address], _raw(acme.email, n))

        deadline = time.monotonic() + 90
        seen: dict[int, list[str]] = {}
        while time.monotonic() < deadline:
            seen = {}
            for port in web_ports:
                response = requests.get(f"http://127.0.0.1:{port}/api/v1/mailbox/mailThreads",
                                        params={"limit": 500}, headers=acme.auth, timeout=30)
                assert response.status_code == 200, response.text
                seen[port] = sorted(t["subject"] for t in response.json()["data"])
            if all(len(v) >= MESSAGES for v in seen.values()):
                break
            time.sleep(0.5)
        expected = sorted(f"Scale {n}" for n in range(MESSAGES))
        for port in web_ports:
            assert seen[port] == expected, f"web on {port} sees {len(seen[port])} threads"
    finally:
        for proc in procs:
            stop(proc)
