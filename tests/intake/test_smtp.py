"""The SMTP receiver, driven by a real smtplib client: every reply's code, enhanced status code and
wording, what is stored (and what is not), and messages real mail servers send."""
from __future__ import annotations

import json
import smtplib

import pytest

from backend.config import MAX_MESSAGE_BYTES
from backend.models import InboundRecord
from backend.pipeline import runner
from backend.pipeline.parse import Parse

from .conftest import db_down_error, make_mail, sha256, split_reply

LIMIT = MAX_MESSAGE_BYTES
SETTINGS_PATH = "Settings > Smart Bcc > accepted addresses"


def assert_unknown_address_reply(reply, address: str) -> None:
    code, status, text = reply
    assert (code, status) == (550, "5.1.1"), reply
    assert f"<{address}> is not a Smart Bcc address" in text, text
    # ... and what to do about it.
    assert "Copy the address from Settings > Smart Bcc" in text and "send again" in text, text


def assert_sender_not_accepted_reply(reply, address: str) -> None:
    code, status, text = reply
    assert (code, status) == (550, "5.7.1"), reply
    assert f"<{address}>" in text, text
    assert SETTINGS_PATH in text, text
    assert "Send from your account address" in text, text


def assert_too_large_reply(reply) -> None:
    code, status, text = reply
    assert (code, status) == (552, "5.3.4"), reply
    assert "limit of 20 MB" in text and "attachments included" in text, text
    assert "Send it again without the large attachments" in text, text


def assert_temporary_failure_reply(reply) -> None:
    code, status, text = reply
    assert (code, status) == (451, "4.3.0"), reply
    assert "retry" in text, text
    for leak in ("Traceback", "Error", "Exception", "sqlalchemy", "OSError", "simulated"):
        assert leak not in text, text


def nothing_stored(stored) -> None:
    now = stored()
    assert (now.records, now.messages, now.blobs) == (0, 0, 0), now


# --- RCPT: which addresses are Smart Bcc addresses --------------------------------------------


@pytest.mark.parametrize("address", [
    "nobody@bcc.test",                       # reserved local part, never a company
    "initech@bcc.test",                      # no such company
    "acme+dabcdefghijklmnop@bcc.test",       # well-formed but made-up deal token
    "acme+lmfrggzdfmztwq2lk@bcc.test",       # well-formed but made-up lead token
    "acme+dshort@bcc.test",                  # malformed token
    "acme@other.example",                    # another domain
    "acme@sub.bcc.test",                     # a subdomain of ours is not ours
])
def test_rcpt_unknown_address_gets_550_511(transact, acme, stored, address):
    result = transact(acme.email, [address], make_mail(acme.email))
    assert result.mail[0] == 250
    assert_unknown_address_reply(result.rcpts[0], address)
    assert result.data is None
    nothing_stored(stored)


def test_rcpt_unknown_address_then_data_is_refused_with_503(smtp_client, acme, stored):
    client = smtp_client()
    client.mail(acme.email)
    code, msg = client.rcpt("nobody@bcc.test")
    assert (code, split_reply(msg)[0]) == (550, "5.1.1")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        client.data(make_mail(acme.email))
    assert refused.value.smtp_code == 503
    nothing_stored(stored)


def test_rcpt_smtputf8_local_part_gets_550_511(transact, acme, stored):
    bad = ["jörg@bcc.test", "acmé@bcc.test", "acme+ü@bcc.test"]
    result = transact(acme.email, bad, make_mail(acme.email), mail_options=["SMTPUTF8"])
    assert result.mail[0] == 250
    assert len(result.rcpts) == 3
    for address, reply in zip(bad, result.rcpts):
        assert_unknown_address_reply(reply, address)
    nothing_stored(stored)


def test_rcpt_undecodable_bytes_gets_550_511_and_session_goes_on(smtp_client, acme, stored):
    """Bytes that are not UTF-8 in RCPT TO must get the ordinary 5.1.1, not a 500 with an exception."""
    client = smtp_client()
    client.mail(acme.email, ["SMTPUTF8"])
    client.send(b"RCPT TO:<\xff\xfeacme@bcc.test>\r\n")
    code, msg = client.getreply()
    status, text = split_reply(msg)
    assert (code, status) == (550, "5.1.1"), (code, msg)
    assert "is not a Smart Bcc address" in text and "Error" not in text
    code, _ = client.rcpt(acme.bcc_address)
    assert code == 250
    code, _ = client.data(make_mail(acme.email, "After bad bytes", "undecodable@acme.example"))
    assert code == 250
    assert stored().records == 1


def test_rcpt_good_and_bad_in_one_transaction_are_answered_each_and_stored_once(
        transact, acme, stored, records, threads):
    raw = make_mail(acme.email, "Two recipients", "two-rcpt@acme.example")
    result = transact(acme.email, ["nobody@bcc.test", acme.bcc_address, "acme@other.example"], raw)
    assert result.rcpts[0][:2] == (550, "5.1.1")
    assert result.rcpts[1][:2] == (250, "2.1.5")
    assert result.rcpts[2][:2] == (550, "5.1.1")
    assert result.data[0] == 250 and result.data[1] == "2.0.0", result.data
    (record,) = records()
    assert [r["address"] for r in record.recipients] == [acme.bcc_address]
    assert record.status == "processed"
    now = stored()
    assert (now.records, now.messages) == (1, 1)
    assert [t["subject"] for t in threads(acme)] == ["Two recipients"]


def test_rcpt_company_address_is_case_insensitive(transact, acme, stored):
    result = transact(acme.email, [acme.bcc_address.upper()], make_mail(acme.email, msgid="case@acme.example"))
    assert result.rcpts[0][0] == 250
    assert result.data[0] == 250
    assert stored().records == 1


# --- size ---------------------------------------------------------------------------------------


def test_ehlo_advertises_size_20971520_8bitmime_and_smtputf8(smtp_client):
    client = smtp_client()
    assert client.has_extn("size")
    assert client.esmtp_features["size"] == "20971520"
    assert LIMIT == 20971520
    assert client.has_extn("8bitmime")
    assert client.has_extn("smtputf8")


@pytest.mark.parametrize("size", [30_000_000, LIMIT + 1])
def test_mail_from_size_over_limit_gets_552_534(transact, acme, stored, size):
    result = transact(acme.email, [acme.bcc_address], None, mail_options=[f"SIZE={size}"])
    assert_too_large_reply(result.mail)
    assert result.rcpts == []
    nothing_stored(stored)


def test_mail_from_size_at_limit_is_accepted(transact, acme):
    result = transact(acme.email, [acme.bcc_address], None, mail_options=[f"SIZE={LIMIT}"])
    assert result.mail[:2] == (250, "OK")
    assert result.rcpts[0][0] == 250


def _padded_mail(sender: str, total: int, subject: str, msgid: str) -> bytes:
    """A message of exactly ``total`` bytes: a base64 attachment in 76-character lines."""
    head = (f"From: {sender}\r\nTo: bob@cust.example\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nThe file is attached.\r\n"
            "--b1\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode()
    tail = b"\r\n--b1--\r\n"
    room = total - len(head) - len(tail)
    line = 78  # 76 characters + CRLF
    full_lines = room // line
    body = b"QUJD" * 19 + b"\r\n"
    assert len(body) == line
    rest = room - full_lines * line
    payload = body * full_lines + (b"=" * rest if rest else b"")
    raw = head + payload + tail
    assert len(raw) == total
    return raw


def test_data_over_limit_gets_552_534_and_nothing_stored(smtp_client, acme, stored):
    """A 21 MB message sent without SIZE= is refused after DATA; the session stays usable."""
    raw = _padded_mail(acme.email, 21 * 1024 * 1024, "Too big", "big@acme.example")
    client = smtp_client()
    assert client.mail(acme.email)[0] == 250  # no SIZE= parameter: the server only learns at DATA
    assert client.rcpt(acme.bcc_address)[0] == 250
    code, msg = client.data(raw)
    assert_too_large_reply((code, *split_reply(msg)))
    nothing_stored(stored)
    # The connection is still good for the next message.
    client.mail(acme.email)
    client.rcpt(acme.bcc_address)
    code, _ = client.data(make_mail(acme.email, "Small one", "small@acme.example"))
    assert code == 250
    assert stored().records == 1


def test_data_over_limit_in_one_line_gets_552_534(smtp_client, acme, stored):
    """One 21 MB line is over the size limit, and must be told so (not 500 'line too long')."""
    raw = make_mail(acme.email, "One huge line", "hugeline@acme.example", body="x" * (21 * 1024 * 1024))
    client = smtp_client()
    client.mail(acme.email)
    client.rcpt(acme.bcc_address)
    code, msg = client.data(raw)
    assert_too_large_reply((code, *split_reply(msg)))
    nothing_stored(stored)


def test_sendmail_over_limit_is_refused_at_mail_from_with_552_534(send_mail, acme, stored):
    """smtplib's sendmail declares SIZE= itself, so a too-large message is refused before DATA."""
    raw = _padded_mail(acme.email, LIMIT + 1, "Just over", "justover@acme.example")
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send_mail(raw, [acme.bcc_address], acme.email)
    assert_too_large_reply((refused.value.smtp_code, *split_reply(refused.value.smtp_error)))
    nothing_stored(stored)


def test_message_just_under_limit_is_accepted_and_stored_exactly(send_mail, acme, records, blob_bytes, threads):
    raw = _padded_mail(acme.email, LIMIT - 1024, "Just under", "justunder@acme.example")
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert record.status == "processed", record.error
    assert record.raw_size == len(raw)
    assert record.raw_sha256 == sha256(raw)
    assert blob_bytes(record.raw_sha256) == raw
    assert [t["subject"] for t in threads(acme)] == ["Just under"]


# --- sender -------------------------------------------------------------------------------------


def test_sender_stranger_gets_550_571_naming_address_and_settings(transact, acme, stored):
    raw = make_mail("Eve <eve@stranger.example>", "Hi", "eve@stranger.example")
    result = transact("eve@stranger.example", [acme.bcc_address], raw)
    assert result.rcpts[0][0] == 250
    assert_sender_not_accepted_reply(result.data, "eve@stranger.example")
    nothing_stored(stored)


def test_sender_pending_unverified_alternative_address_gets_550_571(
        transact, acme, add_sender_address, stored):
    add_sender_address(acme, "alice@home.example", verified=False)
    raw = make_mail("Alice <alice@home.example>", "From home", "home1@home.example")
    result = transact("alice@home.example", [acme.bcc_address], raw)
    assert_sender_not_accepted_reply(result.data, "alice@home.example")
    nothing_stored(stored)


def test_sender_from_another_company_to_acme_address_gets_550_571(transact, acme, globex, stored):
    raw = make_mail(f"Gary <{globex.email}>", "Cross company", "cross@globex.example")
    result = transact(globex.email, [acme.bcc_address], raw)
    assert result.rcpts[0][0] == 250
    assert_sender_not_accepted_reply(result.data, globex.email)
    nothing_stored(stored)


def test_sender_is_the_from_header_not_the_envelope(transact, acme, stored):
    """A user's envelope with a stranger's From: is refused: the From: header decides."""
    raw = make_mail("Eve <eve@stranger.example>", "Spoof", "spoof@stranger.example")
    result = transact(acme.email, [acme.bcc_address], raw)
    assert_sender_not_accepted_reply(result.data, "eve@stranger.example")
    nothing_stored(stored)


def test_sender_missing_from_header_gets_550_571(transact, acme, stored):
    raw = b"To: bob@cust.example\r\nSubject: No from\r\n\r\nHello\r\n"
    result = transact(acme.email, [acme.bcc_address], raw)
    code, status, text = result.data
    assert (code, status) == (550, "5.7.1"), result.data
    # What happened, not an address placeholder (tests/intake/test_from_replies.py has every case).
    assert text == "This mail has no From: header; Smart Bcc needs it to know which user sent it."
    nothing_stored(stored)


def test_envelope_stranger_with_user_from_header_is_accepted_and_mismatch_recorded(
        transact, acme, records, threads):
    raw = make_mail(f"Alice <{acme.email}>", "Via relay", "relay@acme.example")
    result = transact("bounces+123@relay.example", [acme.bcc_address], raw)
    assert result.data[:2] == (250, "2.0.0"), result.data
    (record,) = records()
    assert record.status == "processed"
    assert record.envelope_from == "bounces+123@relay.example"
    assert record.header_from == acme.email
    intake = [d for d in record.decisions if d["stage"] == "intake"]
    assert intake and intake[0]["envelope_mismatch"] == "bounces+123@relay.example"
    assert [t["subject"] for t in threads(acme)] == ["Via relay"]


def test_verified_alternative_address_is_accepted_into_that_users_mailbox(
        transact, acme, make_account, add_sender_address, records, threads):
    bob = make_account("acme.example", "bob@acme.example", admin=False, name="Bob Rep")
    add_sender_address(bob, "Bob.Private@Home.example", verified=True)
    raw = make_mail("Bob <bob.private@home.example>", "From my phone", "phone@home.example")
    result = transact("bob.private@home.example", [acme.bcc_address], raw)
    assert result.data[:2] == (250, "2.0.0"), result.data
    (record,) = records()
    assert record.user_id == bob.user_id
    assert record.status == "processed", record.error
    (thread,) = threads(bob)
    assert thread["owner_id"] == bob.user_id
    assert thread["subject"] == "From my phone"


def test_verified_utf8_alternative_address_is_accepted_over_smtputf8(
        smtp_client, acme, add_sender_address, records, threads):
    add_sender_address(acme, "jörg@heim.example", verified=True)
    raw = ("From: Jörg <jörg@heim.example>\r\nTo: bob@cust.example\r\nSubject: Vom Handy\r\n"
           "Message-ID: <utf8alt@heim.example>\r\n\r\nHallo\r\n").encode("utf-8")
    client = smtp_client()
    assert client.sendmail("jörg@heim.example", [acme.bcc_address], raw, mail_options=["SMTPUTF8"]) == {}
    (record,) = records()
    assert record.user_id == acme.user_id
    assert record.header_from == "jörg@heim.example"
    assert [t["subject"] for t in threads(acme)] == ["Vom Handy"]


def test_sender_utf8_stranger_gets_550_571_naming_the_address(transact, acme, stored):
    raw = ("From: Zoë <zoë@fremd.example>\r\nTo: bob@cust.example\r\nSubject: Hallo\r\n\r\nHi\r\n"
           ).encode("utf-8")
    result = transact("zoë@fremd.example", [acme.bcc_address], raw, mail_options=["SMTPUTF8"])
    assert_sender_not_accepted_reply(result.data, "zoë@fremd.example")
    nothing_stored(stored)


def test_sender_with_undecodable_from_bytes_gets_550_571_not_500(transact, acme, stored):
    raw = b"From: J\xf6rg <j\xf6rg@fremd.example>\r\nTo: bob@cust.example\r\nSubject: x\r\n\r\nHi\r\n"
    result = transact(acme.email, [acme.bcc_address], raw)
    code, status, text = result.data
    assert (code, status) == (550, "5.7.1"), result.data
    assert "fremd.example" in text and SETTINGS_PATH in text
    nothing_stored(stored)


# --- durability: 250 only after commit, 451 for our failures -------------------------------------


def test_250_only_after_raw_message_committed(transact, acme, services, blob_bytes):
    raw = make_mail(acme.email, "Durable", "durable@acme.example")
    result = transact(acme.email, [acme.bcc_address], raw)
    code, status, text = result.data
    assert (code, status) == (250, "2.0.0")
    ref = text.split("(ref ")[1].rstrip(")")
    # A fresh session sees the committed row; the blob holds exactly the bytes sent.
    with services.db.session() as session:
        record = session.get(InboundRecord, int(ref))
        assert record is not None
        assert record.status == "processed"
        assert record.raw_sha256 == sha256(raw)
        assert record.raw_size == len(raw)
        assert record.message_id is not None
    assert blob_bytes(sha256(raw)) == raw


def _send_after_fault(transact, acme, stored, records, raw):
    result = transact(acme.email, [acme.bcc_address], raw)
    assert result.data[:2] == (250, "2.0.0"), result.data
    now = stored()
    assert (now.records, now.messages) == (1, 1), now
    assert [r.status for r in records()] == ["processed"]


def test_blob_store_failure_at_data_gets_451_430_then_resend_stored_once(
        transact, acme, break_blob_store, monkeypatch, stored, records):
    raw = make_mail(acme.email, "Disk full", "diskfull@acme.example")
    break_blob_store()
    result = transact(acme.email, [acme.bcc_address], raw)
    assert result.rcpts[0][0] == 250
    assert_temporary_failure_reply(result.data)
    nothing_stored(stored)
    monkeypatch.undo()
    _send_after_fault(transact, acme, stored, records, raw)


def test_database_down_at_data_gets_451_430_then_resend_stored_once(
        smtp_client, transact, acme, break_database, monkeypatch, stored, records):
    raw = make_mail(acme.email, "DB down at DATA", "dbdata@acme.example")
    client = smtp_client()
    client.mail(acme.email)
    assert client.rcpt(acme.bcc_address)[0] == 250
    break_database()
    code, msg = client.data(raw)
    assert_temporary_failure_reply((code, *split_reply(msg)))
    monkeypatch.undo()
    nothing_stored(stored)
    _send_after_fault(transact, acme, stored, records, raw)


def test_database_down_at_rcpt_gets_451_430_then_resend_stored_once(
        transact, acme, break_database, monkeypatch, stored, records):
    raw = make_mail(acme.email, "DB down at RCPT", "dbrcpt@acme.example")
    break_database()
    result = transact(acme.email, [acme.bcc_address], raw)
    assert_temporary_failure_reply(result.rcpts[0])
    assert result.data is None
    monkeypatch.undo()
    nothing_stored(stored)
    _send_after_fault(transact, acme, stored, records, raw)


def test_commit_failure_after_blob_written_gets_451_430_then_resend_stored_once(
        smtp_client, transact, acme, services, monkeypatch, stored, records):
    """The blob is written but the rows do not commit: no 250, and a resend is stored once."""
    from sqlalchemy.orm import Session

    raw = make_mail(acme.email, "Commit fails", "commitfail@acme.example")
    client = smtp_client()
    client.mail(acme.email)
    assert client.rcpt(acme.bcc_address)[0] == 250

    def failing_commit(self):
        raise db_down_error()

    monkeypatch.setattr(Session, "commit", failing_commit)
    code, msg = client.data(raw)
    monkeypatch.undo()
    assert_temporary_failure_reply((code, *split_reply(msg)))
    now = stored()
    assert (now.records, now.messages) == (0, 0)
    _send_after_fault(transact, acme, stored, records, raw)
    assert stored().blobs == 1  # the same bytes: the file written before the failed commit is reused


# --- what real mail looks like ------------------------------------------------------------------


def _only_message(acme, threads, thread_messages) -> dict:
    (thread,) = threads(acme)
    (message,) = thread_messages(acme, thread["id"])
    return message


def test_100kb_single_line_body_is_accepted_and_stored(send_mail, acme, records, blob_bytes, threads,
                                                       thread_messages):
    line = ("lorem-ipsum " * 9000)[:100 * 1024]
    raw = make_mail(acme.email, "Long line", "longline@acme.example", body=line + "\r\n")
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert record.status == "processed", record.error
    assert blob_bytes(record.raw_sha256) == raw
    message = _only_message(acme, threads, thread_messages)
    assert message["subject"] == "Long line"
    assert line.strip() in message["body_text"]


def test_8bit_utf8_subject_and_body_are_stored_readable(send_mail, acme, records, blob_bytes, threads,
                                                        thread_messages):
    raw = (f"From: Alice <{acme.email}>\r\nTo: bob@cust.example\r\nSubject: Grüße aus Köln – 東京\r\n"
           "Message-ID: <utf8-8bit@acme.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Schöne Grüße, Jörg – 東京\r\n").encode("utf-8")
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert record.status == "processed", record.error
    assert blob_bytes(record.raw_sha256) == raw
    message = _only_message(acme, threads, thread_messages)
    assert message["subject"] == "Grüße aus Köln – 東京"
    assert "Schöne Grüße, Jörg – 東京" in message["body_text"]


def test_8bit_latin1_subject_and_body_are_stored_readable(send_mail, acme, records, blob_bytes, threads,
                                                          thread_messages):
    raw = (f"From: Alice <{acme.email}>\r\nTo: bob@cust.example\r\nSubject: Café in Köln\r\n"
           "Message-ID: <latin1-8bit@acme.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Grüße aus Köln, à bientôt\r\n").encode("latin-1")
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert record.status == "processed", record.error
    assert blob_bytes(record.raw_sha256) == raw
    message = _only_message(acme, threads, thread_messages)
    assert message["subject"] == "Café in Köln"
    assert "Grüße aus Köln, à bientôt" in message["body_text"]


def test_smtputf8_utf8_from_name_and_to_local_part_are_stored(smtp_client, acme, records, blob_bytes,
                                                              threads, thread_messages):
    raw = (f"From: Jörg Müller <{acme.email}>\r\nTo: Zoë <zoë@kunde.example>\r\n"
           "Subject: Angebot für Zoë\r\nMessage-ID: <smtputf8@acme.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Hallo Zoë!\r\n").encode("utf-8")
    client = smtp_client()
    assert client.sendmail(acme.email, [acme.bcc_address], raw, mail_options=["SMTPUTF8"]) == {}
    (record,) = records()
    assert record.status == "processed", record.error
    assert blob_bytes(record.raw_sha256) == raw
    message = _only_message(acme, threads, thread_messages)
    assert message["subject"] == "Angebot für Zoë"
    assert message["sender"]["name"] == "Jörg Müller"
    assert "zoë@kunde.example" in {p["email"] for p in message["participants"]}


def test_smtputf8_envelope_sender_is_accepted_with_user_from_header(smtp_client, acme, records):
    raw = make_mail(acme.email, "UTF-8 envelope", "utf8env@acme.example")
    client = smtp_client()
    assert client.sendmail("jörg@relay.example", [acme.bcc_address], raw, mail_options=["SMTPUTF8"]) == {}
    (record,) = records()
    assert record.status == "processed"
    assert record.envelope_from == "jörg@relay.example"


def test_bare_lf_line_endings_over_the_socket_are_stored(smtp_client, acme, records, blob_bytes, threads,
                                                         thread_messages):
    """Bare \\n line endings sent as-is inside DATA (no smtplib fix-up), ended by CRLF.CRLF."""
    raw = (f"From: Alice <{acme.email}>\nTo: bob@cust.example\nSubject: Bare LF lines\n"
           "Message-ID: <barelf@acme.example>\n\nfirst line\nsecond line\n").encode()
    assert b"\r" not in raw
    client = smtp_client()
    client.mail(acme.email)
    client.rcpt(acme.bcc_address)
    code, _ = client.docmd("DATA")
    assert code == 354
    client.send(raw + b"\r\n.\r\n")  # the socket gets exactly these bytes
    code, msg = client.getreply()
    assert (code, split_reply(msg)[0]) == (250, "2.0.0"), msg
    (record,) = records()
    assert record.status == "processed", record.error
    stored_raw = blob_bytes(record.raw_sha256)
    assert stored_raw.rstrip(b"\r\n") == raw.rstrip(b"\n")
    assert b"\nSubject: Bare LF lines\n" in stored_raw
    message = _only_message(acme, threads, thread_messages)
    assert message["subject"] == "Bare LF lines"
    assert "first line" in message["body_text"] and "second line" in message["body_text"]


def test_smtplib_sends_bytes_with_bare_lf_unchanged(send_mail, acme, records, blob_bytes, threads):
    """smtplib only fixes line endings of str messages; bytes with bare LFs arrive as they are."""
    raw = (f"From: {acme.email}\nTo: bob@cust.example\nSubject: Mixed endings\r\n"
           "Message-ID: <mixed@acme.example>\n\nbody\r\nmore\n").encode()
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert blob_bytes(record.raw_sha256).startswith(raw)
    assert [t["subject"] for t in threads(acme)] == ["Mixed endings"]


def test_leading_dots_are_unstuffed(send_mail, acme, records, blob_bytes):
    raw = make_mail(acme.email, "Dots", "dots@acme.example", body=".hidden\r\n..two\r\n.\r\n")
    assert send_mail(raw, [acme.bcc_address], acme.email) == {}
    (record,) = records()
    assert blob_bytes(record.raw_sha256) == raw


# --- failures after acceptance ------------------------------------------------------------------


def _boom(self, ctx):
    raise RuntimeError("parser exploded (simulated)")


def test_pipeline_stage_failure_still_250_record_failed_then_retry_completes(
        transact, acme, monkeypatch, records, threads, services):
    raw = make_mail(acme.email, "Parsed later", "later@acme.example")
    with monkeypatch.context() as mp:
        mp.setattr(Parse, "run", _boom)
        result = transact(acme.email, [acme.bcc_address], raw)
        assert result.data[:2] == (250, "2.0.0"), result.data
        (record,) = records()
        assert record.status == "failed"
        assert "stage parse failed" in record.error and "parser exploded" in record.error
        assert threads(acme) == []
        # Still broken: a retry fails again, and says so.
        assert runner.retry_failed(services) == {record.id: "failed"}
    assert runner.retry_failed(services) == {record.id: "processed"}
    (record,) = records()
    assert record.status == "processed" and record.error is None
    assert [t["subject"] for t in threads(acme)] == ["Parsed later"]
    assert runner.retry_failed(services) == {}  # nothing left to retry


def test_pipeline_failure_in_a_later_stage_names_that_stage(transact, acme, monkeypatch, records):
    failing = runner.STAGES[4]
    assert failing.name == "dedupe"
    monkeypatch.setattr(type(failing), "run", _boom)
    result = transact(acme.email, [acme.bcc_address], make_mail(acme.email, "X", "x@acme.example"))
    assert result.data[0] == 250
    (record,) = records()
    assert record.status == "failed"
    assert record.error.startswith("stage dedupe failed")


def test_cli_inbound_retry_completes_failed_record(transact, acme, monkeypatch, records, services, threads):
    from click.testing import CliRunner

    from backend.cli import main

    settings = services.settings
    env = {"SMARTBCC_DATABASE_URL": settings.database_url, "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir),
           "SMARTBCC_BLOB_DIR": str(settings.blob_dir), "SMARTBCC_MAIL_DOMAIN": settings.mail_domain,
           "SMARTBCC_SECRET_KEY": settings.secret_key, "SMARTBCC_JOBS": "eager"}
    raw = make_mail(acme.email, "Retried by CLI", "cli@acme.example")
    with monkeypatch.context() as mp:
        mp.setattr(Parse, "run", _boom)
        assert transact(acme.email, [acme.bcc_address], raw).data[0] == 250
        (record,) = records()
        assert record.status == "failed"
        still_broken = CliRunner().invoke(main, ["inbound", "retry"], env=env)
        assert still_broken.exit_code == 1, still_broken.output
        assert "some records failed again" in still_broken.output
    result = CliRunner().invoke(main, ["inbound", "retry", "--id", str(record.id)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"retried": 1, "results": {str(record.id): "processed"}}
    assert [r.status for r in records()] == ["processed"]
    assert [t["subject"] for t in threads(acme)] == ["Retried by CLI"]


# --- duplicates ---------------------------------------------------------------------------------


def test_same_message_twice_is_one_message_and_two_records(send_mail, acme, records, stored, services):
    raw = make_mail(acme.email, "Twice", "twice@acme.example")
    send_mail(raw, [acme.bcc_address], acme.email)
    send_mail(raw, [acme.bcc_address], acme.email)
    first, second = records()
    assert (first.status, second.status) == ("processed", "duplicate")
    assert first.message_id == second.message_id is not None
    assert any(d["stage"] == "dedupe" and d["outcome"] == "duplicate" for d in second.decisions)
    now = stored()
    assert (now.records, now.messages) == (2, 1)


def _deal_links(thread: dict) -> set[int]:
    return {lk["item_id"] for lk in thread["links"] if lk["item_type"] == "deal"}


def test_same_message_to_two_deal_addresses_in_one_transaction_links_both(
        transact, acme, make_deal, records, stored, threads):
    deal_a, deal_b = make_deal(acme, "Deal A"), make_deal(acme, "Deal B")
    raw = make_mail(acme.email, "For both deals", "both@acme.example")
    result = transact(acme.email, [deal_a["bcc_address"], deal_b["bcc_address"]], raw)
    assert [r[0] for r in result.rcpts] == [250, 250]
    assert result.data[0] == 250
    (record,) = records()
    assert record.status == "processed"
    assert stored().messages == 1
    (thread,) = threads(acme)
    assert _deal_links(thread) == {deal_a["id"], deal_b["id"]}


def test_same_message_to_deal_a_then_deal_b_merges_links(send_mail, acme, make_deal, records, stored, threads):
    deal_a, deal_b = make_deal(acme, "Deal A"), make_deal(acme, "Deal B")
    raw = make_mail(acme.email, "First A then B", "athenb@acme.example")
    send_mail(raw, [deal_a["bcc_address"]], acme.email)
    (thread,) = threads(acme)
    assert _deal_links(thread) == {deal_a["id"]}
    send_mail(raw, [deal_b["bcc_address"]], acme.email)
    first, second = records()
    assert (first.status, second.status) == ("processed", "duplicate")
    assert stored().messages == 1
    (thread,) = threads(acme)
    assert _deal_links(thread) == {deal_a["id"], deal_b["id"]}
    merged = [d for d in second.decisions if d["stage"] == "dedupe"]
    assert merged and "deal 'Deal B'" in merged[0]["reason"], second.decisions
