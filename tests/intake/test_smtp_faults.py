"""Our faults are ours to retry: an exception in any SMTP hook answers 451 4.3.0 with a sentence and
is logged with its traceback; the rate limiter runs off the event loop and, when it fails, lets the
mail through (logged)."""
from __future__ import annotations

import logging
import socket
import threading
import time


from aiosmtpd.smtp import MISSING

from backend.intake.smtp import SmartBccHandler

from .conftest import make_mail, split_reply

SENTENCE = "Smart Bcc had a problem on its side; your mail server will retry. Nothing was lost."


class Boom(RuntimeError):
    """The injected fault (its words must not reach the sender)."""


def _raise(*_args, **_kwargs):
    raise Boom("injected fault (simulated)")


async def _failing_ehlo(self, server, session, envelope, hostname, responses):
    raise Boom("injected EHLO fault (simulated)")


async def _failing_hook(self, server, session, envelope, *args):
    raise Boom("injected fault (simulated)")


def _fails_once(original=None):
    """A hook that raises the first time and then does what ``original`` does (aiosmtpd's default
    when there is none). aiosmtpd binds the hooks when a connection opens: patch before connecting."""
    calls = {"n": 0}

    async def hook(self, server, session, envelope, *args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Boom("injected fault (simulated)")
        if original is None:
            return MISSING
        return await original(self, server, session, envelope, *args)

    return hook


def assert_451(reply) -> None:
    code, status, text = reply
    assert (code, status) == (451, "4.3.0"), reply
    assert text == SENTENCE, text
    for leak in ("Boom", "injected", "simulated", "Error", "Traceback"):
        assert leak not in text, text


def assert_logged_with_traceback(caplog) -> None:
    failures = [r for r in caplog.records if r.name == "backend.intake.smtp" and r.levelno >= logging.ERROR]
    assert failures, [r.getMessage() for r in caplog.records]
    assert any(r.exc_info and r.exc_info[0] is Boom for r in failures), failures


def _reply(code, msg) -> tuple[int, str, str]:
    return (code, *split_reply(msg))


def test_ehlo_hook_failure_gets_451_430_logged(smtp_server, monkeypatch, caplog):
    import smtplib

    monkeypatch.setattr(SmartBccHandler, "handle_EHLO", _failing_ehlo, raising=False)
    host, port = smtp_server
    with smtplib.SMTP(host, port, timeout=30) as client:
        code, msg = client.ehlo("client.test")
        assert_451(_reply(code, msg))
    assert_logged_with_traceback(caplog)


def test_helo_hook_failure_gets_451_430_logged(smtp_server, monkeypatch, caplog):
    import smtplib

    monkeypatch.setattr(SmartBccHandler, "handle_HELO", _failing_hook, raising=False)
    host, port = smtp_server
    with smtplib.SMTP(host, port, timeout=30) as client:
        code, msg = client.helo("client.test")
        assert_451(_reply(code, msg))
    assert_logged_with_traceback(caplog)


def test_mail_hook_failure_gets_451_430_then_session_goes_on(smtp_client, acme, monkeypatch, caplog, stored):
    monkeypatch.setattr(SmartBccHandler, "handle_MAIL", _fails_once(), raising=False)
    client = smtp_client()
    assert_451(_reply(*client.mail(acme.email)))
    assert_logged_with_traceback(caplog)
    # Nothing of the failed MAIL stays: the same connection sends the mail.
    assert client.mail(acme.email)[0] == 250
    assert client.rcpt(acme.bcc_address)[0] == 250
    assert client.data(make_mail(acme.email, "After MAIL fault", "aftermail@acme.example"))[0] == 250
    assert stored().records == 1


def test_rcpt_hook_failure_gets_451_430_logged(smtp_client, acme, monkeypatch, caplog, stored):
    monkeypatch.setattr(SmartBccHandler, "handle_RCPT", _fails_once(SmartBccHandler.handle_RCPT))
    client = smtp_client()
    assert client.mail(acme.email)[0] == 250
    assert_451(_reply(*client.rcpt(acme.bcc_address)))
    assert_logged_with_traceback(caplog)
    assert client.rcpt(acme.bcc_address)[0] == 250
    assert client.data(make_mail(acme.email, "After RCPT fault", "afterrcpt@acme.example"))[0] == 250
    assert stored().records == 1


def test_rcpt_failure_in_what_the_hook_calls_gets_451_430(smtp_client, acme, monkeypatch, caplog):
    """Not the hook itself: a function it calls outside any guard (here the wording of a refusal)."""
    monkeypatch.setattr("backend.intake.smtp.unknown_address", _raise)
    client = smtp_client()
    assert client.mail(acme.email)[0] == 250
    assert_451(_reply(*client.rcpt("nobody@bcc.test")))
    assert_logged_with_traceback(caplog)


def test_data_hook_failure_gets_451_430_and_the_next_transaction_works(
        smtp_client, acme, monkeypatch, caplog, stored):
    monkeypatch.setattr(SmartBccHandler, "handle_DATA", _fails_once(SmartBccHandler.handle_DATA))
    client = smtp_client()
    assert client.mail(acme.email)[0] == 250
    assert client.rcpt(acme.bcc_address)[0] == 250
    raw = make_mail(acme.email, "DATA fault", "datafault@acme.example")
    assert_451(_reply(*client.data(raw)))
    assert_logged_with_traceback(caplog)
    assert stored().records == 0
    # The envelope of the failed transaction is gone: a new MAIL is not "nested".
    assert client.mail(acme.email)[0] == 250
    assert client.rcpt(acme.bcc_address)[0] == 250
    assert client.data(raw)[0] == 250
    assert stored().records == 1


# --- the rate limiter ---------------------------------------------------------------------------


class _Settings:
    """The test's settings with some values changed at run time (Settings is frozen)."""

    def __init__(self, base, **changed):
        self._base, self._changed = base, changed

    def __getattr__(self, name):
        return self._changed[name] if name in self._changed else getattr(self._base, name)


def test_unparseable_limit_at_run_time_lets_the_mail_through_logged(
        transact, acme, services, monkeypatch, caplog, records):
    """SMARTBCC_SMTP_LIMIT_PER_SENDER="ten per minute" once answered RCPT with '500 Error: (ValueError) ...'."""
    monkeypatch.setattr(services, "settings", _Settings(services.settings, smtp_limit_per_sender="ten per minute"))
    result = transact(acme.email, [acme.bcc_address], make_mail(acme.email, "Limit broken", "lb@acme.example"))
    assert result.rcpts[0][:2] == (250, "2.1.5"), result.rcpts
    assert result.data[:2] == (250, "2.0.0"), result.data
    assert len(records()) == 1
    assert any("rate limit check failed" in r.getMessage() and r.exc_info for r in caplog.records), \
        [r.getMessage() for r in caplog.records]


def test_limiter_that_raises_lets_the_mail_through_logged(transact, acme, services, monkeypatch, caplog, records):
    monkeypatch.setattr(services.limiter, "check_all", _raise)
    result = transact(acme.email, [acme.bcc_address], make_mail(acme.email, "Redis down", "redis@acme.example"))
    assert result.rcpts[0][:2] == (250, "2.1.5"), result.rcpts
    assert result.data[:2] == (250, "2.0.0"), result.data
    assert len(records()) == 1
    assert any("rate limit check failed" in r.getMessage() and r.exc_info for r in caplog.records), \
        [r.getMessage() for r in caplog.records]


def _session(host, port, sender, rcpt, raw) -> list[bytes]:
    """One whole SMTP session over a raw socket; returns each reply line."""
    replies = []
    with socket.create_connection((host, port), timeout=30) as sock:
        f = sock.makefile("rb")

        def expect():
            while True:
                line = f.readline()
                replies.append(line)
                if line[3:4] != b"-":
                    return line

        expect()
        for command in (b"EHLO client.test", b"MAIL FROM:<" + sender.encode() + b">",
                        b"RCPT TO:<" + rcpt.encode() + b">", b"DATA"):
            sock.sendall(command + b"\r\n")
            expect()
        sock.sendall(raw + b"\r\n.\r\n")
        expect()
        sock.sendall(b"QUIT\r\n")
        expect()
    return replies


def test_slow_limiter_does_not_stall_another_session(smtp_server, acme, services, monkeypatch, records):
    """A limiter that stalls (Redis at its timeout) holds up only the RCPT that asked it: the slow
    session's limiter call is held until another session has finished its whole mail."""
    real = services.limiter.check_all
    waiting, release = threading.Event(), threading.Event()

    def slow_check_all(checks):
        if any("slow@" in key for key, _ in checks):
            waiting.set()
            release.wait(30)  # held until the other session is done (or the test gives up)
        return real(checks)

    monkeypatch.setattr(services.limiter, "check_all", slow_check_all)
    host, port = smtp_server
    slow_replies: list[bytes] = []
    slow = threading.Thread(target=lambda: slow_replies.extend(_session(
        host, port, "slow@stranger.example", acme.bcc_address, make_mail("slow@stranger.example"))))
    slow.start()
    try:
        assert waiting.wait(30), "the slow session never reached the limiter"
        replies = _session(host, port, acme.email, acme.bcc_address,
                           make_mail(acme.email, "Not held up", "notheld@acme.example"))
        held = not release.is_set() and slow.is_alive()
    finally:
        release.set()
    slow.join(30)
    assert held, "the slow session was not still waiting on the limiter"
    assert any(r.startswith(b"250 2.0.0") for r in replies), replies
    assert any(r.startswith(b"250 2.1.5") for r in slow_replies), slow_replies  # it went on after the stall
    assert [r.header_from for r in records()] == [acme.email]
