"""Create, read, list, update, replace and delete for every resource: success and error paths."""
from __future__ import annotations

import pytest

from tests.api.conftest import ALL, API, DEALS, MISSING_ID, ORGANIZATIONS, PERSONS, WITH_REFERENCES, assert_error


def _fields_match(sent: dict, got: dict) -> None:
    for key, value in sent.items():
        if key == "emails":
            assert [e["email"] for e in got["emails"]] == [e["email"] for e in value]
        else:
            assert got[key] == value, key


# --- success paths -----------------------------------------------------------------------------

def test_create_returns_201_with_the_item_in_the_success_envelope(client, acme, resource):
    response = client.post(resource.url, json=resource.body, headers=acme.auth)
    assert response.status_code == 201
    body = response.get_json()
    assert body["success"] is True
    data = body["data"]
    assert isinstance(data["id"], int) and data["id"] > 0
    _fields_match(resource.body, data)
    assert data["owner_id"] == acme.user_id  # defaults to the caller
    assert data["created_at"]


def test_get_returns_the_created_item(client, acme, resource, create):
    made = create(resource, acme)
    response = client.get(resource.item_url(made["id"]), headers=acme.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["data"] == made


def test_list_returns_created_items_in_id_order(client, acme, resource, create, unique_body):
    ids = [create(resource, acme, **unique_body(resource))["id"] for _ in range(3)]
    response = client.get(resource.url, headers=acme.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert [item["id"] for item in body["data"]] == ids
    assert body["additional_data"]["pagination"]["more_items_in_collection"] is False


def test_list_is_empty_for_a_company_without_items(client, acme, resource):
    response = client.get(resource.url, headers=acme.auth)
    assert response.status_code == 200
    assert response.get_json()["data"] == []


def test_patch_changes_only_the_given_fields(client, acme, resource, create):
    made = create(resource, acme)
    response = client.patch(resource.item_url(made["id"]), json=resource.patch, headers=acme.auth)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    _fields_match(resource.patch, data)
    untouched = {k: v for k, v in made.items() if k not in resource.patch and k != "updated_at"}
    assert {k: data[k] for k in untouched} == untouched
    # and it is stored
    again = client.get(resource.item_url(made["id"]), headers=acme.auth).get_json()["data"]
    _fields_match(resource.patch, again)


def test_put_replaces_the_item(client, acme, resource, create):
    made = create(resource, acme)
    response = client.put(resource.item_url(made["id"]), json=resource.put, headers=acme.auth)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    _fields_match(resource.put, data)
    assert data["id"] == made["id"]


def test_patch_with_an_empty_object_changes_nothing(client, acme, resource, create):
    made = create(resource, acme)
    response = client.patch(resource.item_url(made["id"]), json={}, headers=acme.auth)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert {k: v for k, v in data.items() if k != "updated_at"} == \
           {k: v for k, v in made.items() if k != "updated_at"}


def test_delete_removes_the_item(client, acme, resource, create):
    made = create(resource, acme)
    response = client.delete(resource.item_url(made["id"]), headers=acme.auth)
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "data": {"id": made["id"]}}
    assert_error(client.get(resource.item_url(made["id"]), headers=acme.auth), 404)
    assert client.get(resource.url, headers=acme.auth).get_json()["data"] == []


def test_owner_can_be_another_user_of_the_same_company(client, acme, make_account, resource):
    colleague = make_account("acme.example", "bob@acme.example", admin=False)
    response = client.post(resource.url, json={**resource.body, "owner_id": colleague.user_id},
                           headers=acme.auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["owner_id"] == colleague.user_id


def test_items_can_refer_to_a_person_and_an_organization_of_the_same_company(client, acme, create):
    org = create(ORGANIZATIONS, acme)
    person = create(PERSONS, acme, organization_id=org["id"])
    assert person["organization_id"] == org["id"]
    deal = create(DEALS, acme, person_id=person["id"], organization_id=org["id"])
    assert (deal["person_id"], deal["organization_id"]) == (person["id"], org["id"])


# --- not found ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_unknown_id_is_404_in_the_error_shape(client, acme, resource, method):
    kwargs = {"json": resource.put} if method in ("patch", "put") else {}
    response = getattr(client, method)(resource.item_url(MISSING_ID), headers=acme.auth, **kwargs)
    body = assert_error(response, 404)
    assert body["errors"] == {}


@pytest.mark.parametrize("item_id", ["0", "99999999999999999999", "9" * 40])
def test_out_of_range_ids_in_the_url_are_404_not_500(client, acme, resource, item_id):
    response = client.get(f"{resource.url}/{item_id}", headers=acme.auth)
    assert_error(response, 404)


def test_deleting_twice_is_404_the_second_time(client, acme, resource, create):
    made = create(resource, acme)
    assert client.delete(resource.item_url(made["id"]), headers=acme.auth).status_code == 200
    assert_error(client.delete(resource.item_url(made["id"]), headers=acme.auth), 404)


# --- invalid bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_non_json_body_is_400(client, acme, resource, create, method):
    url = resource.url if method == "post" else resource.item_url(create(resource, acme)["id"])
    response = getattr(client, method)(url, data="title=x", content_type="application/x-www-form-urlencoded",
                                       headers=acme.auth)
    body = assert_error(response, 400)
    assert body["errors"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a string"', "null", ""])
def test_malformed_or_non_object_json_is_400(client, acme, resource, raw):
    response = client.post(resource.url, data=raw, content_type="application/json", headers=acme.auth)
    assert_error(response, 400)
    assert client.get(resource.url, headers=acme.auth).get_json()["data"] == []


def test_missing_required_field_is_400_naming_the_field(client, acme, resource):
    body = {k: v for k, v in resource.body.items() if k != resource.required}
    response = client.post(resource.url, json=body, headers=acme.auth)
    assert_error(response, 400, resource.required)


def test_put_without_a_required_field_is_400(client, acme, resource, create):
    made = create(resource, acme)
    body = {k: v for k, v in resource.put.items() if k != resource.required}
    response = client.put(resource.item_url(made["id"]), json=body, headers=acme.auth)
    assert_error(response, 400, resource.required)


@pytest.mark.parametrize("bad", [123, ["x"], {"a": 1}, True, None, ""])
def test_wrong_type_or_empty_text_field_is_400(client, acme, resource, bad):
    response = client.post(resource.url, json={**resource.body, resource.text_field: bad}, headers=acme.auth)
    assert_error(response, 400, resource.text_field)


def test_patch_with_a_wrong_type_is_400_and_changes_nothing(client, acme, resource, create):
    made = create(resource, acme)
    response = client.patch(resource.item_url(made["id"]), json={resource.text_field: 42}, headers=acme.auth)
    assert_error(response, 400, resource.text_field)
    stored = client.get(resource.item_url(made["id"]), headers=acme.auth).get_json()["data"]
    assert stored[resource.text_field] == made[resource.text_field]


def test_unknown_field_is_400_naming_the_field(client, acme, resource):
    response = client.post(resource.url, json={**resource.body, "colour": "red"}, headers=acme.auth)
    assert_error(response, 400, "colour")


@pytest.mark.parametrize("read_only", ["id", "created_at", "company_id"])
def test_read_only_or_internal_fields_cannot_be_sent(client, acme, resource, read_only):
    response = client.post(resource.url, json={**resource.body, read_only: 5}, headers=acme.auth)
    assert_error(response, 400, read_only)


@pytest.mark.parametrize("res,ref", WITH_REFERENCES, ids=lambda v: str(v))
@pytest.mark.parametrize("bad", ["abc", True, 1.5, 0, -3, 2**64])
def test_reference_ids_of_the_wrong_type_or_range_are_400(client, acme, res, ref, bad):
    response = client.post(res.url, json={**res.body, ref: bad}, headers=acme.auth)
    assert_error(response, 400, ref)


@pytest.mark.parametrize("res,ref", WITH_REFERENCES, ids=lambda v: str(v))
def test_reference_to_a_missing_row_is_a_400_field_error(client, acme, res, ref):
    response = client.post(res.url, json={**res.body, ref: MISSING_ID}, headers=acme.auth)
    assert_error(response, 400, ref)
    assert client.get(res.url, headers=acme.auth).get_json()["data"] == []


def test_missing_references_say_which_and_one_becomes_the_headline(client, acme):
    one = client.post(f"{API}/deals", json={"title": "T", "person_id": MISSING_ID}, headers=acme.auth).get_json()
    assert one["error"] == f"No person with id {MISSING_ID} in your company."
    assert one["errors"] == {"person_id": [one["error"]]}
    two = client.post(f"{API}/deals", json={"title": "T", "person_id": MISSING_ID, "organization_id": MISSING_ID},
                      headers=acme.auth).get_json()
    assert two["error"] == "The request refers to items that do not exist."
    assert two["errors"] == {"person_id": [f"No person with id {MISSING_ID} in your company."],
                             "organization_id": [f"No organization with id {MISSING_ID} in your company."]}


@pytest.mark.parametrize("res,ref", WITH_REFERENCES, ids=lambda v: str(v))
def test_reference_can_be_cleared_with_null(client, acme, res, ref, create):
    made = create(res, acme)
    response = client.patch(res.item_url(made["id"]), json={ref: None}, headers=acme.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"][ref] is None


def test_nul_characters_in_a_body_are_400_not_500(client, acme, resource):
    response = client.post(resource.url, json={**resource.body, resource.text_field: "a\x00b"},
                           headers=acme.auth)
    assert_error(response, 400, resource.text_field)


def test_over_long_text_is_400(client, acme, resource):
    response = client.post(resource.url, json={**resource.body, resource.text_field: "x" * 301},
                           headers=acme.auth)
    assert_error(response, 400, resource.text_field)


# --- resource specifics ------------------------------------------------------------------------

def test_deal_value_is_returned_as_a_json_number(client, acme, create):
    deal = create(DEALS, acme, value=1234.56)
    raw = client.get(DEALS.item_url(deal["id"]), headers=acme.auth).get_json()["data"]["value"]
    assert raw == 1234.56 and isinstance(raw, float)


@pytest.mark.parametrize("field,bad", [
    ("value", -1), ("value", "lots"), ("value", 10**13), ("value", "NaN"),
    ("currency", "eur"), ("currency", "EURO"), ("status", "pending"),
])
def test_invalid_deal_fields_are_400(client, acme, field, bad):
    response = client.post(DEALS.url, json={"title": "x", field: bad}, headers=acme.auth)
    assert_error(response, 400, field)


def test_deal_status_defaults_to_open_and_filters(client, acme, create):
    open_deal = create(DEALS, acme)
    won = create(DEALS, acme, status="won")
    assert open_deal["status"] == "open"
    listed = client.get(f"{DEALS.url}?status=won", headers=acme.auth).get_json()["data"]
    assert [d["id"] for d in listed] == [won["id"]]
    assert_error(client.get(f"{DEALS.url}?status=pending", headers=acme.auth), 400, "status")


@pytest.mark.parametrize("res", [r for r in ALL if "person_id" in r.references], ids=str)
def test_items_filter_by_person_id(client, acme, create, res, unique_body):
    person = create(PERSONS, acme, **unique_body(PERSONS))
    mine = create(res, acme, person_id=person["id"])
    create(res, acme)
    listed = client.get(f"{res.url}?person_id={person['id']}", headers=acme.auth).get_json()["data"]
    assert [i["id"] for i in listed] == [mine["id"]]


@pytest.mark.parametrize("res", [r for r in ALL if "person_id" in r.references], ids=str)
@pytest.mark.parametrize("bad", ["abc", "", "-1", "0", "²", "1_0", "9" * 40])
def test_items_person_id_filter_rejects_non_ids(client, acme, res, bad):
    response = client.get(res.url, query_string={"person_id": bad}, headers=acme.auth)
    assert_error(response, 400, "person_id")


@pytest.mark.parametrize("res", [r for r in ALL if r.text_field == "title"], ids=str)
def test_items_term_search_matches_title_case_insensitively(client, acme, create, res):
    hit = create(res, acme, title="Annual Renewal 2025")
    create(res, acme, title="Something else")
    listed = client.get(f"{res.url}?term=renewal", headers=acme.auth).get_json()["data"]
    assert [i["id"] for i in listed] == [hit["id"]]


@pytest.mark.parametrize("res", [r for r in ALL if r.text_field == "title"], ids=str)
def test_items_term_treats_like_wildcards_literally(client, acme, create, res):
    create(res, acme, title="Plain title")
    hit = create(res, acme, title="100% done")
    assert client.get(res.url, query_string={"term": "%"}, headers=acme.auth).get_json()["data"] == \
        [client.get(res.item_url(hit["id"]), headers=acme.auth).get_json()["data"]]
    assert client.get(res.url, query_string={"term": "_"}, headers=acme.auth).get_json()["data"] == []
