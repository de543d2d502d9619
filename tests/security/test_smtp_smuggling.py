"""SMTP smuggling: only <CRLF>.<CRLF> ends DATA, so a bare-LF dot cannot start a second, forged message."""
from __future__ import annotations

import socket

from sqlalchemy import select

from backend.models import InboundRecord


def _expect(sock_file, code: bytes) -> bytes:
    while True:
        line = sock_file.readline()
        assert line[:3] == code, line
        if line[3:4] == b" ":
            return line


def test_bare_lf_dot_does_not_end_data(smtp_server, acme, services):
    host, port = smtp_server
    forged = (b"From: " + acme.email.encode() + b"\r\nSubject: real\r\nMessage-ID: <real@x>\r\n\r\nhello\n.\n"
              b"MAIL FROM:<" + acme.email.encode() + b">\r\nRCPT TO:<" + acme.bcc_address.encode() + b">\r\n"
              b"DATA\r\nFrom: " + acme.email.encode() + b"\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n")
    with socket.create_connection((host, port), timeout=30) as sock:
        f = sock.makefile("rb")
        _expect(f, b"220")
        for command, code in ((b"EHLO test", b"250"), (b"MAIL FROM:<" + acme.email.encode() + b">", b"250"),
                              (b"RCPT TO:<" + acme.bcc_address.encode() + b">", b"250"), (b"DATA", b"354")):
            sock.sendall(command + b"\r\n")
            _expect(f, code)
        sock.sendall(forged)
        _expect(f, b"250")
        sock.sendall(b"QUIT\r\n")
        _expect(f, b"221")
    with services.db.session() as session:
        records = session.scalars(select(InboundRecord)).all()
    assert len(records) == 1
    stored = services.blobs.get(records[0].raw_sha256)
    assert b"Subject: smuggled" in stored  # kept as body text of the one real message
