"""The parse stage records why a mail counts as automatic, in words a sales rep can read."""
from __future__ import annotations

from backend.pipeline.context import Context
from backend.pipeline.parse import Parse


def _decisions(raw: bytes) -> list[dict]:
    ctx = Context(services=None, session=None, record=None, raw=raw)
    Parse().run(ctx)
    return ctx.decisions


def test_a_bounce_is_recorded_with_its_rule():
    raw = (b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n--b--\r\n")
    parsed, automatic = _decisions(raw)
    assert parsed["outcome"] == "parsed"
    assert automatic == {
        "stage": "parse", "outcome": "automatic", "rule": "bounce-report", "kind": "bounce",
        "reason": "This is an automatic mail (a delivery report): Content-Type is multipart/report; "
                  "report-type=delivery-status (a delivery status notification, RFC 3464)."}


def test_an_out_of_office_reply_is_recorded():
    raw = b"From: jane@customer.example\r\nSubject: Out of Office: Pricing\r\n\r\nBack Monday.\r\n"
    automatic = _decisions(raw)[-1]
    assert (automatic["outcome"], automatic["rule"], automatic["kind"]) == ("automatic", "auto-reply-subject", "auto-reply")
    assert automatic["reason"].startswith("This is an automatic mail (an automatic reply): The subject starts with")


def test_ordinary_mail_records_no_automatic_decision():
    raw = b"From: jane@customer.example\r\nSubject: Pricing\r\n\r\nHow much for 200 seats?\r\n"
    assert [d["outcome"] for d in _decisions(raw)] == ["parsed"]
