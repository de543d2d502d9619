"""Settings > Smart Bcc, accepted addresses (issue 15, point 6): refusals in words, where the
confirmation mail went, a link copied from the outbox file as it stands, a relay that is down."""
from __future__ import annotations

import re
from pathlib import Path

from backend import sender_tasks
from backend.app import create_app
from backend.services import Services

from ..conftest import free_port
from .conftest import sign_in

LINK_RE = re.compile(r"https?://\S+/settings/smart-bcc/confirm\?token=\S+")


def _add(web, address: str) -> str:
    return web.post("/settings/smart-bcc/addresses", data={"email": address, "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)


def test_contact_and_colleague_addresses_are_refused_with_the_reason(web, alice, bert, services):
    person = web.post("/api/v1/persons", json={"name": "Bob Buyer", "emails": [{"email": "bob@customer.example"}]},
                      headers={"Authorization": f"Bearer {alice.token}"})
    assert person.status_code == 201
    for address, words in (
            ("Bob@Customer.Example", ("bob@customer.example is a contact of your company (Bob Buyer); "
                                      "mail from it is a customer&#39;s, not yours")),
            ("BERT@acme.example", ("bert@acme.example is the account address of Bert Member, a user of your "
                                   "company; mail from it is theirs, not yours"))):
        html = _add(web, address)
        assert words in html, address
        assert 'role="alert"' in html
        assert "Pending" not in html
    assert not list(Path(services.settings.outbox_dir).glob("*.eml"))


def test_page_names_the_outbox_file_and_its_link_works_as_copied(web, client, services):
    html = _add(web, "alice@home.example")
    found = re.search(r"No mail relay is configured: the confirmation mail for alice@home\.example was written "
                      r"to (\S+\.eml) \(open it and follow the link", html)
    assert found, html
    path = Path(found.group(1))
    assert path.parent == Path(services.settings.outbox_dir) and path.exists()
    # The list says so too, while the address waits.
    assert f"the confirmation mail was written to <code>{path}</code>" in web.get("/settings/smart-bcc").get_data(
        as_text=True)
    [link] = LINK_RE.findall(path.read_text(encoding="utf-8"))
    asked = client.get(link[link.index("/settings/"):])
    assert asked.status_code == 200 and "Confirm alice@home.example" in asked.get_data(as_text=True)


def test_page_with_a_relay_down_says_the_mail_was_not_sent(settings, alice, monkeypatch):
    monkeypatch.setattr(sender_tasks, "RETRY_DELAYS", (0.0,))
    services = Services.create(settings.with_(smtp_relay=f"127.0.0.1:{free_port()}"))  # nothing listens
    try:
        client = create_app(services=services).test_client()
        client.csrf = sign_in(client, alice.email)
        response = client.post("/settings/smart-bcc/addresses",
                               data={"email": "alice@home.example", "csrf_token": client.csrf},
                               follow_redirects=True)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "The confirmation mail to alice@home.example could not be handed to the mail relay" in html
        assert "keeps waiting for confirmation" in html
        assert "Pending" in html and "the confirmation mail could not be sent" in html
    finally:
        services.close()
