"""Fuzzing the whole pipeline: every hostile input is stored or explained, in bounded time and memory."""
from __future__ import annotations

import os

import pytest
import time
import tracemalloc

from hypothesis import HealthCheck, given, settings as hsettings

from backend.intake.checks import read_headers
from backend.mail.mime import parse_message
from backend.models import InboundRecord
from backend.pipeline.runner import process_inbound

from .fuzz_inputs import hostile, huge_line, many_headers, nesting_bomb
from ..pipeline.test_pipeline_corpus import _deliver

# CI runs a few hundred cases; bench/fuzz_pipeline.py runs tens of thousands.
EXAMPLES = int(os.environ.get("SMARTBCC_FUZZ_EXAMPLES", "120"))
MAX_SECONDS = 10.0


def _check(services, account, raw: bytes, trace_memory: bool = True) -> None:
    read_headers(raw)  # the acceptance check must answer, not raise
    record_id = _deliver(services, account, raw)
    started = time.monotonic()
    status = process_inbound(services, record_id)
    elapsed = time.monotonic() - started
    if not trace_memory:
        return
    # Memory is traced on the parse alone: tracing the whole run slows it tenfold.
    tracemalloc.start()
    parse_message(raw)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        assert status in ("processed", "duplicate"), record.error
        assert record.message_id is not None
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f}s for {len(raw)} bytes"
    assert peak < 64 * 1024 * 1024 + 30 * len(raw), f"peak {peak} bytes for {len(raw)} bytes"


@hsettings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                  HealthCheck.data_too_large])
@given(raw=hostile())
def test_hostile_input_is_stored_never_lost(services, acme, raw):
    _check(services, acme, raw)


@pytest.mark.parametrize(("name", "raw", "trace_memory"), [
    ("multipart-nesting-1000", nesting_bomb(1000), False),  # tracing deep recursion is too slow to be useful
    ("rfc822-nesting-1000", nesting_bomb(1000, "rfc822"), True),
    ("100k-headers", many_headers(100_000), True),
    ("5MB-single-line", huge_line(5_000_000), True),
    # PostgreSQL text cannot hold NUL; found by the fuzz test on PostgreSQL.
    ("nul-bytes", b"From: A\x00B <rep@acme.example>\r\nTo: c\x00@x.example\r\nSubject: s\x00\r\n"
                  b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
                  b"<p>h\x00i</p>\r\n--b\r\nContent-Type: application/pdf; name=\"a\x00.pdf\"\r\n\r\nx\x00\r\n--b--\r\n",
     True),
], ids=lambda v: v if isinstance(v, str) else "")
def test_named_bombs(services, acme, name, raw, trace_memory):
    _check(services, acme, raw, trace_memory)
