"""classify_forwarded: the automatic-mail rules judge the original a rep forwarded, attached or inline."""
from __future__ import annotations

import pytest

from backend.mail.automatic import classify_forwarded
from backend.mail.forwards import find_forwarded
from backend.mail.mime import parse_message

from ..corpus import corpus_dir
from .automatic_forwards import (
    customer_reply,
    exchange_out_of_office,
    forward_as_attachment,
    inline_forwarded_bounce,
    italian_out_of_office,
    office365_ndr,
    postfix_bounce,
)

BUILT = [
    ("postfix", lambda: forward_as_attachment(postfix_bounce(), "Undelivered Mail Returned to Sender"),
     "MAILER-DAEMON@mail.customer.example", "bounce", "bounce-report", "report-type=delivery-status"),
    ("office365", lambda: forward_as_attachment(office365_ndr(), "Undeliverable: Offer 17"),
     "postmaster@contoso.onmicrosoft.com", "bounce", "bounce-report", "report-type=delivery-status"),
    ("exchange-oof", lambda: forward_as_attachment(exchange_out_of_office(), "Automatic reply: Offer 17"),
     "jane@customer.example", "auto-reply", "auto-reply-subject", '"Automatic reply:"'),
    ("italian-oof", lambda: forward_as_attachment(italian_out_of_office(), "Risposta automatica: Offer 17"),
     "mario.rossi@cliente.example", "auto-reply", "auto-reply-subject-localized", '"Risposta automatica:"'),
    ("inline-gmail-bounce", inline_forwarded_bounce,
     "mailer-daemon@googlemail.com", "bounce", "mailer-daemon-sender", "mailer-daemon@googlemail.com"),
]


@pytest.mark.parametrize(("build", "sender", "kind", "rule", "said"), [c[1:] for c in BUILT], ids=[c[0] for c in BUILT])
def test_forwarded_automatic_original_is_classified(build, sender, kind, rule, said):
    outer = parse_message(build())
    assert outer.auto_kind is None  # the rep's forward itself is ordinary mail
    original = find_forwarded(outer)
    assert original is not None and original.sender.email == sender
    verdict = classify_forwarded(original)
    assert (verdict.kind, verdict.rule) == (kind, rule)
    assert said in verdict.reason


def test_the_attached_original_is_kept_with_the_forward():
    outer = parse_message(forward_as_attachment(postfix_bounce(), "Undelivered Mail Returned to Sender"))
    original = find_forwarded(outer)
    assert original.source == "attachment" and original.message is outer.attached_messages[0]


def test_exchange_out_of_office_without_auto_submitted_is_still_automatic():
    original = parse_message(exchange_out_of_office())
    assert "auto-submitted" not in original.auto_headers
    assert original.auto_kind == "auto-reply"


def test_forwarded_customer_mail_is_not_automatic():
    original = find_forwarded(parse_message(forward_as_attachment(customer_reply(), "Re: Offer 17")))
    assert original.sender.email == "bob@customer.example"
    verdict = classify_forwarded(original)
    assert verdict.kind is None and verdict.rule is None


def test_inline_forward_of_an_out_of_office_reply():
    raw = (b"From: Alice Rep <alice@acme.example>\r\nTo: log@acme.example\r\n"
           b"Subject: Fwd: Automatische Antwort: Angebot\r\nDate: Mon, 3 Mar 2025 11:00:00 +0100\r\n\r\n"
           b"---------- Forwarded message ---------\r\nFrom: Hans Kunde <hans@kunde.example>\r\n"
           b"Date: Mon, 3 Mar 2025 at 09:12\r\nSubject: Automatische Antwort: Angebot\r\n"
           b"To: <alice@acme.example>\r\n\r\nIch bin bis Montag nicht im Buero.\r\n")
    original = find_forwarded(parse_message(raw))
    assert original.source == "inline" and original.sender.email == "hans@kunde.example"
    assert classify_forwarded(original).rule == "auto-reply-subject-localized"


CORPUS_BOUNCES = ["gmail-invalid-address.eml", "gmail-no-dns.eml", "office365.eml", "zed.eml",
                  "delayed.eml", "mailbox-full.eml", "no-mx.eml", "broken-mime.eml"]


@pytest.mark.parametrize("name", CORPUS_BOUNCES)
def test_real_bounces_forwarded_as_attachment_are_bounces(name):
    raw = (corpus_dir() / "flanker" / "bounce" / name).read_bytes()
    original = find_forwarded(parse_message(forward_as_attachment(raw, parse_message(raw).subject)))
    assert original is not None and original.sender.key.split("@")[0] in ("mailer-daemon", "postmaster")
    assert classify_forwarded(original).kind == "bounce"
