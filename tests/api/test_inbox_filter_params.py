"""GET /api/v1/mailbox/mailThreads's filter parameters: the same filters as the /inbox page (one rule,
backend/domain/inbox_filters.py), a 400 with errors.<parameter> for a value that cannot be used, and
the parameters in the OpenAPI document."""
from __future__ import annotations

import pytest

from tests.web.conftest import alice, bert  # noqa: F401  (the accounts the fixture's mailbox belongs to)
from tests.web.test_inbox_filters import CASES, SUBJECTS, finding  # noqa: F401

URL = "/api/v1/mailbox/mailThreads"


def names(data) -> set[str]:
    return {name for name, subject in SUBJECTS.items() if any(t["subject"] == subject for t in data)}


@pytest.mark.parametrize("query,expected", [c for c in CASES if "q=" not in c[0]] + [
    ("q=quote&filter=mine", {"attached"})])
def test_the_api_lists_what_the_page_lists(app, finding, alice, query, expected):
    response = app.test_client().get(f"{URL}?include_total=1&" + query.format(**finding), headers=alice.auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert names(body["data"]) == expected
    assert body["additional_data"]["pagination"]["total"] == len(expected)


def test_filters_page_with_start_and_limit(app, finding, alice):
    client = app.test_client()
    first = client.get(f"{URL}?filter=not_linked&limit=1", headers=alice.auth).get_json()
    assert len(first["data"]) == 1 and first["additional_data"]["pagination"]["more_items_in_collection"] is True
    second = client.get(f"{URL}?filter=not_linked&limit=1&start=1", headers=alice.auth).get_json()
    assert names(first["data"] + second["data"]) == {"attached", "shared"}
    assert second["additional_data"]["pagination"]["more_items_in_collection"] is False


@pytest.mark.parametrize("query,field", [
    ("filter=bogus", "filter"),
    ("filter=mine,shared_with_me", "filter"),
    ("person_id=abc", "person_id"),
    ("person_id=-3", "person_id"),
    ("person_id=99999999999999999999", "person_id"),
    ("person_id={foreign_person}", "person_id"),  # another company's person is not there
    ("organization_id=x", "organization_id"),
    ("organization_id=987654321", "organization_id"),
    ("after=03/01/2025", "after"),
    ("before=2025-02-30", "before"),
    ("after=2025-03-01&before=2025-03-01", "before"),
])
def test_a_bad_value_is_a_400_naming_the_parameter(app, finding, alice, query, field):
    response = app.test_client().get(f"{URL}?" + query.format(**finding), headers=alice.auth)
    assert response.status_code == 400
    body = response.get_json()
    assert body["success"] is False and list(body["errors"]) == [field], body
    assert body["errors"][field][0] in body["error"]
    assert "Foreign Person" not in response.get_data(as_text=True)


def test_the_parameters_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/mailbox/mailThreads"]["get"]["parameters"]}
    assert {"filter", "person_id", "organization_id", "after", "before"} <= set(params)
    for name in ("needs_deal", "not_linked", "mine", "shared_with_me", "with_attachments"):
        assert name in params["filter"]["description"]
    assert params["person_id"]["schema"]["type"] == "integer"
    assert "YYYY-MM-DD" in params["after"]["description"]
