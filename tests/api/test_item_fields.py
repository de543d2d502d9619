"""The item fields of issue 20, part 3 through the REST API: a deal's stage, expected close date
and lost reason; a person's phone numbers; a blank title or name refused with a sentence."""
from __future__ import annotations

import pytest


def call(client, account, method, url, json=None):
    return client.open(f"/api/v1{url}", method=method.upper(), headers=account.auth, json=json)


def test_a_deal_has_a_stage_an_expected_close_date_and_a_lost_reason(client, acme):
    created = call(client, acme, "post", "/deals", {
        "title": "Fleet", "stage": "  Proposal sent ", "expected_close_date": "2027-03-31",
        "status": "lost", "lost_reason": "Budget cut"})
    assert created.status_code == 201, created.json
    data = created.json["data"]
    assert (data["stage"], data["expected_close_date"], data["status"], data["lost_reason"]) == (
        "Proposal sent", "2027-03-31", "lost", "Budget cut")
    # PATCH changes what it names only; a reopened deal drops its lost reason.
    patched = call(client, acme, "patch", f"/deals/{data['id']}", {"stage": "Negotiation"}).json["data"]
    assert (patched["stage"], patched["lost_reason"], patched["expected_close_date"]) == (
        "Negotiation", "Budget cut", "2027-03-31")
    reopened = call(client, acme, "patch", f"/deals/{data['id']}",
                    {"status": "open", "expected_close_date": None}).json["data"]
    assert (reopened["status"], reopened["lost_reason"], reopened["expected_close_date"]) == ("open", None, None)
    listed = call(client, acme, "get", "/deals").json["data"]
    assert listed[0]["stage"] == "Negotiation"


@pytest.mark.parametrize("body, field, message", [
    ({"title": ""}, "title", "Give the deal a title."),
    ({"title": "  \t "}, "title", "Give the deal a title."),
    ({"title": None}, "title", "Give the deal a title."),
    ({}, "title", "Give the deal a title."),
    ({"title": "x" * 301}, "title", "Keep it to 300 characters or fewer."),
    ({"title": "ok", "stage": "s" * 61}, "stage", "Keep it to 60 characters or fewer."),
    ({"title": "ok", "expected_close_date": "31/03/2027"}, "expected_close_date", "Use a date such as 2027-03-31."),
    ({"title": "ok", "value": "lots"}, "value", "Use a number such as 12500 or 12500.50."),
    ({"title": "ok", "value": -1}, "value", "Use an amount from 0 to 999,999,999,999.99."),
    ({"title": "ok", "status": "pending"}, "status", "Use open, won or lost."),
])
def test_a_bad_deal_field_is_named_with_what_to_do(client, acme, body, field, message):
    response = call(client, acme, "post", "/deals", body)
    assert response.status_code == 400
    assert response.json["errors"][field] == [message]
    assert call(client, acme, "get", "/deals").json["data"] == []


def test_a_blank_title_is_refused_on_change_too(client, acme):
    deal = call(client, acme, "post", "/deals", {"title": "Fleet"}).json["data"]
    for url, body, message in ((f"/deals/{deal['id']}", {"title": "   "}, "Give the deal a title."),):
        response = call(client, acme, "patch", url, body)
        assert (response.status_code, response.json["errors"]) == (400, {"title": [message]})
    assert call(client, acme, "get", f"/deals/{deal['id']}").json["data"]["title"] == "Fleet"
    org = call(client, acme, "post", "/organizations", {"name": "Customer Ltd"}).json["data"]
    response = call(client, acme, "put", f"/organizations/{org['id']}", {"name": " "})
    assert response.json["errors"] == {"name": ["Give the organization a name."]}


def test_a_person_has_phone_numbers(client, acme):
    created = call(client, acme, "post", "/persons", {
        "name": "Bob", "emails": [{"email": "bob@customer.example"}],
        "phones": [{"phone": "+44 20 7946 0958", "label": "mobile"}, {"phone": "(555) 123-4567"}]})
    assert created.status_code == 201, created.json
    person = created.json["data"]
    assert person["phones"] == [{"phone": "+44 20 7946 0958", "label": "mobile"},
                                {"phone": "(555) 123-4567", "label": "work"}]
    # Left out of a PATCH: kept; given: replaced.
    kept = call(client, acme, "patch", f"/persons/{person['id']}", {"name": "Bob B."}).json["data"]
    assert len(kept["phones"]) == 2 and kept["emails"][0]["email"] == "bob@customer.example"
    replaced = call(client, acme, "patch", f"/persons/{person['id']}", {"phones": [{"phone": "0800 123 456"}]})
    assert [p["phone"] for p in replaced.json["data"]["phones"]] == ["0800 123 456"]
    bad = call(client, acme, "patch", f"/persons/{person['id']}",
               {"phones": [{"phone": "12"}, {"phone": "call me maybe"}]})
    assert bad.status_code == 400
    assert bad.json["errors"]["phones"] == {"0": {"phone": ["Give at least 5 digits."]},
                                            "1": {"phone": ["Use digits, spaces and + - ( ) . only, such as "
                                                            "+44 20 7946 0958."]}}


def test_the_openapi_document_names_the_new_fields(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    deal = next(s for name, s in schemas.items() if name.startswith("Deal"))
    assert {"stage", "expected_close_date", "lost_reason"} <= set(deal["properties"])
    assert deal["properties"]["expected_close_date"]["format"] == "date"
    person = next(s for name, s in schemas.items() if name.startswith("Person") and "phones" in s["properties"])
    assert person["properties"]["phones"]["type"] == "array"
