"""A mail whose From: names no single readable address is refused with 550 5.7.1 (HTTP 403) saying
what is wrong with it, never an address placeholder."""
from __future__ import annotations

import pytest

from .test_http_inbound import error_body, post_raw

BODY = b"To: bob@cust.example\r\nSubject: Hello\r\nMessage-ID: <from-cases@acme.example>\r\n\r\nHello Bob\r\n"
WHO = "Smart Bcc needs it to know which user sent it."

CASES = {
    "no-from": (BODY, f"This mail has no From: header; {WHO}"),
    "empty-from": (b"From: \r\n" + BODY, f"The From: header is empty; {WHO}"),
    "blank-folded-from": (b"From:\r\n \r\n" + BODY, f"The From: header is empty; {WHO}"),
    "unparseable-from": (b"From: Alice alice@@acme.example\r\n" + BODY,
                         "The From: header (Alice alice@@acme.example) is not an address Smart Bcc can read; "
                         "send it again with your address in From:, like Name <you@example.com>."),
    "address-and-junk": (b"From: alice@acme.example, junk junk\r\n" + BODY,
                         "The From: header (alice@acme.example, junk junk) is not an address Smart Bcc can "
                         "read; send it again with your address in From:, like Name <you@example.com>."),
    "empty-group": (b"From: undisclosed-senders:;\r\n" + BODY,
                    "The From: header (undisclosed-senders:;) is not an address Smart Bcc can read; "
                    "send it again with your address in From:, like Name <you@example.com>."),
    "two-addresses": (b"From: alice@acme.example, Bob <bob@acme.example>\r\n" + BODY,
                      "The From: header names 2 addresses; Smart Bcc logs mail from one user, "
                      "so send it from one address."),
    "two-from-headers": (b"From: alice@acme.example\r\nFrom: bob@acme.example\r\n" + BODY,
                         "This mail has 2 From: headers; Smart Bcc logs mail from one user, "
                         "so send it with one From: header naming one address."),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_smtp_from_problem_gets_550_571_saying_what_it_is(transact, acme, stored, case):
    raw, sentence = CASES[case]
    result = transact(acme.email, [acme.bcc_address], raw)
    assert result.data == (550, "5.7.1", sentence), result.data
    assert "<the From: address>" not in result.data[2] and "(no From: address)" not in result.data[2]
    now = stored()
    assert (now.records, now.messages, now.blobs) == (0, 0, 0), now


@pytest.mark.parametrize("case", sorted(CASES))
def test_http_from_problem_gets_403_with_the_smtp_sentence(client, acme, stored, case):
    raw, sentence = CASES[case]
    body = error_body(post_raw(client, raw, acme.bcc_address, acme.inbound_secret), 403)
    assert body["error"] == sentence
    assert stored().records == 0


def test_smtp_empty_data_gets_550_571_saying_it_is_empty(smtp_client, acme, stored):
    client = smtp_client()
    assert client.mail(acme.email)[0] == 250
    assert client.rcpt(acme.bcc_address)[0] == 250
    code, msg = client.data(b"")  # just the terminating dot
    assert (code, msg.decode()) == (550, "5.7.1 This mail is empty: it has no From: header and no text. "
                                         "Send the mail itself, with your address in From:."), msg
    assert stored().records == 0


def test_smtp_blank_lines_only_data_is_empty_too(transact, acme):
    result = transact(acme.email, [acme.bcc_address], b"\r\n\r\n\r\n")
    assert result.data[:2] == (550, "5.7.1")
    assert result.data[2].startswith("This mail is empty"), result.data


def test_http_whitespace_only_body_is_refused_as_empty(client, acme, stored):
    """HTTP already answers an empty body itself (400, field error), before acceptance."""
    body = error_body(post_raw(client, b"\r\n", acme.bcc_address, acme.inbound_secret), 400)
    assert body["errors"]["mime"] == ["The message is empty."]


def test_a_readable_stranger_is_still_named(transact, acme):
    """The address case keeps its sentence: the stranger's address and where to add it."""
    raw = b"From: Eve <eve@stranger.example>\r\n" + BODY
    result = transact(acme.email, [acme.bcc_address], raw)
    assert result.data[:2] == (550, "5.7.1")
    assert result.data[2].startswith("Smart Bcc does not accept mail from <eve@stranger.example>.")
