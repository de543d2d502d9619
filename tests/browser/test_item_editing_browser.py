"""In Chromium (issue 20, part 3): edit a deal with a bad value -> the API's message next to the
field, the typed values kept; corrected -> saved and shown; a new person with two phones; the
deals list sorted by value."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_edit_a_deal_with_a_bad_value_shows_the_field_message(open_session, alice, api):
    bob = api(alice, "post", "/api/v1/persons", {"name": "Bob Buyer", "emails": [{"email": "bob@customer.example"}]})
    deal = api(alice, "post", "/api/v1/deals", {"title": "Payroll renewal", "value": 1000, "currency": "EUR"})
    api(alice, "post", "/api/v1/deals", {"title": "Smaller one", "value": 10, "currency": "EUR"})
    rep = open_session(alice.email)
    page = rep.page
    page.goto(f"/deals/{deal['id']}")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/deals/{deal['id']}/edit")
    page.get_by_label("Value").fill("12,5k")
    page.get_by_label("Title").fill("   ")  # passes the browser's own check; the server refuses it
    page.get_by_label("Stage").fill("Negotiation")
    page.get_by_role("button", name="Save").click()
    # The API's messages, next to their fields, and the fields say so to screen readers.
    assert page.locator("#value-error").inner_text() == "Use a number such as 12500 or 12500.50."
    assert page.locator("#title-error").inner_text() == "Give the deal a title."
    assert page.get_by_label("Value").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Stage").input_value() == "Negotiation"  # what was typed stays
    assert page.get_by_role("alert").first.is_visible()
    rep.shot("deal-edit-error-desktop")
    # Corrected: saved and shown on the deal's page.
    page.get_by_label("Title").fill("Payroll renewal 2027")
    page.get_by_label("Value").fill("12500.50")
    page.get_by_label("Status").select_option("lost")
    page.get_by_label("Why it was lost").fill("Budget moved to next year")
    page.get_by_label("Expected close date").fill("2027-03-31")
    page.get_by_label("Person").select_option(label="Bob Buyer")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/deals/{deal['id']}")
    details = page.locator(".details").inner_text()
    for text in ("Lost", "Budget moved to next year", "Negotiation", "12,500.50 EUR", "2027-03-31", "Bob Buyer"):
        assert text in details, text
    assert api(alice, "get", f"/api/v1/deals/{deal['id']}")["person_id"] == bob["id"]
    # The list sorts by value, largest first, from its column header.
    page.goto("/deals")
    page.get_by_role("link", name="Value").click()
    page.wait_for_url("**sort=value**")
    assert page.locator("tbody tr").first.inner_text().startswith("Payroll renewal 2027")
    assert page.locator("th[aria-sort]").inner_text().startswith("Value")
    rep.shot("deals-list-desktop")
    assert not rep.page_errors


def test_a_new_person_with_two_phones_on_a_phone(open_session, alice):
    rep = open_session(alice.email, phone=True)
    page = rep.page
    page.goto("/persons")
    page.get_by_role("link", name="New person").click()
    page.get_by_label("Name").fill("Carol Customer")
    page.get_by_label("Email addresses").fill("carol@customer.example\ncarol@home.example")
    page.get_by_label("Phone numbers").fill("+44 20 7946 0958\ncall me")
    page.get_by_role("button", name="Create person").click()
    assert page.locator("#phones-error").inner_text().startswith("Line 2: Use digits, spaces")
    page.get_by_label("Phone numbers").fill("+44 20 7946 0958\n(555) 123-4567")
    page.get_by_role("button", name="Create person").click()
    page.get_by_text("Created person 'Carol Customer'.").wait_for()
    details = page.locator(".details").inner_text()
    assert "(555) 123-4567" in details and "carol@home.example" in details
    # Nothing sticks out of a phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    rep.shot("person-new-phone")
    assert not rep.page_errors
