"""Large messages are parsed without the standard library's extra copies, to the same result."""
from __future__ import annotations

import base64
import random
import tracemalloc
from email import policy
from email.parser import BytesParser

import pytest

from backend.mail import mime
from backend.mail.mime import parse_message
from backend.mail.parts import _clean_base64
from tests.corpus import corpus_files


def _leaves(raw: bytes):
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    return [part for part in msg.walk() if not part.is_multipart()]


def test_fast_base64_gives_the_standard_librarys_bytes_on_the_corpus():
    used = 0
    for path in corpus_files():
        for part in _leaves(path.read_bytes()):
            fast = _clean_base64(part)
            if fast is not None:
                used += 1
                assert fast == part.get_payload(decode=True), path
    assert used >= 10  # the corpus has plenty of base64 parts taking the fast path


@pytest.mark.parametrize("body", [
    "aGVsbG8gd29ybGQ",          # padding missing: the standard library notes a defect
    "aGVsbG8g d29ybGQ=",        # a space: not plain base64
    "aGVsbG8gd29ybGQ=\r\n!!",   # junk after the data
    "aGVsbG8g\u00e9d29ybGQ=",   # not ASCII
])
def test_anything_but_plain_base64_is_left_to_the_standard_library(body):
    raw = (f"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
           .encode("utf-8"))
    [part] = _leaves(raw)
    assert _clean_base64(part) is None
    parsed = parse_message(raw)
    # Decoded the standard library's way, with its defect noted.
    assert [a.content for a in parsed.attachments] == [part.get_payload(decode=True)]
    assert any("base64" in d for d in parsed.defects)


def test_a_plain_base64_part_is_decoded_without_a_line_list():
    [part] = _leaves(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
                     + base64.encodebytes(b"x" * 1000).replace(b"\n", b"\r\n"))
    assert _clean_base64(part) == b"x" * 1000
    [part] = _leaves(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhi=\r\n")
    assert _clean_base64(part) is None


def _big_message(size: int) -> bytes:
    payload = base64.encodebytes(random.Random(7).randbytes(size)).replace(b"\n", b"\r\n")
    return (b"From: rep@acme.example\r\nTo: bob@cust.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            b"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=big.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--XX--\r\n")


def test_a_big_attachment_comes_out_whole_in_bounded_memory():
    raw = _big_message(3 * 1024 * 1024)
    expected = base64.decodebytes(raw.split(b"base64\r\n\r\n", 1)[1].split(b"--XX--")[0])
    tracemalloc.start()
    try:
        parsed = parse_message(raw)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [attachment] = parsed.attachments
    assert attachment.content == expected and attachment.filename == "big.pdf"
    # Before: the whole message as one string in a StringIO (4 bytes a character) and the decoded
    # part's list of lines: 7.7x. Now the parser's own line list and the decoded bytes remain.
    assert peak < 3.5 * len(raw), peak / len(raw)


def test_feeding_in_slices_splits_nothing_that_matters(monkeypatch):
    raw = _big_message(200_000)
    whole = parse_message(raw)
    monkeypatch.setattr(mime, "FEED_CHUNK", 7)  # slices cutting CRLFs, boundaries and headers apart
    sliced = parse_message(raw)
    assert sliced == whole


def test_reading_the_stored_file_gives_what_parsing_the_bytes_gives():
    from backend.mail.mime import parse_file

    files = corpus_files()
    assert len(files) > 50
    for path in files:
        assert parse_file(path) == parse_message(path.read_bytes()), path


def test_boundary_lines_are_counted_across_slices():
    from backend.mail.mime import _count_boundary_lines

    data = b"a\n--b\n--\n\n--x--\n-\n--"
    for size in range(1, len(data) + 1):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        assert _count_boundary_lines(lambda: iter(chunks)) == data.count(b"\n--"), size


def test_a_raw_file_gone_from_the_store_fails_the_record_and_stores_nothing(services, acme, monkeypatch):
    from sqlalchemy import func, select

    from backend.intake.accept import accept_message
    from backend.models import InboundRecord, MailMessage
    from backend.pipeline.runner import process_inbound

    monkeypatch.setattr(services.jobs, "enqueue", lambda *args: None)
    raw = _big_message(10_000).replace(b"From: rep@acme.example", f"From: {acme.email}".encode())
    [record_id] = accept_message(services, raw, source="smtp", envelope_from=acme.email,
                                 recipients=[acme.bcc_address])
    with services.db.session() as session:
        path = services.blobs.path(session.get(InboundRecord, record_id).raw_sha256)
    path.rename(path.with_suffix(".away"))
    assert process_inbound(services, record_id) == "failed"
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        assert "missing from the blob store" in record.error
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 0
    path.with_suffix(".away").rename(path)  # back: a retry completes it
    assert process_inbound(services, record_id) == "processed"
