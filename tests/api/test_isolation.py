"""Tenant isolation: another company's ids look exactly like missing ones, everywhere."""
from __future__ import annotations

import pytest

from tests.api.conftest import ALL, DEALS, MISSING_ID, ORGANIZATIONS, PERSONS, WITH_REFERENCES, assert_error


@pytest.fixture
def theirs(globex, resource, create):
    """An item of ``resource`` that belongs to Globex."""
    return create(resource, globex)


def _unchanged(client, globex, resource, item):
    response = client.get(resource.item_url(item["id"]), headers=globex.auth)
    assert response.status_code == 200
    assert response.get_json()["data"] == item


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_companys_item_is_404_like_a_missing_one(client, acme, globex, resource, theirs, method):
    kwargs = {"json": resource.put} if method in ("patch", "put") else {}
    foreign = getattr(client, method)(resource.item_url(theirs["id"]), headers=acme.auth, **kwargs)
    missing = getattr(client, method)(resource.item_url(MISSING_ID), headers=acme.auth, **kwargs)
    assert_error(foreign, 404)
    assert foreign.get_json() == missing.get_json()
    _unchanged(client, globex, resource, theirs)


@pytest.mark.parametrize("method", ["patch", "put"])
def test_another_companys_item_is_404_even_with_an_invalid_body(client, acme, globex, resource, theirs, method):
    response = getattr(client, method)(resource.item_url(theirs["id"]), json={"bogus": 1}, headers=acme.auth)
    assert_error(response, 404)
    _unchanged(client, globex, resource, theirs)


def test_lists_never_show_another_companys_items(client, acme, globex, resource, create, unique_body):
    mine = create(resource, acme, **unique_body(resource))
    theirs = create(resource, globex, **unique_body(resource))
    assert [i["id"] for i in client.get(resource.url, headers=acme.auth).get_json()["data"]] == [mine["id"]]
    assert [i["id"] for i in client.get(resource.url, headers=globex.auth).get_json()["data"]] == [theirs["id"]]


def test_a_foreign_item_never_appears_in_the_response_body(client, acme, globex, resource, theirs):
    response = client.get(resource.item_url(theirs["id"]), headers=acme.auth)
    text = response.get_data(as_text=True)
    assert str(theirs[resource.text_field]) not in text


def test_email_search_does_not_find_another_companys_person(client, acme, globex, create):
    create(PERSONS, globex, emails=[{"email": "secret@customer.example"}])
    response = client.get(PERSONS.url, query_string={"email": "secret@customer.example"}, headers=acme.auth)
    assert response.get_json()["data"] == []
    response = client.get(PERSONS.url, query_string={"term": "secret"}, headers=acme.auth)
    assert response.get_json()["data"] == []


@pytest.mark.parametrize("res", [r for r in ALL if "person_id" in r.references], ids=str)
def test_person_id_filter_with_another_companys_person_is_empty(client, acme, globex, create, res):
    their_person = create(PERSONS, globex)
    create(res, globex, person_id=their_person["id"])
    response = client.get(res.url, query_string={"person_id": their_person["id"]}, headers=acme.auth)
    assert response.status_code == 200
    assert response.get_json()["data"] == []


def _foreign_reference(create, client, globex, ref):
    if ref == "owner_id":
        return globex.user_id
    target = {"person_id": PERSONS, "organization_id": ORGANIZATIONS}[ref]
    return create(target, globex)["id"]


def _message_without_id(body, ref, ref_id):
    return [m.replace(str(ref_id), "<id>") for m in body["errors"][ref]]


@pytest.mark.parametrize("res,ref", WITH_REFERENCES, ids=lambda v: str(v))
def test_referring_to_another_companys_row_on_create_is_a_400_that_reveals_nothing(
        client, acme, globex, create, res, ref):
    foreign_id = _foreign_reference(create, client, globex, ref)
    foreign = client.post(res.url, json={**res.body, ref: foreign_id}, headers=acme.auth)
    missing = client.post(res.url, json={**res.body, ref: MISSING_ID}, headers=acme.auth)
    foreign_body = assert_error(foreign, 400, ref)
    missing_body = assert_error(missing, 400, ref)
    # Word for word the same, but for the id the caller sent.
    assert foreign_body["error"].replace(str(foreign_id), "<id>") == missing_body["error"].replace(str(MISSING_ID), "<id>")
    assert _message_without_id(foreign_body, ref, foreign_id) == _message_without_id(missing_body, ref, MISSING_ID)
    assert client.get(res.url, headers=acme.auth).get_json()["data"] == []


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("res,ref", WITH_REFERENCES, ids=lambda v: str(v))
def test_referring_to_another_companys_row_on_update_is_400_and_changes_nothing(
        client, acme, globex, create, res, ref, method):
    mine = create(res, acme)
    foreign_id = _foreign_reference(create, client, globex, ref)
    body = {**(res.put if method == "put" else {}), ref: foreign_id}
    response = getattr(client, method)(res.item_url(mine["id"]), json=body, headers=acme.auth)
    assert_error(response, 400, ref)
    assert client.get(res.item_url(mine["id"]), headers=acme.auth).get_json()["data"] == mine


def test_a_deals_bcc_address_uses_its_own_company(client, acme, globex, create):
    mine, theirs = create(DEALS, acme), create(DEALS, globex)
    assert mine["bcc_address"].split("+")[0] == acme.bcc_address.split("@")[0]
    assert theirs["bcc_address"].split("+")[0] == globex.bcc_address.split("@")[0]
