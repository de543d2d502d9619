"""start/limit paging on every list endpoint: the pagination block and bad values."""
from __future__ import annotations

import pytest

from tests.api.conftest import assert_error


def _page(client, account, url, **params):
    response = client.get(url, query_string=params, headers=account.auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [item["id"] for item in body["data"]], body["additional_data"]["pagination"]


def test_walking_pages_with_next_start_returns_every_item_once(client, acme, resource, create, unique_body):
    ids = [create(resource, acme, **unique_body(resource))["id"] for _ in range(5)]
    seen, start, pages = [], 0, 0
    while True:
        page, pagination = _page(client, acme, resource.url, start=start, limit=2)
        pages += 1
        assert pagination["start"] == start and pagination["limit"] == 2
        seen += page
        if not pagination["more_items_in_collection"]:
            assert "next_start" not in pagination
            break
        assert len(page) == 2
        assert pagination["next_start"] == start + 2
        start = pagination["next_start"]
    assert seen == ids
    assert pages == 3


def test_exactly_full_last_page_reports_no_more_items(client, acme, resource, create, unique_body):
    ids = [create(resource, acme, **unique_body(resource))["id"] for _ in range(4)]
    page, pagination = _page(client, acme, resource.url, start=2, limit=2)
    assert page == ids[2:]
    assert pagination == {"start": 2, "limit": 2, "more_items_in_collection": False}


def test_defaults_are_start_0_and_limit_100(client, acme, resource, create):
    create(resource, acme)
    _, pagination = _page(client, acme, resource.url)
    assert pagination == {"start": 0, "limit": 100, "more_items_in_collection": False}


def test_start_past_the_end_is_an_empty_page(client, acme, resource, create):
    create(resource, acme)
    page, pagination = _page(client, acme, resource.url, start=50)
    assert page == []
    assert pagination["more_items_in_collection"] is False


def test_limit_of_500_is_allowed(client, acme, resource):
    _, pagination = _page(client, acme, resource.url, limit=500)
    assert pagination["limit"] == 500


@pytest.mark.parametrize("params,field", [
    ({"start": "-1"}, "start"),
    ({"start": "abc"}, "start"),
    ({"start": "1.5"}, "start"),
    ({"start": ""}, "start"),
    ({"start": "99999999999999999999999"}, "start"),
    ({"start": "9" * 5000}, "start"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "1_0"}, "limit"),
    ({"limit": " 5"}, "limit"),
    ({"limit": "+5"}, "limit"),
    ({"limit": "²"}, "limit"),
])
def test_bad_paging_values_are_400_naming_the_parameter(client, acme, resource, params, field):
    response = client.get(resource.url, query_string=params, headers=acme.auth)
    assert_error(response, 400, field)


def test_both_bad_paging_values_are_reported_together(client, acme, resource):
    response = client.get(resource.url, query_string={"start": "x", "limit": "y"}, headers=acme.auth)
    assert_error(response, 400, "start", "limit")
