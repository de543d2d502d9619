"""postmaster@ and abuse@ at the mail domain (RFC 5321 4.5.1, RFC 2142): mail from anyone, stored
apart from the CRM mail, never processed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.config import MAX_MESSAGE_BYTES
from backend.models import InboundRecord, MailMessage, OperatorMail, Person

from .conftest import make_mail, sha256, split_reply

STRANGER = "mailer-daemon@far.example"


def _operator_rows(services) -> list[OperatorMail]:
    with services.db.session() as session:
        return list(session.scalars(select(OperatorMail).order_by(OperatorMail.id)))


def _crm_counts(services) -> tuple[int, int, int]:
    with services.db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))  # type: ignore[return-value]
                     for m in (InboundRecord, MailMessage, Person))


@pytest.mark.parametrize("rcpt, mailbox", [
    ("postmaster@bcc.test", "postmaster"),
    ("PostMaster@bcc.test", "postmaster"),
    ("postmaster@BCC.TEST", "postmaster"),
    ("abuse@bcc.test", "abuse"),
    ("Abuse@bcc.test", "abuse"),
])
def test_stranger_to_operator_mailbox_gets_250_and_is_stored_apart(
        transact, acme, services, blob_bytes, rcpt, mailbox):
    raw = make_mail("Far Away <mailer-daemon@far.example>", "Delivery report", "report@far.example",
                    to=f"<{rcpt}>", body="Your server sent us something odd.\r\n")
    result = transact(STRANGER, [rcpt], raw)
    assert result.rcpts[0][:2] == (250, "2.1.5"), result.rcpts
    assert result.data[:2] == (250, "2.0.0"), result.data
    (row,) = _operator_rows(services)
    assert row.mailbox == mailbox
    assert row.envelope_from == STRANGER
    assert row.header_from == "Far Away <mailer-daemon@far.example>"
    assert row.subject == "Delivery report"
    assert row.size == len(raw) and row.raw_sha256 == sha256(raw)
    assert row.received_at is not None
    assert blob_bytes(row.raw_sha256) == raw
    # Not CRM mail: no arrival for the pipeline, no message, no contact.
    assert _crm_counts(services) == (0, 0, 0)


def test_bare_postmaster_without_domain_is_accepted(transact, services):
    """RFC 5321 4.1.1.3: RCPT TO:<Postmaster> must be supported."""
    result = transact(STRANGER, ["Postmaster"], make_mail(STRANGER, "Hi postmaster", "bare@far.example"))
    assert result.rcpts[0][:2] == (250, "2.1.5"), result.rcpts
    assert result.data[:2] == (250, "2.0.0"), result.data
    assert [r.mailbox for r in _operator_rows(services)] == ["postmaster"]


def test_postmaster_and_abuse_in_one_transaction_store_the_bytes_once(transact, services, stored):
    raw = make_mail(STRANGER, "Both", "both@far.example")
    result = transact(STRANGER, ["postmaster@bcc.test", "abuse@bcc.test"], raw)
    assert [r[0] for r in result.rcpts] == [250, 250]
    assert result.data[0] == 250
    assert sorted(r.mailbox for r in _operator_rows(services)) == ["abuse", "postmaster"]
    assert stored().blobs == 1


def test_operator_mail_needs_no_from_and_no_dkim(transact, acme, services):
    """No sender check and no sender verification, even under a company's reject policy."""
    from backend.models import Company

    with services.db.session() as session:
        session.get(Company, acme.company_id).sender_auth_policy = "reject"
    result = transact("", ["postmaster@bcc.test"], b"Subject: no from at all\r\n\r\nhello\r\n")
    assert result.data[:2] == (250, "2.0.0"), result.data
    (row,) = _operator_rows(services)
    assert (row.header_from, row.subject, row.envelope_from) == ("", "no from at all", None)


@pytest.mark.parametrize("rcpt", ["postmaster@other.example", "postmaster@sub.bcc.test", "hostmaster@bcc.test",
                                  "postmaster+x@bcc.test"])
def test_other_domains_and_names_are_not_operator_mailboxes(transact, services, rcpt):
    result = transact(STRANGER, [rcpt], make_mail(STRANGER))
    assert result.rcpts[0][:2] == (550, "5.1.1"), result.rcpts
    assert _operator_rows(services) == []


def test_operator_mail_over_limit_gets_552_534(smtp_client, services, stored):
    client = smtp_client()
    assert client.mail(STRANGER)[0] == 250
    assert client.rcpt("postmaster@bcc.test")[0] == 250
    big = make_mail(STRANGER, "Too big", "big@far.example", body=("x" * 998 + "\r\n") * (21 * 1024))
    assert len(big) > MAX_MESSAGE_BYTES
    code, msg = client.data(big)
    status, text = split_reply(msg)
    assert (code, status) == (552, "5.3.4"), (code, msg)
    assert "limit of 20 MB" in text
    assert _operator_rows(services) == [] and stored().blobs == 0


def test_operator_mail_size_declared_over_limit_gets_552_at_mail(transact, services):
    result = transact(STRANGER, ["postmaster@bcc.test"], None, mail_options=[f"SIZE={MAX_MESSAGE_BYTES + 1}"])
    assert result.mail[:2] == (552, "5.3.4"), result.mail


@pytest.mark.parametrize("first, second", [("postmaster@bcc.test", "acme@bcc.test"),
                                           ("acme@bcc.test", "postmaster@bcc.test")])
def test_operator_and_company_recipients_go_in_separate_transactions(
        transact, acme, services, records, first, second):
    """A mixed transaction would need two answers to one DATA; the second kind is deferred (452)."""
    raw = make_mail(acme.email, "Mixed", "mixed@acme.example")
    result = transact(acme.email, [first, second], raw)
    assert result.rcpts[0][:2] == (250, "2.1.5")
    code, status, text = result.rcpts[1]
    assert (code, status) == (452, "4.5.3"), result.rcpts[1]
    assert "separately" in text
    assert result.data[0] == 250
    if first.startswith("postmaster"):
        assert len(_operator_rows(services)) == 1 and records() == []
    else:
        assert _operator_rows(services) == [] and len(records()) == 1


def test_operator_mail_is_rate_limited_per_sender(transact, services, monkeypatch):
    from backend.ratelimit import Verdict

    seen = []

    def check_all(checks):
        seen.append([key for key, _ in checks])
        return Verdict(False, 30)

    monkeypatch.setattr(services.limiter, "check_all", check_all)
    result = transact(STRANGER, ["postmaster@bcc.test"], make_mail(STRANGER))
    assert result.rcpts[0][:2] == (451, "4.7.1"), result.rcpts
    assert seen == [[f"smtp:sender:{STRANGER}"]]
    assert _operator_rows(services) == []


def test_blob_store_failure_gets_451_430_and_nothing_stored(transact, services, break_blob_store):
    break_blob_store()
    result = transact(STRANGER, ["abuse@bcc.test"], make_mail(STRANGER))
    assert result.data[:2] == (451, "4.3.0"), result.data
    assert _operator_rows(services) == []
