"""Alternative sender addresses (issue 15, point 6): whose addresses are refused and why, the
confirmation mail sent by the job runner with retries, where it went, and an outbox file whose
link can be copied as it stands."""
from __future__ import annotations

import email
import logging
import re
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from backend import sender_tasks
from backend.app import create_app
from backend.models import Person, PersonEmail, SenderAddress
from backend.services import Services
from backend.tasks import TASKS

from ..conftest import free_port

ADD = "/api/v1/users/me/alternative-addresses"
LINK_RE = re.compile(r"https?://\S+/settings/smart-bcc/confirm\?token=\S+")


class FlakyRelay:
    """A real SMTP server standing in for the mail relay: refuses the first ``failures`` mails
    with a temporary error, then keeps what it receives."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.tries = 0
        self.messages: list[email.message.Message] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.failures:
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.original_content))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def no_retry_wait(monkeypatch):
    monkeypatch.setattr(sender_tasks, "RETRY_DELAYS", (0.0, 0.0))


@pytest.fixture
def relay_app(settings, acme, no_retry_wait):
    """relay_app(relay_handler or None) -> a test client whose mail relay is that server
    (None: a relay address where nothing listens)."""
    made = []

    def make(handler):
        port = free_port()
        if handler is not None:
            controller = Controller(handler, hostname="127.0.0.1", port=port)
            controller.start()
            made.append(controller)
        services = Services.create(settings.with_(smtp_relay=f"127.0.0.1:{port}"))
        made.append(services)
        return create_app(services=services).test_client()

    yield make
    for thing in reversed(made):
        thing.stop() if isinstance(thing, Controller) else thing.close()


def _sender(services, email_address: str) -> SenderAddress | None:
    with services.db.session() as session:
        return session.query(SenderAddress).filter_by(email=email_address).one_or_none()


# --- 1. whose address it is --------------------------------------------------------------------

def test_a_contact_of_the_company_is_refused_with_the_reason(client, acme, crm, services):
    crm.person("Bob Buyer", "bob@customer.example")
    response = client.post(ADD, json={"email": "Bob@Customer.EXAMPLE"}, headers=acme.auth)
    assert response.status_code == 400, response.json
    assert "bob@customer.example is a contact of your company" in response.json["error"]
    assert "a customer's, not yours" in response.json["error"]
    assert response.json["errors"]["email"] == [response.json["error"]]
    assert _sender(services, "bob@customer.example") is None
    assert not list(Path(services.settings.outbox_dir).glob("*.eml")), "the customer must get no mail"


def test_a_contact_stored_in_another_case_is_refused(client, acme, services):
    with services.db.session() as session:
        person = Person(company_id=acme.company_id, name="Carol Customer")
        session.add(person)
        session.flush()
        session.add(PersonEmail(company_id=acme.company_id, person_id=person.id, email="Carol@Customer.Example"))
    response = client.post(ADD, json={"email": "carol@customer.example"}, headers=acme.auth)
    assert response.status_code == 400 and "contact of your company (Carol Customer)" in response.json["error"]


def test_a_contact_of_another_company_may_be_added(client, acme, make_account):
    other = make_account("globex.example", "gary@globex.example")
    from .conftest import Crm

    Crm(client, other).person("Bob Buyer", "bob@customer.example")
    assert client.post(ADD, json={"email": "bob@customer.example"}, headers=acme.auth).status_code == 201


def test_a_colleagues_addresses_are_refused_saying_whose(client, acme, make_account):
    colin = make_account("acme.example", "colin@acme.example", admin=False, name="Colin Colleague")
    assert client.post(ADD, json={"email": "colin@home.example"}, headers=colin.auth).status_code == 201
    for address, words in (("COLIN@acme.example", "the account address of Colin Colleague, a user of your company"),
                           ("Colin@Home.Example", "an address of another user of your company, Colin Colleague")):
        response = client.post(ADD, json={"email": address}, headers=acme.auth)
        assert response.status_code == 400, address
        assert words in response.json["error"] and "theirs, not yours" in response.json["error"]
        assert "email" in response.json["errors"]


def test_smart_bcc_addresses_are_refused(client, acme, crm):
    deal = crm.deal("Big deal", None)
    for address in (acme.bcc_address.upper(), deal["bcc_address"]):
        response = client.post(ADD, json={"email": address}, headers=acme.auth)
        assert response.status_code == 400, address
        assert "cannot be one of your sending addresses" in response.json["error"]


# --- 2. sent by the job runner, with retries ----------------------------------------------------

def test_the_request_only_queues_the_mail_after_its_commit(client, acme, services, monkeypatch):
    queued = []

    def enqueue(name, *args):
        with services.db.session() as session:  # another session: the request has committed
            entry = session.get(SenderAddress, args[0])
            queued.append((name, args, entry.email, entry.confirmation_nonce))

    monkeypatch.setattr(services.jobs, "enqueue", enqueue)
    response = client.post(ADD, json={"email": "me@home.example"}, headers=acme.auth)
    assert response.status_code == 201
    outbox = Path(services.settings.outbox_dir)
    assert not list(outbox.glob("*.eml")), "the web request wrote the mail itself"
    [(name, args, address, nonce)] = queued
    assert name == "senders.send_confirmation" and address == "me@home.example" and args[1] == nonce
    named = Path(response.json["data"]["confirmation"]["outbox_file"])
    assert not named.exists()
    assert TASKS[name](services, *args) == str(named)  # what the job runner does
    assert [p.name for p in outbox.glob("*.eml")] == [named.name]


def test_a_replaced_mail_is_not_sent(client, acme, services, monkeypatch):
    queued = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, *args: queued.append((name, args)))
    added = client.post(ADD, json={"email": "me@home.example"}, headers=acme.auth).json["data"]
    client.post(f"{ADD}/{added['id']}/resend", headers=acme.auth)
    first, second = queued
    assert TASKS[first[0]](services, *first[1]) == "superseded"
    assert TASKS[second[0]](services, *second[1]).endswith(".eml")
    assert len(list(Path(services.settings.outbox_dir).glob("*.eml"))) == 1


def test_a_relay_that_fails_once_delivers_one_mail(relay_app, acme, services, caplog):
    relay = FlakyRelay(failures=1)
    client = relay_app(relay)
    with caplog.at_level(logging.WARNING, logger="backend.sender_tasks"):
        response = client.post(ADD, json={"email": "me@home.example"}, headers=acme.auth)
    assert response.status_code == 201, response.json
    assert relay.arrived.wait(10)
    assert relay.tries == 2 and len(relay.messages) == 1
    assert relay.messages[0]["To"] == "me@home.example"
    assert "attempt 1" in caplog.text and "trying again" in caplog.text
    data = response.json["data"]
    assert data["status"] == "pending" and data["confirmation"]["sent_to"] == "relay"
    assert data["confirmation"]["outbox_file"] is None
    assert data["confirmation"]["message"].startswith("We sent a confirmation mail to me@home.example — "
                                                      "check that inbox")
    assert _sender(services, "me@home.example").confirmation_sent_at is not None


def test_a_relay_that_is_down_keeps_the_address_waiting(relay_app, acme, services, caplog):
    client = relay_app(None)
    with caplog.at_level(logging.WARNING, logger="backend.sender_tasks"):
        response = client.post(ADD, json={"email": "me@home.example"}, headers=acme.auth)
    assert response.status_code == 201, response.json  # never a 5xx to the user
    data = response.json["data"]
    assert data["status"] == "pending" and data["confirmation_failed"] is True
    assert data["confirmation"]["sent_to"] == "failed"
    assert "could not be handed to the mail relay" in data["confirmation"]["message"]
    assert "not sent after 3 attempts" in caplog.text
    entry = _sender(services, "me@home.example")
    assert entry.verified_at is None and entry.confirmation_sent_at is None
    [listed] = client.get(ADD, headers=acme.auth).json["data"]
    assert listed["status"] == "pending" and listed["confirmation_failed"] is True


# --- 3 and 4. where it went; the outbox file as it reads ----------------------------------------

def test_the_outbox_file_is_named_and_its_link_works_as_copied(client, acme, services):
    response = client.post(ADD, json={"email": "me@home.example"}, headers=acme.auth)
    assert response.status_code == 201
    confirmation = response.json["data"]["confirmation"]
    path = Path(confirmation["outbox_file"])
    assert confirmation["sent_to"] == "outbox"
    assert confirmation["message"].startswith("No mail relay is configured: the confirmation mail for "
                                              f"me@home.example was written to {path} (open it and follow the link")
    text = path.read_text(encoding="utf-8")  # the file as a person opens it
    assert "=3D" not in text and "=\n" not in text
    assert "Content-Transfer-Encoding: 7bit" in text
    [link] = LINK_RE.findall(text)
    page = client.get(link[link.index("/settings/"):])
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    assert "Confirm me@home.example" in page.get_data(as_text=True)


def test_mail_in_the_outbox_reads_as_written(settings):
    from backend import mailer

    link = "http://testserver/settings/smart-bcc/confirm?token=" + "eyJpZCI6MX0.Zx-_" * 12
    text = f"Hello Jürgen,\n\nopen this link:\n\n{link}\n\nThanks.\n"
    path = Path(mailer.send(settings, "me@home.example", "Confirm", text))
    assert path.parent == Path(settings.outbox_dir) and path.suffix == ".eml"
    written = path.read_text(encoding="utf-8")
    assert f"\n{link}\n" in written and "Hello Jürgen," in written  # no =3D, no soft line breaks
    assert email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode() == text
