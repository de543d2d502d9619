"""Issue 16, over real SMTP: real bounces and out-of-office replies (tests/mail/provider_samples)
a rep forwards as attachments make no contact of mailer-daemon@, postmaster@ or the person away;
and an automatic reply from a real customer is stored on the thread it answers, flagged,
changing nothing else."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.mail.automatic import is_machine_address
from backend.models import InboundRecord, MailMessage, MailThread, Person, PersonEmail, ThreadLink
from tests.linking.conftest import Crm, links_of
from tests.mail.automatic_forwards import exchange_out_of_office, forward_with_email_package

SAMPLES = Path(__file__).parents[1] / "mail" / "provider_samples"

# sample -> (the original's sender as logged, kind)
CASES = {
    "lhost-gmail-01": ("mailer-daemon@googlemail.com", "bounce"),
    "lhost-yahoo-08": ("mailer-daemon@yahoo.com", "bounce"),
    "lhost-office365-05": ("postmaster@outlook.com", "bounce"),
    "lhost-exchange2003-01": ("postmaster@example.jp", "bounce"),
    "lhost-postfix-01": ("mailer-daemon@p351355.pool.example.ne.jp", "bounce"),
    "lhost-exim-01": ("mailer-daemon@e1.example.org", "bounce"),
    "lhost-qmail-01": ("mailer-daemon@mx4.example.jp", "bounce"),
    "lhost-dragonfly-01": (None, "bounce"),  # "From: MAILER-DAEMON <>": stays the rep's forward
    "rfc3834-02": ("nekonyaan@example.org", "auto-reply"),  # Exchange OOF, no Auto-Submitted
    "rfc3834-04": ("kijitora@example.org", "auto-reply"),
}


def _state(services, acme):
    with services.db.session() as s:
        records = s.scalars(select(InboundRecord).where(InboundRecord.company_id == acme.company_id)
                            .order_by(InboundRecord.id)).all()
        messages = s.scalars(select(MailMessage).where(MailMessage.company_id == acme.company_id)
                             .order_by(MailMessage.id)).all()
        threads = {t.id: t.auto for t in s.scalars(select(MailThread).where(MailThread.company_id == acme.company_id))}
        emails = set(s.scalars(select(PersonEmail.email).where(PersonEmail.company_id == acme.company_id)))
        persons = s.scalar(select(func.count()).select_from(Person).where(Person.company_id == acme.company_id))
        links = s.scalar(select(func.count()).select_from(ThreadLink).where(ThreadLink.company_id == acme.company_id))
        return ([(r.status, list(r.decisions)) for r in records],
                [(m.thread_id, m.sender_email, m.auto_kind) for m in messages], threads, emails, persons, links)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forwarded_provider_sample_makes_no_contact(name, acme, send_mail, services):
    sender, kind = CASES[name]
    raw = forward_with_email_package((SAMPLES / f"{name}.eml").read_bytes(), rep=acme.email, to=acme.bcc_address)
    send_mail(raw, acme.bcc_address, acme.email)
    records, messages, threads, emails, persons, links = _state(services, acme)
    ((status, decisions),) = records
    ((thread_id, logged_sender, auto_kind),) = messages
    assert status == "processed" and auto_kind == kind and threads[thread_id] is True
    assert logged_sender == (sender or acme.email)
    assert persons == 0 and emails == set() and links == 0
    assert not any(is_machine_address(e) for e in emails)
    (decided,) = [d for d in decisions if d["stage"] == "unwrap_forward" and d["outcome"] == "automatic"]
    assert decided["kind"] == kind and decided["rule"]
    assert [d["outcome"] for d in decisions if d["stage"] == "contacts"] == ["skipped"]


def test_machine_address_in_ordinary_mail_never_becomes_a_contact(acme, send_mail, services):
    raw = (f"From: {acme.email}\r\nTo: Bob <bob@customer.example>\r\n"
           "Cc: MAILER-DAEMON@mx.customer.example, Postmaster <postmaster@customer.example>\r\n"
           "Subject: Offer 18\r\nMessage-ID: <offer-18@acme.example>\r\n"
           "Date: Mon, 3 Mar 2025 09:00:00 +0100\r\n\r\nHi Bob\r\n")
    send_mail(raw, acme.bcc_address, acme.email)
    records, messages, _threads, emails, persons, _links = _state(services, acme)
    assert emails == {"bob@customer.example"} and persons == 1
    (contacts,) = [d for d in records[0][1] if d["stage"] == "contacts"]
    assert contacts["outcome"] == "created"
    assert "mailer-daemon@mx.customer.example, postmaster@customer.example" in contacts["reason"]


def test_customer_auto_reply_is_stored_on_the_thread_it_answers_flagged(client, acme, send_mail, services):
    crm = Crm(client, acme)
    # The rep's offer to Jane, logged by Bcc: Jane becomes a contact, the thread links her.
    offer = (f"From: Alice Rep <{acme.email}>\r\nTo: Jane Buyer <jane@customer.example>\r\n"
             "Subject: Offer 17\r\nMessage-ID: <offer-17@acme.example>\r\n"
             "Date: Mon, 3 Mar 2025 09:00:00 +0100\r\n\r\nHi Jane, the offer.\r\n")
    send_mail(offer, acme.bcc_address, acme.email)
    before = crm.only_thread()
    _r, _m, _t, emails_before, persons_before, links_before = _state(services, acme)
    # Jane's Exchange out-of-office (no Auto-Submitted; In-Reply-To the offer), which the rep forwards,
    # and her renamed display name, which must not rename the contact.
    oof = exchange_out_of_office(name="Jane B. (away)")
    send_mail(forward_with_email_package(oof, rep=acme.email, to=acme.bcc_address, message_id="<fw-oof@acme.example>"),
              acme.bcc_address, acme.email)
    records, messages, threads, emails, persons, links = _state(services, acme)
    assert [status for status, _d in records] == ["processed", "processed"]
    (first, reply) = messages
    assert reply[0] == first[0]  # the same thread
    assert reply[1:] == ("jane@customer.example", "auto-reply")
    assert threads[first[0]] is False  # still a sales conversation
    assert (emails, persons, links) == (emails_before, persons_before, links_before)
    decisions = records[1][1]
    assert [d["outcome"] for d in decisions if d["stage"] == "thread"] == ["references"]
    assert [d["outcome"] for d in decisions if d["stage"] == "contacts"] == ["skipped"]
    after = crm.only_thread()
    assert links_of(after) == links_of(before) and after["id"] == before["id"]
    with services.db.session() as s:
        assert s.scalar(select(Person.name).join(PersonEmail).where(
            PersonEmail.email == "jane@customer.example")) == "Jane Buyer"
