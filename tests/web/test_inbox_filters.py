"""The inbox's filters on the /inbox page: each filter keeps what it says, they combine with each
other and with the search, the filter bar shows the active ones with a way to remove each, and a
bad value is a visible message (400). The rule is backend/domain/inbox_filters.py; the API's
parameters are tested in tests/api/test_inbox_filter_params.py."""
from __future__ import annotations

import html
import re
from datetime import datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import update

from backend.models import MailThread

from .conftest import PASSWORD, sign_in

_n = iter(range(1, 10_000))


def _post(client, account, path: str, **body) -> dict:
    response = client.post(f"/api/v1/{path}", json=body, headers=account.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


@pytest.fixture
def finding(app, alice, bert, make_account, send_mail, services):
    """Acme's mailbox: alice's own threads (one with an attachment that needs a deal, one linked to a
    deal), bert's shared and private threads, and globex's own person; returns their ids."""
    client = app.test_client()
    org = _post(client, alice, "organizations", name="Customer Corp")
    bob = _post(client, alice, "persons", name="Bob Buyer", emails=[{"email": "bob@customer.example"}],
                organization_id=org["id"])
    nora = _post(client, alice, "persons", name="Nora Prospect", emails=[{"email": "nora@prospect.example"}])
    deal = _post(client, alice, "deals", title="Spring renewal", person_id=nora["id"])
    lead = _post(client, alice, "leads", title="Spring fair lead")
    gary = make_account("globex.example", "gary@globex.example", name="Gary Globex", password=PASSWORD)
    foreign = _post(client, gary, "persons", name="Foreign Person", emails=[{"email": "fp@far.example"}])

    def send(account, subject: str, to: str, rcpt: str | None = None, attach: bool = False) -> int:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = account.email, to, subject
        msg["Message-ID"] = f"<f{next(_n)}@acme.example>"
        msg["Date"] = "Mon, 3 Mar 2025 10:00:00 +0000"
        msg.set_content(f"About {subject}.")
        if attach:
            msg.add_attachment(b"%PDF-1.4 quote", maintype="application", subtype="pdf", filename="quote.pdf")
        send_mail(bytes(msg), [rcpt or account.bcc_address], account.email)
        with services.db.session() as session:
            return session.scalar(MailThread.__table__.select().with_only_columns(MailThread.id)
                                  .where(MailThread.owner_id == account.user_id).order_by(MailThread.id.desc()).limit(1))

    ids = {
        "attached": send(alice, "Quote attached", "Bob Buyer <bob@customer.example>", attach=True),
        "linked": send(alice, "Renewal terms", "Nora <nora@prospect.example>", rcpt=deal["bcc_address"]),
        "shared": send(bert, "Bert shared note", "Bob Buyer <bob@customer.example>"),
        "private": send(bert, "Bert private note", "Bob Buyer <bob@customer.example>"),
    }
    dates = {"attached": ("2025-01-10", "2025-01-10"), "linked": ("2025-02-10", "2025-02-10"),
             "shared": ("2025-03-01", "2025-03-20"), "private": ("2025-02-15", "2025-02-15")}
    with services.db.session() as session:
        for name, (first, last) in dates.items():
            session.execute(update(MailThread).where(MailThread.id == ids[name]).values(
                first_message_at=datetime.fromisoformat(first), last_message_at=datetime.fromisoformat(last),
                shared=name == "shared", needs_deal_choice=name == "attached"))
    return {**ids, "bob": bob["id"], "nora": nora["id"], "org": org["id"], "deal": deal["id"],
            "lead": lead["id"], "foreign_person": foreign["id"]}


SUBJECTS = {"attached": "Quote attached", "linked": "Renewal terms", "shared": "Bert shared note",
            "private": "Bert private note"}


def listed(page_html: str) -> set[str]:
    """The threads a list page shows, by fixture name."""
    return {name for name, subject in SUBJECTS.items() if subject in page_html}


# What each filter keeps for alice (bert's private thread is never hers to see).
CASES = [
    ("", {"attached", "linked", "shared"}),
    ("filter=mine", {"attached", "linked"}),
    ("filter=shared_with_me", {"shared"}),
    ("filter=with_attachments", {"attached"}),
    ("filter=needs_deal", {"attached"}),
    ("filter=not_linked", {"attached", "shared"}),
    ("filter=mine&filter=not_linked", {"attached"}),
    ("filter=mine,not_linked", {"attached"}),
    ("person_id={bob}", {"attached", "shared"}),
    ("person_id={nora}", {"linked"}),
    ("organization_id={org}", {"attached", "shared"}),
    ("after=2025-02-01", {"linked", "shared"}),
    ("before=2025-03-01", {"attached", "linked"}),
    ("after=2025-02-01&before=2025-03-01", {"linked"}),
    ("after=2025-03-15", {"shared"}),  # active in the range: its last message is
    ("filter=shared_with_me&person_id={bob}&after=2025-03-01", {"shared"}),
    ("q=quote&filter=mine", {"attached"}),
    ("q=quote&filter=shared_with_me", set()),
]


@pytest.mark.parametrize("query,expected", CASES)
def test_each_filter_lists_what_it_says(app, finding, alice, query, expected):
    client = app.test_client()
    sign_in(client, alice.email)
    page = client.get("/inbox?" + query.format(**finding))
    assert page.status_code == 200
    assert listed(page.get_data(as_text=True)) == expected


def test_the_filter_bar_shows_active_filters_keeps_the_search_and_clears(app, finding, alice):
    client = app.test_client()
    sign_in(client, alice.email)
    text = client.get(f"/inbox?q=quote&filter=mine&filter=with_attachments&person_id={finding['bob']}"
                      "&after=2025-01-01").get_data(as_text=True)
    # The form keeps every filter, so a new search does not drop them.
    assert re.search(r'id="filter-mine" type="checkbox" name="filter" value="mine" checked', text)
    assert re.search(r'id="filter-with_attachments"[^>]* checked', text)
    assert not re.search(r'id="filter-not_linked"[^>]* checked', text)
    assert 'name="after" value="2025-01-01"' in text
    assert f'type="hidden" name="person_id" value="{finding["bob"]}"' in text
    chips = dict((html.unescape(label), html.unescape(url)) for url, label in re.findall(
        r'<a class="chip" href="([^"]+)" aria-label="Remove the filter ([^"]+)"', text))
    assert set(chips) == {"Mine", "With attachments", "With Bob Buyer", "From 1 Jan 2025"}
    # Removing one keeps the others and the search.
    without_mine = chips["Mine"]
    assert "q=quote" in without_mine and "filter=with_attachments" in without_mine and "mine" not in without_mine
    assert f"person_id={finding['bob']}" in without_mine
    assert f"person_id" not in chips["With Bob Buyer"]
    assert listed(client.get(without_mine).get_data(as_text=True)) == {"attached"}
    clear = re.search(r'<a class="btn btn-quiet" href="([^"]+)">Clear filters</a>', text).group(1)
    assert html.unescape(clear) == "/inbox?q=quote"


def test_paging_keeps_the_filters(app, finding, alice, monkeypatch):
    monkeypatch.setattr("backend.web.format.PAGE_SIZE", 1)
    client = app.test_client()
    sign_in(client, alice.email)
    text = client.get("/inbox?filter=mine").get_data(as_text=True)
    older = html.unescape(re.search(r'rel="next" href="([^"]+)"', text).group(1))
    assert "filter=mine" in older and "page=2" in older
    assert "Page 1 of 2" in text


@pytest.mark.parametrize("query,field_message", [
    ("filter=bogus", "Unknown filter bogus"),
    ("filter=mine&filter=shared_with_me", "exclude each other"),
    ("person_id=abc", "person_id must be a positive whole number"),
    ("person_id={foreign_person}", "There is no person"),
    ("organization_id=0", "organization_id must be a positive whole number"),
    ("after=2025-13-01", "after must be a date written YYYY-MM-DD"),
    ("before=yesterday", "before must be a date written YYYY-MM-DD"),
    ("after=2025-03-01&before=2025-02-01", "before must be a later day than after"),
])
def test_a_bad_filter_value_is_a_visible_message(app, finding, alice, query, field_message):
    client = app.test_client()
    sign_in(client, alice.email)
    page = client.get("/inbox?" + query.format(**finding))
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'role="alert" id="filter-errors"' in text and field_message in text
    assert "Foreign Person" not in text
    # The list is still there, unfiltered.
    assert listed(text) == {"attached", "linked", "shared"}


def test_a_member_sees_only_their_own_and_shared_threads_through_every_filter(app, finding, bert):
    client = app.test_client()
    sign_in(client, bert.email)
    assert listed(client.get("/inbox?filter=mine").get_data(as_text=True)) == {"shared", "private"}
    assert listed(client.get("/inbox?filter=shared_with_me").get_data(as_text=True)) == set()
    assert listed(client.get(f"/inbox?person_id={finding['bob']}").get_data(as_text=True)) == {"shared", "private"}
