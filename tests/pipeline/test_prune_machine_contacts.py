"""`smartbcc contacts prune-automatic`: mailer-daemon@ and postmaster@ contacts that forwarded
bounces made before issue 16 are removed and unlinked, unless someone made something of them."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from backend import cli as cli_module
from backend.domain.machine_contacts import find_machine_contacts, prune_machine_contacts
from backend.mail.automatic import MACHINE_LOCAL_PARTS, is_machine_address
from backend.models import Deal, Participant, Person, PersonEmail, ThreadLink

LEGACY = {  # address -> what is done to it besides being in a logged mail
    "mailer-daemon@googlemail.com": None,
    "postmaster@outlook.example": None,
    "MAILER_DAEMON@mx.example": None,
    "postmaster@linked-by-hand.example": "manual",
    "mailer-daemon@has-a-deal.example": "deal",
    "bob@customer.example": None,
    "xmailer-daemon@customer.example": None,  # a person's address that merely looks like one
}


@pytest.fixture
def legacy(acme, send_mail, services):
    """Contacts as old versions made them, each in a logged mail and linked to its thread."""
    with services.db.session() as s:
        for email in LEGACY:
            person = Person(company_id=acme.company_id, name=email.split("@")[0], owner_id=acme.user_id)
            person.emails.append(PersonEmail(company_id=acme.company_id, email=email.lower(), primary=True))
            s.add(person)
        # One with a machine address and a person's address: someone merged it.
        person = Person(company_id=acme.company_id, name="Merged", owner_id=acme.user_id)
        person.emails.append(PersonEmail(company_id=acme.company_id, email="postmaster@merged.example", primary=True))
        person.emails.append(PersonEmail(company_id=acme.company_id, email="carol@merged.example"))
        s.add(person)
    raw = (f"From: {acme.email}\r\nTo: " + ", ".join(LEGACY) + ", postmaster@merged.example\r\n"
           "Subject: Offer\r\nMessage-ID: <legacy@acme.example>\r\nDate: Mon, 3 Mar 2025 09:00:00 +0100\r\n\r\nHi\r\n")
    send_mail(raw, acme.bcc_address, acme.email)
    with services.db.session() as s:
        ids = dict(s.execute(select(PersonEmail.email, PersonEmail.person_id)).all())
        s.execute(ThreadLink.__table__.update().where(
            ThreadLink.item_type == "person", ThreadLink.item_id == ids["postmaster@linked-by-hand.example"])
            .values(origin="manual"))
        s.add(Deal(company_id=acme.company_id, title="Odd", status="open", owner_id=acme.user_id,
                   person_id=ids["mailer-daemon@has-a-deal.example"], bcc_token="abcdefghijklmnop"))
        assert s.scalar(select(ThreadLink.id).where(ThreadLink.item_id == ids["mailer-daemon@googlemail.com"]))
    return ids


def _emails(services) -> set[str]:
    with services.db.session() as s:
        return set(s.scalars(select(PersonEmail.email)))


def test_the_list_is_the_rules_list():
    assert {"mailer-daemon", "postmaster"} <= MACHINE_LOCAL_PARTS
    assert is_machine_address("MAILER-DAEMON") and is_machine_address("<Postmaster@x.example>")
    assert not is_machine_address("bob@customer.example") and not is_machine_address("xmailer-daemon@x.example")


def test_prune_removes_and_unlinks_only_untouched_machine_contacts(legacy, services):
    removed = {"mailer-daemon@googlemail.com", "postmaster@outlook.example", "mailer_daemon@mx.example"}
    with services.db.session() as s:
        found = find_machine_contacts(s)
        assert {c.emails[0] for c in found if not c.kept} == removed
        kept = {c.emails[0]: c.kept for c in found if c.kept}
        assert kept == {"postmaster@linked-by-hand.example": "someone linked it to a thread by hand",
                        "mailer-daemon@has-a-deal.example": "it has a deal",
                        "postmaster@merged.example": "it also has the address carol@merged.example"}
        assert all(c.threads for c in found)
        prune_machine_contacts(s)
    assert _emails(services) == {e.lower() for e in LEGACY} - removed | {"postmaster@merged.example",
                                                                         "carol@merged.example"}
    with services.db.session() as s:
        gone = [legacy[e] for e in removed]
        assert s.scalars(select(ThreadLink).where(ThreadLink.item_type == "person",
                                                  ThreadLink.item_id.in_(gone))).all() == []
        assert s.scalars(select(Participant).where(Participant.person_id.in_(gone))).all() == []
        assert s.scalars(select(Person).where(Person.id.in_(gone))).all() == []
        machine = s.scalars(select(Participant).where(Participant.email.in_(removed))).all()
        assert len(machine) == 3 and all(p.person_id is None for p in machine)  # the mail itself stays
        assert s.scalar(select(ThreadLink.id).where(ThreadLink.item_id == legacy["bob@customer.example"]))
        assert find_machine_contacts(s) and all(c.kept for c in find_machine_contacts(s))


def test_cli_dry_run_then_prune(legacy, services, monkeypatch):
    monkeypatch.setattr(cli_module, "cli_services", lambda *a, **k: services)
    before = _emails(services)
    dry = CliRunner().invoke(cli_module.main, ["contacts", "prune-automatic", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    out = json.loads(dry.stdout)
    assert out["dry_run"] is True and len(out["removed"]) == 3 and len(out["kept"]) == 3
    assert "would remove 3 mail-server contact(s); kept 3" in dry.stderr
    assert _emails(services) == before
    done = CliRunner().invoke(cli_module.main, ["contacts", "prune-automatic"])
    assert done.exit_code == 0, done.output
    assert {e for c in json.loads(done.stdout)["removed"] for e in c["emails"]} == {
        "mailer-daemon@googlemail.com", "postmaster@outlook.example", "mailer_daemon@mx.example"}
    assert "removed 3 mail-server contact(s); kept 3" in done.stderr
    again = json.loads(CliRunner().invoke(cli_module.main, ["contacts", "prune-automatic"]).stdout)
    assert again["removed"] == [] and len(again["kept"]) == 3
    unknown = CliRunner().invoke(cli_module.main, ["contacts", "prune-automatic", "--company-id", "999999"])
    assert unknown.exit_code != 0 and unknown.stderr.strip() == "error: no company with id 999999"


def test_create_contact_from_a_thread_never_picks_a_mail_server(client, acme, send_mail, services):
    raw = (f"From: {acme.email}\r\nTo: Bob <bob@customer.example>\r\nCc: MAILER-DAEMON@mx.customer.example\r\n"
           "Subject: Offer\r\nMessage-ID: <pick@acme.example>\r\nDate: Mon, 3 Mar 2025 09:00:00 +0100\r\n\r\nHi\r\n")
    send_mail(raw, acme.bcc_address, acme.email)
    (thread,) = client.get("/api/v1/mailbox/mailThreads", headers=acme.auth).json["data"]
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/create-item", json={"type": "person"},
                           headers=acme.auth)
    assert response.status_code == 400 and "already is a contact" in json.dumps(response.json)
    assert _emails(services) == {"bob@customer.example"}
