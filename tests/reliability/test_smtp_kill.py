"""SIGKILL the SMTP process at random moments: every 250 is stored exactly once, the rest can be resent."""
from __future__ import annotations

import os
import random
import signal
import smtplib
import threading
import time

from sqlalchemy import func, select

from backend.models import InboundRecord, MailMessage

from ..conftest import free_port
from .procs import process_env, smartbcc_exe, start

# CI kills 8 times; SMARTBCC_KILL_ROUNDS=100 for a longer run.
ROUNDS = int(os.environ.get("SMARTBCC_KILL_ROUNDS", "8"))
PER_ROUND = 25


def _raw(sender: str, n: int) -> bytes:
    return (f"From: {sender}\r\nTo: customer{n % 7}@cust.example\r\nSubject: Stream {n}\r\n"
            f"Message-ID: <stream-{n}@acme.example>\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\n\r\n"
            f"Body {n}\r\n" + "x" * 2000 + "\r\n").encode()


def _send_stream(port, sender, rcpt, numbers, acked, stop):
    for n in numbers:
        if stop.is_set():
            return
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail(sender, [rcpt], _raw(sender, n))
            acked.add(n)
        except (OSError, smtplib.SMTPException):
            return  # the server died under us; what was not acked is resent later


def _wait_until_processed(services, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.db.session() as session:
            pending = session.scalar(select(func.count()).select_from(InboundRecord).where(
                InboundRecord.status == "received"))
            stored = session.scalar(select(func.count()).select_from(MailMessage))
        if pending == 0 and stored >= expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"still {pending} unprocessed, {stored} stored of {expected}")


def test_sigkill_during_deliveries_loses_and_duplicates_nothing(services, settings, acme):
    rng = random.Random(20261126)
    port = free_port()
    env = process_env(settings, SMARTBCC_SMTP_PORT=port)
    args = [smartbcc_exe(), "smtpd"]
    acked: set[int] = set()
    todo = list(range(ROUNDS * PER_ROUND))
    kills = 0
    for round_no in range(ROUNDS):
        batch, todo = todo[:PER_ROUND], todo[PER_ROUND:]
        proc = start(args, env, port)
        stop = threading.Event()
        sender = threading.Thread(target=_send_stream, args=(port, acme.email, acme.bcc_address, batch, acked, stop))
        sender.start()
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        stop.set()
        sender.join()
        todo = [n for n in batch if n not in acked] + todo
    acked_before_final = len(acked)
    # The last process resumes whatever was acknowledged but not processed, and takes the rest.
    proc = start(args, env, port)
    try:
        _send_stream(port, acme.email, acme.bcc_address, todo, acked, threading.Event())
        assert len(acked) == ROUNDS * PER_ROUND
        _wait_until_processed(services, ROUNDS * PER_ROUND)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    with services.db.session() as session:
        counts = dict(session.execute(select(MailMessage.message_id_header, func.count())
                                      .group_by(MailMessage.message_id_header)).all())
        failed = session.scalar(select(func.count()).select_from(InboundRecord).where(
            InboundRecord.status == "failed"))
    assert failed == 0
    assert kills == ROUNDS
    missing = [n for n in range(ROUNDS * PER_ROUND) if counts.get(f"stream-{n}@acme.example") != 1]
    assert missing == [], f"not stored exactly once: {missing[:10]}"
    print(f"\nSIGKILL rounds: {kills}, messages: {ROUNDS * PER_ROUND}, acknowledged before a kill: "
          f"{acked_before_final}, resent after a kill: {ROUNDS * PER_ROUND - acked_before_final}, "
          f"lost: {len(missing)}, duplicated: {sum(1 for c in counts.values() if c > 1)}")
