"""An organisation's conversations are one rule (backend/domain/organizations.py), and the three
places that show them agree: the organisation's page (GET /organizations/<id>), the organisations
list's last activity and its sort (/organizations?sort=activity), and the inbox filter
organization_id=N (GET /api/v1/mailbox/mailThreads and the /inbox page).

A conversation is the organisation's when a live message is from or to one of its persons, or it
is linked to one of its persons, deals, leads or projects; a removed link or a deleted message
never counts, and a colleague's private conversation stays theirs."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import delete, select, update

from backend.models import MailMessage, MailThread, Participant, ThreadLink

from ..linking.conftest import Crm, mail

BOB = "bob@customer.example"  # a person of the organisation
SUBJECTS = {
    "mail_p": "Mail with Bob, not linked",
    "linked_p": "Linked to Bob",
    "deal": "About the organisation deal",
    "lead": "About the organisation lead",
    "removed": "Link to Bob removed",
    "deleted": "Message with Bob deleted",
    "other_org": "Dana elsewhere",
    "private": "Bert private talk with Bob",
}
EXPECTED = {"mail_p", "linked_p", "deal", "lead"}  # the organisation's, as alice sees them
# Each conversation's last message, in January; Feb 1 makes one of them the newest of all.
DAYS = {"mail_p": 2, "linked_p": 3, "deal": 4, "lead": 5, "removed": 20, "deleted": 21, "other_org": 12,
        "private": 22}
BASELINE = max(DAYS[name] for name in EXPECTED)  # the organisation's last activity


def at(day: int, month: int = 1) -> datetime:
    return datetime(2025, month, day, 12, 0)


@pytest.fixture
def org_mail(app, alice, bert, services, send_mail):
    """Customer Corp (Bob, a deal whose person Nora is not theirs, a lead) and Elsewhere Inc
    (Dana), and one conversation of each kind in SUBJECTS; returns the ids."""
    client = app.test_client()
    crm = Crm(client, alice)
    org = crm.post("organizations", name="Customer Corp")
    other = crm.post("organizations", name="Elsewhere Inc")
    bob = crm.post("persons", name="Bob Buyer", emails=[{"email": BOB}], organization_id=org["id"])
    crm.post("persons", name="Dana Distant", emails=[{"email": "dana@far.example"}], organization_id=other["id"])
    nora = crm.person("Nora Outside", "nora@outside.example")
    deal = crm.post("deals", title="Customer renewal", person_id=nora["id"], organization_id=org["id"])
    lead = crm.post("leads", title="Customer expansion", organization_id=org["id"])

    def thread_of(account, subject: str) -> int:
        with services.db.session() as session:
            return session.scalar(select(MailThread.id).where(
                MailThread.owner_id == account.user_id, MailThread.subject == subject))

    def send(account, to: str, name: str, **kwargs) -> int:
        send_mail(mail(account.email, to, SUBJECTS[name], **kwargs), account.bcc_address, account.email)
        return thread_of(account, SUBJECTS[name])

    ids = {
        "mail_p": send(alice, BOB, "mail_p"),
        "linked_p": send(alice, "zed@elsewhere.example", "linked_p"),
        "deal": send(alice, "nora@outside.example", "deal"),
        "lead": send(alice, "lena@elsewhere.example", "lead"),
        "removed": send(alice, "zed@elsewhere.example", "removed"),
        "deleted": send(alice, "zed@elsewhere.example", "deleted", msgid="first-of-deleted@acme.example"),
        "other_org": send(alice, "dana@far.example", "other_org"),
        "private": send(bert, BOB, "private"),
    }
    # The deleted one's second message, the only one with Bob, joins by In-Reply-To.
    send_mail(mail(alice.email, BOB, "Re: " + SUBJECTS["deleted"],
                   extra="In-Reply-To: <first-of-deleted@acme.example>\r\n"
                         "References: <first-of-deleted@acme.example>\r\n"), alice.bcc_address, alice.email)
    with services.db.session() as session:
        to_bob = session.scalar(select(MailMessage.id).join(Participant, Participant.message_id == MailMessage.id)
                                .where(MailMessage.thread_id == ids["deleted"], Participant.email == BOB))
        assert to_bob is not None and thread_of(alice, SUBJECTS["deleted"]) == ids["deleted"]
        # Whatever the automatic rules linked is undone: each conversation has exactly the links below.
        session.execute(delete(ThreadLink))
    api = {"headers": alice.auth}
    for name, item_type, item_id in (("linked_p", "person", bob["id"]), ("deal", "deal", deal["id"]),
                                     ("lead", "lead", lead["id"]), ("removed", "person", bob["id"])):
        response = client.post(f"/api/v1/mailbox/mailThreads/{ids[name]}/links",
                               json={"item_type": item_type, "item_id": item_id}, **api)
        assert response.status_code == 201, response.json
    assert client.delete(f"/api/v1/mailbox/mailThreads/{ids['removed']}/links/person/{bob['id']}",
                         **api).status_code in (200, 204)
    assert client.delete(f"/api/v1/mailbox/mailMessages/{to_bob}", **api).status_code in (200, 204)
    with services.db.session() as session:
        # Deleting empties the message, participants too; were a tombstone to keep them (older
        # data), a deleted message still would not count.
        session.add(Participant(company_id=alice.company_id, message_id=to_bob, role="to", email=BOB,
                                person_id=bob["id"]))
        for name, day in DAYS.items():
            session.execute(update(MailThread).where(MailThread.id == ids[name]).values(
                first_message_at=at(1), last_message_at=at(day)))
        live = {(lk.thread_id, lk.item_type) for lk in session.scalars(select(ThreadLink).where(
            ThreadLink.removed.is_(False)))}
        assert live == {(ids["linked_p"], "person"), (ids["deal"], "deal"), (ids["lead"], "lead")}
        assert session.scalar(select(ThreadLink.removed).where(ThreadLink.thread_id == ids["removed"])) is True
        # The deleted thread keeps its first message, to someone else.
        assert session.scalar(select(MailThread.message_count).where(MailThread.id == ids["deleted"])) == 1
    return {**ids, "org": org["id"], "other": other["id"]}


def listed(text: str) -> set[str]:
    return {name for name, subject in SUBJECTS.items() if subject in text}


def org_list(web) -> list[tuple[str, str]]:
    """(name, last activity) of each organisation, in the order /organizations?sort=activity&dir=desc shows."""
    page = web.get("/organizations?sort=activity&dir=desc").get_data(as_text=True)
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        name = re.search(r'<td><a href="[^"]+">([^<]+)</a></td>', row).group(1)
        rows.append((name, re.sub(r"<[^>]+>", "", row.split("</td>")[-2]).strip()))
    return rows


def test_the_page_the_list_and_the_filter_agree_on_an_organisations_conversations(app, web, alice, org_mail):
    org = org_mail["org"]
    page = web.get(f"/organizations/{org}").get_data(as_text=True)
    assert listed(page) == EXPECTED
    assert f"Conversations ({len(EXPECTED)})" in page

    api = app.test_client().get(f"/api/v1/mailbox/mailThreads?include_total=1&organization_id={org}",
                                headers=alice.auth).get_json()
    assert listed(" ".join(t["subject"] for t in api["data"])) == EXPECTED
    assert api["additional_data"]["pagination"]["total"] == len(EXPECTED)
    assert listed(web.get(f"/inbox?organization_id={org}").get_data(as_text=True)) == EXPECTED

    # The other organisation: its person's mail only.
    assert listed(web.get(f"/organizations/{org_mail['other']}").get_data(as_text=True)) == {"other_org"}
    other_api = app.test_client().get(f"/api/v1/mailbox/mailThreads?organization_id={org_mail['other']}",
                                      headers=alice.auth).get_json()
    assert listed(" ".join(t["subject"] for t in other_api["data"])) == {"other_org"}


def test_the_lists_last_activity_and_sort_count_the_same_conversations(web, services, org_mail):
    """Each conversation in turn made the newest of all: the organisation's last activity (and its
    place before Elsewhere Inc, whose conversation is of 12 Jan) moves exactly when it is one of
    the organisation's conversations."""
    assert org_list(web) == [("Elsewhere Inc", "12 Jan 2025, 12:00 UTC"),
                             ("Customer Corp", f"{BASELINE} Jan 2025, 12:00 UTC")]
    for name in SUBJECTS:
        if name == "other_org":
            continue
        with services.db.session() as session:
            session.execute(update(MailThread).where(MailThread.id == org_mail[name]).values(last_message_at=at(1, 2)))
        try:
            rows = org_list(web)
            if name in EXPECTED:
                assert rows[0] == ("Customer Corp", "1 Feb 2025, 12:00 UTC"), name
            else:
                assert rows[1] == ("Customer Corp", f"{BASELINE} Jan 2025, 12:00 UTC"), name
        finally:
            with services.db.session() as session:
                session.execute(update(MailThread).where(MailThread.id == org_mail[name]).values(
                    last_message_at=at(DAYS[name])))
