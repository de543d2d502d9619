"""SMTP smuggling, every ending a sending server might read as the end of DATA (bare LF, bare CR, or a
mix) followed by pipelined commands: only <CRLF>.<CRLF> ends DATA, so none ends it early and none
lets a second, forged message in (raw sockets; the receiver's own DATA reader, backend/intake/smtp.py)."""
from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import select

from backend.models import InboundRecord

FAKE_ENDINGS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-dot-cr": b"\r.\r",
}


class Conversation:
    def __init__(self, sock: socket.socket):
        self.sock, self.file = sock, sock.makefile("rb")

    def reply(self) -> bytes:
        while True:
            line = self.file.readline()
            assert line, "the server closed the connection"
            if line[3:4] != b"-":
                return line

    def command(self, line: bytes, code: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        answer = self.reply()
        assert answer[:3] == code, (line, answer)
        return answer

    def nothing_more(self, wait: float = 0.5) -> None:
        """No reply is pending: DATA has not ended."""
        self.sock.settimeout(wait)
        try:
            extra = self.sock.recv(4096)
        except socket.timeout:
            extra = None
        finally:
            self.sock.settimeout(30)
        assert extra is None, f"the server answered before the real end of DATA: {extra!r}"


def _open(host, port, sender: bytes, rcpt: bytes) -> Conversation:
    sock = socket.create_connection((host, port), timeout=30)
    talk = Conversation(sock)
    assert talk.reply()[:3] == b"220"
    talk.command(b"EHLO client.test", b"250")
    talk.command(b"MAIL FROM:<" + sender + b">", b"250")
    talk.command(b"RCPT TO:<" + rcpt + b">", b"250")
    talk.command(b"DATA", b"354")
    return talk


def _smuggled(acme, ending: bytes) -> tuple[bytes, bytes]:
    """(the real message up to and including the fake ending, the pipelined second message + real end)."""
    sender, rcpt = acme.email.encode(), acme.bcc_address.encode()
    real = (b"From: " + sender + b"\r\nSubject: real\r\nMessage-ID: <real@acme.example>\r\n\r\nhello" + ending)
    second = (b"MAIL FROM:<" + sender + b">\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n"
              b"From: " + sender + b"\r\nSubject: smuggled\r\nMessage-ID: <smuggled@acme.example>\r\n\r\n"
              b"forged\r\n.\r\n")
    return real, second


def _records(services) -> list[InboundRecord]:
    with services.db.session() as session:
        return list(session.scalars(select(InboundRecord)))


@pytest.mark.parametrize("name", sorted(FAKE_ENDINGS))
def test_fake_end_of_data_in_one_write_lets_no_second_message_in(smtp_server, acme, services, name):
    host, port = smtp_server
    real, second = _smuggled(acme, FAKE_ENDINGS[name])
    talk = _open(host, port, acme.email.encode(), acme.bcc_address.encode())
    talk.sock.sendall(real + second)
    first = talk.reply()
    assert first.startswith(b"250 2.0.0"), first
    talk.sock.sendall(b"QUIT\r\n")
    # The pipelined MAIL, RCPT and DATA were message text: no replies of their own, just QUIT's.
    assert talk.reply()[:3] == b"221"
    assert talk.file.read() == b""
    talk.sock.close()
    (record,) = _records(services)
    stored = services.blobs.get(record.raw_sha256)
    assert b"Subject: real" in stored
    assert b"Subject: smuggled" in stored and b"forged" in stored  # body text of the one real message


@pytest.mark.parametrize("name", sorted(FAKE_ENDINGS))
def test_fake_end_of_data_at_the_end_of_a_packet_does_not_end_data(smtp_server, acme, services, name):
    """The fake ending arrives alone, then a pause: the server must still be waiting for <CRLF>.<CRLF>."""
    host, port = smtp_server
    real, second = _smuggled(acme, FAKE_ENDINGS[name])
    talk = _open(host, port, acme.email.encode(), acme.bcc_address.encode())
    talk.sock.sendall(real)
    talk.nothing_more()
    assert _records(services) == []
    talk.sock.sendall(second)
    assert talk.reply().startswith(b"250 2.0.0")
    talk.command(b"QUIT", b"221")
    talk.sock.close()
    assert len(_records(services)) == 1


def test_real_end_then_pipelined_quit_is_one_message(smtp_server, acme, services):
    host, port = smtp_server
    talk = _open(host, port, acme.email.encode(), acme.bcc_address.encode())
    talk.sock.sendall(b"From: " + acme.email.encode() + b"\r\nSubject: one\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert talk.reply().startswith(b"250 2.0.0")
    assert talk.reply()[:3] == b"221"
    talk.sock.close()
    assert len(_records(services)) == 1


def test_connection_closed_mid_data_stores_nothing(smtp_server, acme, services):
    """A message cut off before <CRLF>.<CRLF> (a dropped connection) is not a message."""
    host, port = smtp_server
    talk = _open(host, port, acme.email.encode(), acme.bcc_address.encode())
    talk.sock.sendall(b"From: " + acme.email.encode() + b"\r\nSubject: cut\r\n\r\nhalf a mail\r\n")
    talk.sock.shutdown(socket.SHUT_WR)
    talk.sock.close()
    time.sleep(0.5)
    assert _records(services) == []
