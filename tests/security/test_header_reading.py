"""Regressions found by fuzzing the acceptance check's header reading."""
from __future__ import annotations

import pytest

from backend.intake.checks import read_headers


@pytest.mark.parametrize("raw", [
    # UTF-8 and undecodable bytes mixed in one From: made str(Header) raise (found by bench/fuzz_pipeline.py).
    b"From: \xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xff\xfe <rep@acme.example>\r\n\r\nbody",
    b"Message-ID: <\xc3\x81\xff@x>\r\nFrom: rep@acme.example\r\n\r\n",
    b"From: rep@acme.example\r\nX-\xc3\x81\xff: v\xff\r\n\r\n",
])
def test_mixed_and_broken_bytes_in_headers_are_read_not_raised(raw):
    summary = read_headers(raw)
    assert summary.from_address == "rep@acme.example"


def test_cve_2023_27043_shaped_from_names_no_sender():
    summary = read_headers(b"From: rep@acme.example)<attacker@evil.example>\r\n\r\n")
    assert summary.from_address is None and summary.problems


def test_several_from_headers_name_no_sender():
    summary = read_headers(b"From: rep@acme.example\r\nFrom: attacker@evil.example\r\n\r\n")
    assert summary.from_address is None and "several From headers" in summary.problems
