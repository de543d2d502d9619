"""Hostile mail for the fuzz tests and the fuzz benchmark: corpus mutations and hand-made bombs."""
from __future__ import annotations

from hypothesis import strategies as st

from ..corpus import corpus_files

SEEDS = [p.read_bytes() for p in corpus_files() if p.stat().st_size < 400_000]

BAD_ADDRESSES = [
    b"alice@example.org)<bob@example.org>",          # CVE-2023-27043 shape
    b'"alice@example.org" <bob@example.org>, carol@x',
    b"<>", b"@", b"a@b@c", b'"unterminated <x@y>', b"=?utf-8?q?=E2=80?= <x@y.example>",
    b"\xff\xfe@\xc3\x28.example", b"(comment (nested (deep))) <x@y.example>",
]
BAD_CHARSETS = [b"x-unknown", b"utf-7", b"koi8-r", b"\"; boundary=", b"iso-8859-99", b"utf-16"]


def nesting_bomb(depth: int, kind: str = "multipart") -> bytes:
    if kind == "rfc822":
        inner = b"Subject: core\r\n\r\nbody\r\n"
        for _ in range(depth):
            inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
        return b"From: rep@acme.example\r\nSubject: bomb\r\n" + inner
    body = b"leaf\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
                + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n")
    return b"From: rep@acme.example\r\nSubject: nest\r\n" + body


def many_headers(count: int) -> bytes:
    return b"From: rep@acme.example\r\n" + b"X-H: v\r\n" * count + b"Subject: many\r\n\r\nbody\r\n"


def huge_line(size: int) -> bytes:
    return b"From: rep@acme.example\r\nSubject: " + b"S" * 2000 + b"\r\n\r\n" + b"x" * size + b"\r\n"


@st.composite
def mutated(draw) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "dup", "insert", "addr", "charset", "crlf"]))
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            raw = raw[:pos]
        elif op == "dup":
            raw[pos:pos] = raw[pos:pos + draw(st.integers(1, 4096))] * draw(st.integers(1, 20))
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=300))
        elif op == "addr":
            raw = bytearray(b"From: " + draw(st.sampled_from(BAD_ADDRESSES)) + b"\r\nTo: "
                            + draw(st.sampled_from(BAD_ADDRESSES)) + b"\r\n") + raw
        elif op == "charset":
            raw = raw.replace(b"charset=", b"charset=" + draw(st.sampled_from(BAD_CHARSETS)) + b";x=", 1)
        elif op == "crlf":
            raw = raw.replace(b"\r\n", b"\n") if b"\r\n" in raw else raw.replace(b"\n", b"\r\n")
    return bytes(raw)


def hostile() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated(),
        st.binary(max_size=2000),
        st.builds(nesting_bomb, st.integers(1, 300), st.sampled_from(["multipart", "rfc822"])),
        st.builds(many_headers, st.integers(1, 3000)),
        st.builds(huge_line, st.integers(1000, 300_000)),
    )
