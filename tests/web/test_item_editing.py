"""Items you can work with (issue 20, part 3): deals, leads, projects, persons and organizations
created and changed from the pages, with the API's own validation messages next to the fields;
the organization page; sortable, paged lists with owner, value and last activity."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from backend.models import Deal, Lead, Organization, Person, Project, ThreadLink
from backend.models.crm import PersonPhone

from ..linking.conftest import Crm, mail

BOB = "bob@customer.example"


def field_error(page: str, name: str) -> str:
    """The message shown next to the field ``name`` ("" when there is none)."""
    match = re.search(rf'<p class="form-error field-error" id="{name}-error" role="alert">(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else ""


def post(web, path: str, **form):
    return web.post(path, data={**form, "csrf_token": web.csrf})


def count(services, model) -> int:
    with services.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def fetch(services, model, item_id):
    with services.db.session() as session:
        row = session.get(model, item_id)
        session.expunge_all()
        return row


DEAL_FORM = {"title": "Payroll renewal", "status": "open", "lost_reason": "", "value": "12500.50",
             "currency": "eur", "stage": "Proposal sent", "expected_close_date": "2027-03-31",
             "person_id": "", "organization_id": "", "owner_id": ""}


@pytest.fixture
def crm(client, alice):
    return Crm(client, alice)


# ---- creating and editing

def test_a_deal_is_created_from_the_page_with_every_field(web, services, alice, crm):
    bob = crm.person("Bob Buyer", BOB)
    org = crm.post("organizations", name="Customer Ltd")
    response = post(web, "/deals/new", **{**DEAL_FORM, "person_id": str(bob["id"]), "organization_id": str(org["id"])})
    assert response.status_code == 302, response.get_data(as_text=True)
    with services.db.session() as session:
        deal = session.scalar(select(Deal).where(Deal.title == "Payroll renewal"))
        assert (deal.status, str(deal.value), deal.currency, deal.stage, deal.expected_close_date) == (
            "open", "12500.50", "EUR", "Proposal sent", date(2027, 3, 31))
        assert (deal.person_id, deal.organization_id, deal.owner_id) == (bob["id"], org["id"], alice.user_id)
        assert deal.bcc_token  # its own Smart Bcc address, as from the API
        deal_id = deal.id
    assert response.headers["Location"].endswith(f"/deals/{deal_id}")
    page = web.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Created deal &#39;Payroll renewal&#39;." in page
    for text in ("12,500.50 EUR", "Proposal sent", "2027-03-31", "Bob Buyer", "Customer Ltd", "Alice Admin"):
        assert text in page, text
    # The API shows the same deal with the new fields.
    data = crm.get(f"deals/{deal_id}").json["data"]
    assert (data["stage"], data["expected_close_date"], data["lost_reason"]) == ("Proposal sent", "2027-03-31", None)


def test_the_form_shows_the_apis_own_messages_next_to_the_fields(web, services, client, alice):
    bad = {**DEAL_FORM, "title": "   ", "value": "12,5k", "currency": "euro", "expected_close_date": "31/03/2027"}
    response = post(web, "/deals/new", **bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert count(services, Deal) == 0
    api = client.post("/api/v1/deals", headers=alice.auth, json={
        "title": "   ", "value": "12,5k", "currency": "EURO", "expected_close_date": "31/03/2027"})
    assert api.status_code == 400
    errors = api.json["errors"]
    assert errors["title"] == ["Give the deal a title."]
    for name in ("title", "value", "currency", "expected_close_date"):
        assert field_error(page, name) == " ".join(errors[name]), name
    assert 'aria-invalid="true"' in page and 'aria-describedby="title-error"' in page
    # What was typed stays in the form.
    assert 'value="12,5k"' in page and "Nothing was saved" in page


@pytest.mark.parametrize("path, field, message, model", [
    ("/deals/new", "title", "Give the deal a title.", Deal),
    ("/leads/new", "title", "Give the lead a title.", Lead),
    ("/projects/new", "title", "Give the project a title.", Project),
    ("/persons/new", "name", "Give the person a name.", Person),
    ("/organizations/new", "name", "Give the organization a name.", Organization),
])
def test_a_blank_title_is_refused_with_a_message(web, services, client, alice, path, field, message, model):
    for blank in ("", "   "):
        response = post(web, path, **{field: blank})
        assert response.status_code == 400
        assert field_error(response.get_data(as_text=True), field) == message
        api = client.post(f"/api/v1{path.removesuffix('/new')}", headers=alice.auth, json={field: blank})
        assert (api.status_code, api.json["errors"].get(field)) == (400, [message])
    assert count(services, model) == 0


def test_editing_a_deal_marks_it_lost_with_a_reason_and_reopening_clears_it(web, services, crm):
    deal = crm.post("deals", title="Fleet", value=900, currency="USD")
    form = web.get(f"/deals/{deal['id']}/edit").get_data(as_text=True)
    assert 'value="Fleet"' in form and 'value="900.00"' in form and 'value="USD"' in form
    response = post(web, f"/deals/{deal['id']}/edit", **{**DEAL_FORM, "title": "Fleet", "status": "lost",
                                                         "lost_reason": "Went with a competitor", "value": "900"})
    assert response.status_code == 302
    page = web.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "Saved deal &#39;Fleet&#39;." in page and "Went with a competitor" in page
    assert fetch(services, Deal, deal["id"]).lost_reason == "Went with a competitor"
    post(web, f"/deals/{deal['id']}/edit", **{**DEAL_FORM, "title": "Fleet", "status": "open",
                                              "lost_reason": "Went with a competitor"})
    stored = fetch(services, Deal, deal["id"])
    assert (stored.status, stored.lost_reason) == ("open", None)
    # The API follows the same rule: a reason is kept only while the deal is lost.
    patched = crm.client.patch(f"/api/v1/deals/{deal['id']}", headers=crm.account.auth,
                               json={"status": "won", "lost_reason": "ignored"}).json["data"]
    assert (patched["status"], patched["lost_reason"]) == ("won", None)


def test_a_bad_edit_changes_nothing_and_keeps_what_was_typed(web, services, crm):
    deal = crm.post("deals", title="Fleet", value=900, currency="USD")
    response = post(web, f"/deals/{deal['id']}/edit", **{**DEAL_FORM, "title": "Fleet 2", "value": "-5"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "value") == "Use an amount from 0 to 999,999,999,999.99."
    assert 'value="Fleet 2"' in page
    stored = fetch(services, Deal, deal["id"])
    assert (stored.title, str(stored.value)) == ("Fleet", "900.00")


def test_another_companys_person_in_a_form_is_refused(web, services, make_account):
    globex = make_account("globex.example", "gary@globex.example")
    with services.db.session() as session:
        theirs = Person(company_id=globex.company_id, name="Their person")
        session.add(theirs)
        session.flush()
        their_id = theirs.id
    response = post(web, "/leads/new", title="Sneaky", person_id=str(their_id))
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "person_id") == f"No person with id {their_id} in your company."
    assert "Their person" not in response.get_data(as_text=True)
    assert count(services, Lead) == 0
    # Their items' forms are absent, like their pages.
    assert web.get(f"/persons/{their_id}/edit").status_code == 404
    assert post(web, f"/persons/{their_id}/edit", name="Mine now").status_code == 404
    assert fetch(services, Person, their_id).name == "Their person"


def test_a_person_has_several_addresses_and_phones(web, services, crm):
    org = crm.post("organizations", name="Customer Ltd")
    response = post(web, "/persons/new", name="Bob Buyer", emails=f"{BOB}\nBob@Home.example\n",
                    phones="+44 20 7946 0958\n(555) 123-4567", organization_id=str(org["id"]))
    assert response.status_code == 302
    person = crm.get("persons", email=BOB).json["data"][0]
    assert [e["email"] for e in person["emails"]] == [BOB, "bob@home.example"]
    assert person["emails"][0]["primary"] is True
    assert [p["phone"] for p in person["phones"]] == ["+44 20 7946 0958", "(555) 123-4567"]
    page = web.get(f"/persons/{person['id']}").get_data(as_text=True)
    assert "+44 20 7946 0958" in page and "bob@home.example" in page and "Customer Ltd" in page
    # "New deal" on the person's page: the form comes with the person and their organization chosen.
    link = re.search(r'href="(/deals/new\?[^"]+)"', page).group(1).replace("&amp;", "&")
    form = web.get(link).get_data(as_text=True)
    assert f'<option value="{person["id"]}" selected>Bob Buyer</option>' in form
    assert f'<option value="{org["id"]}" selected>Customer Ltd</option>' in form
    # A bad line is named; an address of another person is refused; nothing changes.
    crm.person("Carol", "carol@customer.example")
    response = post(web, f"/persons/{person['id']}/edit", name="Bob Buyer", emails=BOB, phones="+44 20\ncall me")
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "phones") == (
        "Line 1: Give at least 5 digits. Line 2: Use digits, spaces and + - ( ) . only, such as +44 20 7946 0958.")
    response = post(web, f"/persons/{person['id']}/edit", name="Bob Buyer", emails=f"{BOB}\ncarol@customer.example",
                    phones="")
    assert response.status_code == 400
    assert "carol@customer.example already belongs to person" in field_error(response.get_data(as_text=True), "emails")
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(PersonPhone)) == 2
    # The page lists addresses and numbers only: their labels (set through the API) stay.
    crm.client.patch(f"/api/v1/persons/{person['id']}", headers=crm.account.auth,
                     json={"emails": [{"email": BOB, "label": "office"}], "phones": [{"phone": "0800 123 456",
                                                                                      "label": "mobile"}]})
    assert post(web, f"/persons/{person['id']}/edit", name="Bob Buyer", emails=f"{BOB}\nbob@new.example",
                phones="0800 123 456").status_code == 302
    again = crm.get(f"persons/{person['id']}").json["data"]
    assert [(e["email"], e["label"]) for e in again["emails"]] == [(BOB, "office"), ("bob@new.example", "work")]
    assert again["phones"] == [{"phone": "0800 123 456", "label": "mobile"}]
    # Emptied phones are removed.
    assert post(web, f"/persons/{person['id']}/edit", name="Bob B.", emails=BOB, phones="").status_code == 302
    again = crm.get(f"persons/{person['id']}").json["data"]
    assert (again["name"], again["phones"], [e["email"] for e in again["emails"]]) == ("Bob B.", [], [BOB])


def test_leads_projects_and_organizations_are_edited_too(web, services, crm):
    lead = crm.post("leads", title="Inbound")
    project = crm.post("projects", title="Rollout")
    org = crm.post("organizations", name="Customer Ltd")
    assert post(web, f"/leads/{lead['id']}/edit", title="Inbound (qualified)", person_id="").status_code == 302
    assert post(web, f"/projects/{project['id']}/edit", title="Rollout", description="Phase 1").status_code == 302
    assert post(web, f"/organizations/{org['id']}/edit", name="Customer Group").status_code == 302
    assert fetch(services, Lead, lead["id"]).title == "Inbound (qualified)"
    assert fetch(services, Project, project["id"]).description == "Phase 1"
    assert fetch(services, Organization, org["id"]).name == "Customer Group"


# ---- the history catch-up, as from the API

def test_a_deal_created_or_given_a_person_on_the_page_takes_in_the_persons_conversations(web, services, crm, alice,
                                                                                         send_mail):
    bob = crm.person("Bob Buyer", BOB)
    recent = format_datetime(datetime.now(timezone.utc) - timedelta(days=3))
    send_mail(mail(alice.email, BOB, "Pricing questions", date=recent), alice.bcc_address, alice.email)
    assert post(web, "/deals/new", **{**DEAL_FORM, "person_id": str(bob["id"])}).status_code == 302
    lead_response = post(web, "/leads/new", title="Upsell")
    assert lead_response.status_code == 302
    lead_id = int(lead_response.headers["Location"].rsplit("/", 1)[1])
    assert post(web, f"/leads/{lead_id}/edit", title="Upsell", person_id=str(bob["id"])).status_code == 302
    with services.db.session() as session:
        deal_id = session.scalar(select(Deal.id).where(Deal.title == "Payroll renewal"))
        links = session.execute(select(ThreadLink.item_type, ThreadLink.item_id, ThreadLink.rule)).all()
    assert ("deal", deal_id, "history") in links
    assert ("lead", lead_id, "history") in links


def test_a_blank_title_from_a_conversation_is_refused(web, client, alice, services, thread_of):
    thread_id = thread_of(alice, subject="")
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/create-item", headers=alice.auth,
                           json={"type": "deal", "title": "   "})
    assert (response.status_code, response.json["errors"]) == (400, {"title": ["Give the deal a title."]})
    # No title and no subject to take it from: refused too (it used to be "(no subject)").
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/create-item", headers=alice.auth,
                           json={"type": "lead"})
    assert (response.status_code, response.json["errors"]) == (400, {"title": ["Give the lead a title."]})
    assert count(services, Deal) == count(services, Lead) == 0


# ---- organizations and lists

def test_the_organization_page_shows_its_people_deals_and_conversations(web, services, crm, alice, send_mail):
    org = crm.post("organizations", name="Customer Ltd")
    other = crm.post("organizations", name="Elsewhere Inc")
    bob = crm.post("persons", name="Bob Buyer", emails=[{"email": BOB}], organization_id=org["id"])
    crm.post("persons", name="Dana Distant", emails=[{"email": "dana@far.example"}], organization_id=other["id"])
    crm.post("deals", title="Big one", organization_id=org["id"], value=5000, currency="EUR")
    crm.post("deals", title="Not theirs", organization_id=other["id"])
    send_mail(mail(alice.email, BOB, "Hello from Bob's side"), alice.bcc_address, alice.email)
    send_mail(mail(alice.email, "dana@far.example", "Dana's matter"), alice.bcc_address, alice.email)
    page = web.get(f"/organizations/{org['id']}").get_data(as_text=True)
    assert "Bob Buyer" in page and "Big one" in page and "5,000.00 EUR" in page
    assert "Hello from Bob" in page and "Conversations (1)" in page
    assert "Dana" not in page and "Not theirs" not in page
    listing = web.get("/organizations").get_data(as_text=True)
    assert "Customer Ltd" in listing and "Elsewhere Inc" in listing
    assert web.get(f"/organizations/{bob['id'] + 1000}").status_code == 404


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', body)


def test_lists_sort_by_value_owner_and_last_activity_and_page(web, services, crm, alice, bert, send_mail):
    bob = crm.person("Bob Buyer", BOB)
    crm.post("deals", title="Small", value=10, currency="EUR")
    crm.post("deals", title="Large", value=90000, currency="EUR", owner_id=bert.user_id)
    crm.post("deals", title="Unvalued")
    crm.post("deals", title="Active", value=500, currency="EUR", person_id=bob["id"])
    send_mail(mail(alice.email, BOB, "Talk"), alice.bcc_address, alice.email)
    by_value = web.get("/deals?sort=value&dir=desc").get_data(as_text=True)
    assert rows_of(by_value) == ["Large", "Active", "Small", "Unvalued"]  # no value: last either way
    assert rows_of(web.get("/deals?sort=value").get_data(as_text=True)) == ["Small", "Active", "Large", "Unvalued"]
    assert 'aria-sort="descending"' in by_value and "90,000.00 EUR" in by_value and "Bert Member" in by_value
    by_owner = rows_of(web.get("/deals?sort=owner").get_data(as_text=True))
    assert by_owner[:3] == ["Active", "Small", "Unvalued"] and by_owner[3] == "Large"  # Alice, then Bert
    by_activity = web.get("/deals?sort=activity&dir=desc").get_data(as_text=True)
    assert rows_of(by_activity)[0] == "Active"
    # Each row its own activity: the three deals without a conversation show none.
    assert by_activity.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count('<span class="muted">none</span>') == 3
    assert rows_of(web.get("/deals?sort=nonsense").get_data(as_text=True)) == ["Active", "Large", "Small", "Unvalued"]
    persons = web.get("/persons?sort=activity&dir=desc").get_data(as_text=True)
    assert rows_of(persons) == ["Bob Buyer"]
    # 30 more leads: 25 a page, the sort kept on the next page's link.
    for n in range(30):
        crm.post("leads", title=f"Lead {n:02d}")
    first = web.get("/leads?sort=name&dir=desc").get_data(as_text=True)
    assert rows_of(first)[0] == "Lead 29" and len(rows_of(first)) == 25
    assert "sort=name&amp;dir=desc&amp;page=2" in first
    second = web.get("/leads?sort=name&dir=desc&page=2").get_data(as_text=True)
    assert rows_of(second) == ["Lead 04", "Lead 03", "Lead 02", "Lead 01", "Lead 00"]


def test_a_colleagues_private_conversation_gives_no_last_activity(web, services, crm, alice, bert, send_mail):
    crm.person("Bob Buyer", BOB)
    send_mail(mail(bert.email, BOB, "Bert's private talk"), bert.bcc_address, bert.email)
    page = web.get("/persons").get_data(as_text=True)
    assert "Bob Buyer" in page and "<span class=\"muted\">none</span>" in page
