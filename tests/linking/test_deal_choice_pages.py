"""The pages for several open deals: the admin's policy field, the ranked candidates with their
reasons on the thread page and its 'Accept the suggestion' button."""
from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, sign_in

from .conftest import Crm, links_of, mail


@pytest.fixture
def alice(make_account):
    return make_account("acme.example", "alice@acme.example", admin=True, name="Alice Admin", password=PASSWORD)


@pytest.fixture
def page(app, alice):
    client = app.test_client()
    client.csrf = sign_in(client, alice.email)
    return client


def test_the_admin_sets_the_policy_on_the_settings_page(page, alice, client):
    html = page.get("/settings/smart-bcc").get_data(as_text=True)
    assert 'id="deal-choice"' in html and 'value="ask" selected' in html
    response = page.post("/settings/smart-bcc/deal-choice", data={
        "csrf_token": page.csrf, "deal_choice_policy": "suggest", "deal_choice_threshold": "0.9",
        "deal_choice_margin": "0.25"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Deal choice saved. Suggest: the rep picks; the best candidate is pre-selected." in html
    data = client.get("/api/v1/settings/smart-bcc", headers=alice.auth).json["data"]
    assert (data["deal_choice_policy"], data["deal_choice_threshold"], data["deal_choice_margin"]) == \
        ("suggest", 0.9, 0.25)


@pytest.mark.parametrize("form, field, message", [
    ({"deal_choice_policy": "always", "deal_choice_threshold": "0.8", "deal_choice_margin": "0.3"},
     "deal_choice_policy", "Deal choice: Use one of: ask, suggest, auto_when_confident."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "2", "deal_choice_margin": "0.2"},
     "deal_choice_threshold", "Score: Use a number from 0 to 1, such as 0.6."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "-0.1", "deal_choice_margin": "0.2"},
     "deal_choice_threshold", "Score: Use a number from 0 to 1, such as 0.6."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "high", "deal_choice_margin": "0.2"},
     "deal_choice_threshold", "Score: Not a valid number."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "", "deal_choice_margin": "0.2"},
     "deal_choice_threshold", "Score: Not a valid number."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "nan", "deal_choice_margin": "0.2"},
     "deal_choice_threshold", "Score: Special numeric values (nan or infinity) are not permitted."),
    ({"deal_choice_policy": "ask", "deal_choice_threshold": "0.5", "deal_choice_margin": "1.5"},
     "deal_choice_margin", "Lead over the next deal: Use a number from 0 to 1, such as 0.3."),
])
def test_a_bad_policy_value_shows_a_message_and_changes_nothing(page, alice, client, form, field, message):
    """The page loads the form with the settings API's schema: the same message, after the field's name."""
    response = page.post("/settings/smart-bcc/deal-choice", data={"csrf_token": page.csrf, **form},
                         follow_redirects=True)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert client.get("/api/v1/settings/smart-bcc", headers=alice.auth).json["data"]["deal_choice_threshold"] == 0.9
    api = client.patch("/api/v1/settings/smart-bcc", json={field: form[field]}, headers=alice.auth)
    assert api.status_code == 400 and api.json["errors"][field] == [message.split(": ", 1)[1]]


def test_a_member_cannot_change_the_policy(app, make_account, alice):
    make_account("acme.example", "mo@acme.example", admin=False, name="Mo", password=PASSWORD)
    member = app.test_client()
    csrf = sign_in(member, "mo@acme.example")
    assert 'id="deal-choice"' not in member.get("/settings/smart-bcc").get_data(as_text=True)
    response = member.post("/settings/smart-bcc/deal-choice", data={
        "csrf_token": csrf, "deal_choice_policy": "suggest", "deal_choice_threshold": "0.7",
        "deal_choice_margin": "0.2"})
    assert response.status_code == 403


def test_the_thread_page_shows_the_ranking_and_accepts_the_top(page, alice, client, send_mail):
    crm = Crm(client, alice)
    bob = crm.person("Bob Buyer", "bob@customer.example")
    crm.deal("Payroll renewal", bob["id"])
    helpdesk = crm.deal("Helpdesk rollout", bob["id"])
    send_mail(mail(alice.email, "bob@customer.example", "Helpdesk rollout dates"), alice.bcc_address, alice.email)
    thread = crm.only_thread()
    html = page.get(f"/inbox/threads/{thread['id']}").get_data(as_text=True)
    assert "Accept the suggestion: Helpdesk rollout" in html
    assert "The subject names &#39;helpdesk&#39; and &#39;rollout&#39; from its title." in html
    assert html.index("Helpdesk rollout</span>") < html.index("Payroll renewal</span>")
    response = page.post(f"/inbox/threads/{thread['id']}/accept",
                         data={"csrf_token": page.csrf, "deal_id": str(helpdesk["id"])}, follow_redirects=True)
    assert "Linked to deal &#39;Helpdesk rollout&#39;, the suggested deal." in response.get_data(as_text=True)
    assert ("deal", helpdesk["id"]) in links_of(crm.only_thread())


def test_accepting_on_the_page_a_deal_closed_meanwhile_says_so(page, alice, client, send_mail):
    crm = Crm(client, alice)
    bob = crm.person("Bob Buyer", "bob@customer.example")
    crm.deal("Payroll renewal", bob["id"])
    helpdesk = crm.deal("Helpdesk rollout", bob["id"])
    send_mail(mail(alice.email, "bob@customer.example", "Helpdesk rollout"), alice.bcc_address, alice.email)
    thread = crm.only_thread()
    client.patch(f"/api/v1/deals/{helpdesk['id']}", json={"status": "won"}, headers=alice.auth)
    response = page.post(f"/inbox/threads/{thread['id']}/accept",
                         data={"csrf_token": page.csrf, "deal_id": str(helpdesk["id"])}, follow_redirects=True)
    assert "was marked won meanwhile" in response.get_data(as_text=True)
    assert links_of(crm.only_thread()) == {("person", bob["id"])}
    bad = page.post(f"/inbox/threads/{thread['id']}/accept", data={"csrf_token": page.csrf, "deal_id": "x"},
                    follow_redirects=True)
    assert "choose &#39;Accept the suggestion&#39; again" in bad.get_data(as_text=True)
