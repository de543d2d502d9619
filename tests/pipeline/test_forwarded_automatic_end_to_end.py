"""Issue 16: a bounce or out-of-office reply a rep forwards is logged as automatic mail,
and its sender (mailer-daemon, postmaster, the person away) never becomes a contact."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.models import (
    InboundRecord,
    MailMessage,
    MailThread,
    Person,
    PersonEmail,
    ThreadLink,
)
from tests.corpus import corpus_dir
from tests.mail.automatic_forwards import (
    customer_reply,
    exchange_out_of_office,
    forward_as_attachment,
    inline_forwarded_bounce,
    italian_out_of_office,
    office365_ndr,
    postfix_bounce,
)


def _corpus(name: str) -> bytes:
    return (corpus_dir() / "flanker" / "bounce" / name).read_bytes()


CASES = [
    ("postfix-bounce", lambda: postfix_bounce(), "Undelivered Mail Returned to Sender",
     "mailer-daemon@mail.customer.example", "bounce", "bounce-report"),
    ("gmail-bounce", lambda: _corpus("gmail-invalid-address.eml"), "Delivery Status Notification (Failure)",
     "mailer-daemon@googlemail.com", "bounce", "failed-recipients-header"),
    ("office365-ndr", lambda: office365_ndr(), "Undeliverable: Offer 17",
     "postmaster@contoso.onmicrosoft.com", "bounce", "bounce-report"),
    ("office365-ndr-corpus", lambda: _corpus("office365.eml"), "Undeliverable: test_bounce 8",
     "postmaster@example.no", "bounce", "bounce-report"),
    ("postfix-corpus", lambda: _corpus("mailbox-full.eml"), "Undelivered Mail Returned to Sender",
     "mailer-daemon@aol.com", "bounce", "bounce-report"),
    ("exchange-out-of-office", lambda: exchange_out_of_office(), "Automatic reply: Offer 17",
     "jane@customer.example", "auto-reply", "auto-reply-subject"),
    ("italian-out-of-office", lambda: italian_out_of_office(), "Risposta automatica: Offer 17",
     "mario.rossi@cliente.example", "auto-reply", "auto-reply-subject-localized"),
]


def _outcome(services, acme):
    with services.db.session() as s:
        (record,) = s.scalars(select(InboundRecord).where(InboundRecord.company_id == acme.company_id)).all()
        (message,) = s.scalars(select(MailMessage).where(MailMessage.company_id == acme.company_id)).all()
        thread = s.get(MailThread, message.thread_id)
        emails = set(s.scalars(select(PersonEmail.email).where(PersonEmail.company_id == acme.company_id)))
        persons = s.scalar(select(func.count()).select_from(Person).where(Person.company_id == acme.company_id))
        links = s.scalar(select(func.count()).select_from(ThreadLink).where(ThreadLink.company_id == acme.company_id))
        return record.status, list(record.decisions), message, thread.auto, emails, persons, links


def _assert_automatic(services, acme, sender, kind, rule):
    status, decisions, message, auto, emails, persons, links = _outcome(services, acme)
    assert status == "processed"
    assert message.sender_email == sender and message.auto_kind == kind
    assert auto is True
    assert sender not in emails and persons == 0 and links == 0
    (decided,) = [d for d in decisions if d["stage"] == "unwrap_forward" and d["outcome"] == "automatic"]
    assert (decided["rule"], decided["kind"]) == (rule, kind)
    assert decided["reason"].startswith("The forwarded mail is automatic. This is an automatic mail (")
    contacts = [d for d in decisions if d["stage"] == "contacts"]
    assert [d["outcome"] for d in contacts] == ["skipped"]


@pytest.mark.parametrize(("build", "subject", "sender", "kind", "rule"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_forwarded_as_attachment_automatic_mail_makes_no_contact(build, subject, sender, kind, rule,
                                                                 acme, send_mail, services):
    raw = forward_as_attachment(build(), subject, rep=acme.email, to=acme.bcc_address)
    send_mail(raw, acme.bcc_address, acme.email)
    _assert_automatic(services, acme, sender, kind, rule)


def test_inline_forwarded_bounce_makes_no_contact(acme, send_mail, services):
    send_mail(inline_forwarded_bounce(rep=acme.email, to=acme.bcc_address), acme.bcc_address, acme.email)
    _assert_automatic(services, acme, "mailer-daemon@googlemail.com", "bounce", "mailer-daemon-sender")


def test_forwarded_customer_mail_still_becomes_the_customers(acme, send_mail, services):
    raw = forward_as_attachment(customer_reply(), "Re: Offer 17", rep=acme.email, to=acme.bcc_address)
    send_mail(raw, acme.bcc_address, acme.email)
    status, decisions, message, auto, emails, persons, _links = _outcome(services, acme)
    assert status == "processed" and message.sender_email == "bob@customer.example"
    assert message.auto_kind is None and auto is False
    assert "bob@customer.example" in emails and persons == 1
    assert not [d for d in decisions if d["outcome"] == "automatic"]
