"""Fixtures for the REST API tests: resource descriptions and small request helpers."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

API = "/api/v1"
# An id no test ever creates; used as "does not exist anywhere".
MISSING_ID = 987654321


@dataclass(frozen=True)
class Res:
    """One CRUD resource of the API, with bodies that are valid for it."""

    name: str  # plural, as in the URL
    body: dict  # a valid POST body
    patch: dict  # a valid PATCH body that changes something
    put: dict  # a valid PUT body
    required: str  # a field a POST or PUT must have
    text_field: str  # a string field for wrong-type tests
    references: tuple[str, ...]  # the *_id fields that point at other rows
    link_type: str | None = None  # ThreadLink.item_type of this resource, if threads link to it
    addressed_kind: str | None = None  # "deal"/"lead": the item has its own bcc_address

    @property
    def url(self) -> str:
        return f"{API}/{self.name}"

    def item_url(self, item_id: int) -> str:
        return f"{API}/{self.name}/{item_id}"

    def __str__(self) -> str:  # readable test ids
        return self.name


PERSONS = Res("persons", {"name": "Pat Person", "emails": [{"email": "pat@customer.example"}]},
              {"name": "Pat Renamed"}, {"name": "Pat Replaced"}, "name", "name",
              ("organization_id", "owner_id"), link_type="person")
ORGANIZATIONS = Res("organizations", {"name": "Initech"}, {"name": "Initech Ltd"}, {"name": "Initech plc"},
                    "name", "name", ("owner_id",))
DEALS = Res("deals", {"title": "Big order", "value": 1200.5, "currency": "EUR"}, {"title": "Bigger order"},
            {"title": "Replaced order", "status": "won"}, "title", "title",
            ("person_id", "organization_id", "owner_id"), link_type="deal", addressed_kind="deal")
LEADS = Res("leads", {"title": "Website lead"}, {"title": "Qualified lead"}, {"title": "Replaced lead"},
            "title", "title", ("person_id", "organization_id", "owner_id"), link_type="lead",
            addressed_kind="lead")
PROJECTS = Res("projects", {"title": "Rollout", "description": "Phase 1"}, {"description": "Phase 2"},
               {"title": "Replaced rollout"}, "title", "title",
               ("person_id", "organization_id", "owner_id"), link_type="project")

ALL = [PERSONS, ORGANIZATIONS, DEALS, LEADS, PROJECTS]
LINKED = [r for r in ALL if r.link_type]
ADDRESSED = [r for r in ALL if r.addressed_kind]
WITH_REFERENCES = [(r, ref) for r in ALL for ref in r.references]


@pytest.fixture(params=ALL, ids=str)
def resource(request) -> Res:
    """Every CRUD resource; a test using it runs once per resource."""
    return request.param


@pytest.fixture(params=LINKED, ids=str)
def linked_resource(request) -> Res:
    """The resources mail threads link to (deals, leads, projects, persons)."""
    return request.param


@pytest.fixture(params=ADDRESSED, ids=str)
def addressed_resource(request) -> Res:
    """The resources with their own Smart Bcc address (deals, leads)."""
    return request.param


@pytest.fixture
def create(client):
    """create(resource, account, **overrides) -> the created item's data (asserts 201)."""

    def _create(res: Res, account, **overrides) -> dict:
        body = {**res.body, **overrides}
        response = client.post(res.url, json=body, headers=account.auth)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    return _create


@pytest.fixture
def counter():
    """A fresh number on each call, for unique names and addresses within a test."""
    state = {"n": 0}

    def _next() -> int:
        state["n"] += 1
        return state["n"]

    return _next


@pytest.fixture
def unique_body(counter):
    """unique_body(resource) -> a valid POST body whose email addresses do not clash."""

    def _body(res: Res) -> dict:
        body = dict(res.body)
        if "emails" in body:
            n = counter()
            body["emails"] = [{"email": f"contact{n}@customer.example"}]
        return body

    return _body


def assert_error(response, status: int, *fields: str) -> dict:
    """Checks the one error shape of the API; returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.headers.get("Content-Type")
    body = response.get_json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], dict)
    assert "data" not in body
    for name in fields:
        assert name in body["errors"], body
        assert body["errors"][name], body
    return body
