"""Accepted addresses (with a confirmation mail over real SMTP) and the company domain change."""
from __future__ import annotations

import dataclasses
import email
import re
import smtplib
import threading

import pytest
from aiosmtpd.controller import Controller

from backend.app import create_app
from backend.services import Services

from ..conftest import free_port
from .conftest import mail


class Capture:
    """A real SMTP server standing in for the mail relay; keeps what it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def relay():
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, capture
    controller.stop()


@pytest.fixture
def relay_client(settings, relay, acme):
    controller, capture = relay
    services = Services.create(settings.with_(smtp_relay=f"127.0.0.1:{controller.port}"))
    app = create_app(services=services)
    yield app.test_client(), capture
    services.close()


def _link(capture) -> str:
    assert capture.arrived.wait(10), "no confirmation mail reached the relay"
    body = capture.messages[-1].get_payload(decode=True).decode()
    return re.search(r"(http://\S+/settings/smart-bcc/confirm\?token=\S+)", body).group(1)


def _token(link: str) -> str:
    return link.split("token=", 1)[1]


def test_alternative_address_cycle_over_a_real_relay(relay_client, acme, send_mail):
    client, capture = relay_client
    raw = mail("Alice <alice.private@home.example>", "bob@cust.example", "From home")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_mail(raw, acme.bcc_address, "alice.private@home.example")
    assert refused.value.smtp_code == 550 and b"5.7.1" in refused.value.smtp_error

    added = client.post("/api/v1/users/me/alternative-addresses", json={"email": "Alice.Private@home.example"},
                        headers=acme.auth)
    assert added.status_code == 201 and added.json["data"]["status"] == "pending"
    assert capture.messages[-1]["To"] == "alice.private@home.example"
    with pytest.raises(smtplib.SMTPDataError):
        send_mail(raw, acme.bcc_address, "alice.private@home.example")  # pending is not accepted

    first_link = _link(capture)
    capture.arrived.clear()
    resent = client.post(f"/api/v1/users/me/alternative-addresses/{added.json['data']['id']}/resend",
                         headers=acme.auth)
    assert resent.status_code == 200
    second_link = _link(capture)
    old = client.post("/api/v1/alternative-addresses/confirm", json={"token": _token(first_link)})
    assert old.status_code == 410 and "newer" in old.json["error"]

    confirmed = client.post("/api/v1/alternative-addresses/confirm", json={"token": _token(second_link)})
    assert confirmed.status_code == 200 and confirmed.json["data"]["state"] == "verified"
    again = client.post("/api/v1/alternative-addresses/confirm", json={"token": _token(second_link)})
    assert again.status_code == 409
    bad = client.post("/api/v1/alternative-addresses/confirm", json={"token": "garbage"})
    assert bad.status_code == 404

    settings = client.get("/api/v1/settings/smart-bcc", headers=acme.auth).json["data"]
    assert [(a["email"], a["kind"], a["status"]) for a in settings["accepted_addresses"]] == [
        (acme.email, "account", "verified"), ("alice.private@home.example", "alternative", "verified")]

    send_mail(raw, acme.bcc_address, "alice.private@home.example")
    threads = client.get("/api/v1/mailbox/mailThreads", headers=acme.auth).json["data"]
    assert [t["subject"] for t in threads] == ["From home"] and threads[0]["owner_id"] == acme.user_id

    removed = client.delete(f"/api/v1/users/me/alternative-addresses/{added.json['data']['id']}", headers=acme.auth)
    assert removed.status_code == 200
    with pytest.raises(smtplib.SMTPDataError):
        send_mail(mail("alice.private@home.example", "bob@cust.example", "Later"), acme.bcc_address)


def test_address_of_another_user_or_account_is_refused(client, acme, make_account):
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    taken = client.post("/api/v1/users/me/alternative-addresses", json={"email": "shared@home.example"},
                        headers=colleague.auth)
    assert taken.status_code == 201
    for address, words in (("shared@home.example", "another user"), ("colin@acme.example", "account address"),
                           (acme.email, "your account address"), ("acme@bcc.test", "Smart Bcc")):
        response = client.post("/api/v1/users/me/alternative-addresses", json={"email": address}, headers=acme.auth)
        assert response.status_code == 400, address
        assert words in response.json["error"] and "email" in response.json["errors"]


def test_confirmation_mail_lands_in_the_outbox_without_a_relay(client, acme, settings):
    response = client.post("/api/v1/users/me/alternative-addresses", json={"email": "me@home.example"},
                           headers=acme.auth)
    assert response.status_code == 201
    files = list(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 1 and b"/settings/smart-bcc/confirm?token=" in files[0].read_bytes()


def test_expired_link_says_to_resend(client, acme, settings, monkeypatch):
    import backend.domain.senders as alt

    client.post("/api/v1/users/me/alternative-addresses", json={"email": "me@home.example"}, headers=acme.auth)
    mail_file = next(settings.outbox_dir.glob("*.eml"))
    body = email.message_from_bytes(mail_file.read_bytes()).get_payload(decode=True).decode()
    token = re.search(r"token=(\S+)", body).group(1)
    monkeypatch.setattr(alt, "LINK", dataclasses.replace(alt.LINK, max_age=-1))
    response = client.post("/api/v1/alternative-addresses/confirm", json={"token": token})
    assert response.status_code == 410 and "resend" in response.json["error"]


def test_domain_change_gives_a_new_address_and_keeps_the_old_one_for_a_while(client, acme, send_mail, crm):
    deal = crm.deal("Survives", None)
    response = client.patch("/api/v1/settings/smart-bcc", json={"company_domain": "acme-group.example"},
                            headers=acme.auth)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["company_address"] == "acme-group@bcc.test"
    assert [p["address"] for p in data["previous_addresses"]] == ["acme@bcc.test"]
    for n, address in enumerate(("acme-group@bcc.test", "acme@bcc.test", deal["bcc_address"])):
        send_mail(mail(acme.email, "bob@cust.example", f"After change {n}"), address, acme.email)
    assert len(crm.threads()) == 3
    new_deal_address = crm.get(f"deals/{deal['id']}").json["data"]["bcc_address"]
    assert new_deal_address.startswith("acme-group+") and new_deal_address != deal["bcc_address"]
    send_mail(mail(acme.email, "bob@cust.example", "New deal address"), new_deal_address, acme.email)
    assert len(crm.get(f"deals/{deal['id']}/mailMessages").json["data"]) == 2


def test_old_address_stops_after_the_grace_period(client, acme, send_mail, services):
    from datetime import datetime, timedelta, timezone

    from backend.models import CompanyAddressAlias

    client.patch("/api/v1/settings/smart-bcc", json={"company_domain": "acme-group.example"}, headers=acme.auth)
    with services.db.session() as session:
        alias = session.query(CompanyAddressAlias).one()
        alias.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_mail(mail(acme.email, "bob@cust.example", "Too late"), "acme@bcc.test", acme.email)
    code, text = refused.value.recipients["acme@bcc.test"]
    assert code == 550 and text.startswith(b"5.1.1")


def test_only_admins_change_the_domain(client, make_account):
    make_account("acme.example", "boss@acme.example")
    member = make_account("acme.example", "member@acme.example", admin=False)
    response = client.patch("/api/v1/settings/smart-bcc", json={"company_domain": "x.example"}, headers=member.auth)
    assert response.status_code == 403 and "admin" in response.json["error"]
