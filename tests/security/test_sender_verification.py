"""Spoofed From: addresses: DKIM alignment against keys from a real (local) DNS server, and trusted Authentication-Results."""
from __future__ import annotations

import base64
import smtplib
import socket

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnslib import QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer
from sqlalchemy import select

from backend.intake.smtp import start_controller
from backend.models import Company, InboundRecord
from backend.services import Services

from ..conftest import free_port


def _key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


class Zone(BaseResolver):
    def __init__(self, records: dict[str, str]):
        self.records = records
        self.queries: list[str] = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append(name)
        if request.q.qtype == QTYPE.TXT and name in self.records:
            value = self.records[name]
            chunks = [value[i:i + 250] for i in range(0, len(value), 250)]
            reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        return reply


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ACME_KEY = _key()
EVIL_KEY = _key()


@pytest.fixture
def dns_zone():
    zone = Zone({"s1._domainkey.acme.example": ACME_KEY[1], "s1._domainkey.evil.example": EVIL_KEY[1]})
    port = _udp_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    yield zone, f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def receiver(settings, dns_zone, acme):
    zone, resolver = dns_zone

    def make(policy: str, **overrides):
        services = Services.create(settings.with_(dns_resolver=resolver, **overrides))
        with services.db.session() as session:
            session.get(Company, acme.company_id).sender_auth_policy = policy
        controller = start_controller(services, hostname="127.0.0.1", port=free_port())
        made.append((services, controller))
        return services, controller.port

    made = []
    yield make
    for services, controller in made:
        controller.stop()
        services.close()


def _mail(sender: str, n: int, extra: str = "") -> bytes:
    return (f"{extra}From: Alice <{sender}>\r\nTo: bob@cust.example\r\nSubject: Quote {n}\r\n"
            f"Message-ID: <auth-{n}@acme.example>\r\n\r\nHello Bob\r\n").encode()


def _signed(raw: bytes, domain: str, key) -> bytes:
    signature = dkim.sign(raw, b"s1", domain.encode(), key[0],
                          include_headers=[b"from", b"to", b"subject", b"message-id"])
    return signature + raw


def _send(port, raw, rcpt, sender="alice@acme.example"):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(sender, [rcpt], raw)


def _record(services, n) -> InboundRecord:
    with services.db.session() as session:
        return session.scalars(select(InboundRecord).order_by(InboundRecord.id.desc())).first()


def test_reject_policy_refuses_an_unsigned_spoof_with_5726(receiver, acme):
    services, port = receiver("reject")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(port, _mail(acme.email, 1), acme.bcc_address, sender="attacker@evil.example")
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.startswith(b"5.7.26") and b"alice@acme.example" in refused.value.smtp_error
    with services.db.session() as session:
        assert session.scalars(select(InboundRecord)).all() == []


def test_reject_policy_accepts_an_aligned_dkim_signature(receiver, acme, dns_zone):
    services, port = receiver("reject")
    assert _send(port, _signed(_mail(acme.email, 2), "acme.example", ACME_KEY), acme.bcc_address) == {}
    record = _record(services, 2)
    assert record.sender_auth == "pass" and record.status == "processed"
    assert "s1._domainkey.acme.example" in dns_zone[0].queries


@pytest.mark.parametrize("case", ["other-domain-signature", "tampered-body", "wrong-key"])
def test_reject_policy_refuses_what_does_not_verify(receiver, acme, case):
    services, port = receiver("reject")
    raw = _mail(acme.email, 3)
    if case == "other-domain-signature":
        raw = _signed(raw, "evil.example", EVIL_KEY)
    elif case == "tampered-body":
        raw = _signed(raw, "acme.example", ACME_KEY).replace(b"Hello Bob", b"Pay to IBAN X")
    else:
        raw = _signed(raw, "acme.example", EVIL_KEY)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(port, raw, acme.bcc_address)
    assert refused.value.smtp_code == 550 and refused.value.smtp_error.startswith(b"5.7.26")


def test_flag_policy_keeps_the_mail_and_records_the_verdict(receiver, acme, client):
    services, port = receiver("flag")
    _send(port, _mail(acme.email, 4), acme.bcc_address, sender="attacker@evil.example")
    record = _record(services, 4)
    assert record.status == "processed" and record.sender_auth == "none"
    assert any(d.get("sender_auth") == "none" for d in record.decisions)


def test_off_policy_does_not_check(receiver, acme, dns_zone):
    services, port = receiver("off")
    _send(port, _mail(acme.email, 5), acme.bcc_address)
    assert _record(services, 5).sender_auth is None
    assert dns_zone[0].queries == []


def test_trusted_front_mta_results_are_used_and_others_ignored(receiver, acme):
    services, port = receiver("reject", trusted_authserv_ids=("mx.front.example",))
    trusted = "Authentication-Results: mx.front.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example\r\n"
    assert _send(port, _mail(acme.email, 6, extra=trusted), acme.bcc_address) == {}
    assert _record(services, 6).sender_auth == "pass"
    forged = "Authentication-Results: mx.attacker.example; dkim=pass header.d=acme.example\r\n"
    with pytest.raises(smtplib.SMTPDataError):
        _send(port, _mail(acme.email, 7, extra=forged), acme.bcc_address)
    failing = "Authentication-Results: mx.front.example; dkim=fail header.d=acme.example; dmarc=fail header.from=acme.example\r\n"
    with pytest.raises(smtplib.SMTPDataError):
        _send(port, _mail(acme.email, 8, extra=failing), acme.bcc_address)


def test_only_admins_change_sender_verification(client, acme, make_account):
    member = make_account("acme.example", "m@acme.example", admin=False)
    assert client.patch("/api/v1/settings/smart-bcc", json={"sender_verification": "reject"},
                        headers=member.auth).status_code == 403
    response = client.patch("/api/v1/settings/smart-bcc", json={"sender_verification": "reject"}, headers=acme.auth)
    assert response.status_code == 200 and response.json["data"]["sender_verification"] == "reject"
