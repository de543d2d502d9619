"""Persons: email addresses (unique within a company), ?email= exact search and ?term= search."""
from __future__ import annotations

import pytest

from tests.api.conftest import PERSONS, assert_error


def _person(client, account, name, *emails, **extra):
    body = {"name": name, "emails": [{"email": e} for e in emails], **extra}
    response = client.post(PERSONS.url, json=body, headers=account.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def _search(client, account, **params):
    response = client.get(PERSONS.url, query_string=params, headers=account.auth)
    assert response.status_code == 200, response.get_json()
    return [p["id"] for p in response.get_json()["data"]]


def test_emails_are_stored_lower_case_with_the_first_primary(client, acme):
    person = _person(client, acme, "Bob", "Bob@Customer.EXAMPLE", "bob.home@customer.example")
    emails = person["emails"]
    assert [e["email"] for e in emails] == ["bob@customer.example", "bob.home@customer.example"]
    assert [e["primary"] for e in emails] == [True, False]
    assert emails[0]["label"] == "work"


def test_an_explicit_primary_is_kept(client, acme):
    body = {"name": "Bob", "emails": [{"email": "a@customer.example", "label": "home"},
                                      {"email": "b@customer.example", "primary": True}]}
    data = client.post(PERSONS.url, json=body, headers=acme.auth).get_json()["data"]
    assert [(e["email"], e["label"], e["primary"]) for e in data["emails"]] == [
        ("a@customer.example", "home", False), ("b@customer.example", "work", True)]


def test_email_search_is_exact_and_case_insensitive(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example")
    _person(client, acme, "Bobby", "bobby@customer.example")
    assert _search(client, acme, email="BOB@customer.example") == [bob["id"]]
    assert _search(client, acme, email="  bob@customer.example ") == [bob["id"]]
    assert _search(client, acme, email="bob@customer") == []
    assert _search(client, acme, email="customer.example") == []


def test_email_search_finds_a_secondary_address(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example", "b.private@home.example")
    assert _search(client, acme, email="b.private@home.example") == [bob["id"]]


def test_term_search_matches_name_or_part_of_an_address(client, acme):
    bob = _person(client, acme, "Bob Builder", "bob@customer.example")
    carla = _person(client, acme, "Carla", "carla@builders.example")
    _person(client, acme, "Dora", "dora@else.example")
    assert _search(client, acme, term="builder") == [bob["id"], carla["id"]]
    assert _search(client, acme, term="CARLA@") == [carla["id"]]


def test_term_search_treats_like_wildcards_literally(client, acme):
    _person(client, acme, "Bob", "bob@customer.example")
    assert _search(client, acme, term="%%") == []
    assert _search(client, acme, term="__") == []


def test_term_of_one_character_is_400(client, acme):
    assert_error(client.get(PERSONS.url, query_string={"term": "b"}, headers=acme.auth), 400, "term")


@pytest.mark.parametrize("param", ["email", "term"])
def test_nul_in_a_search_is_400_not_500(client, acme, param):
    response = client.get(PERSONS.url, query_string={param: "bo\x00b"}, headers=acme.auth)
    assert_error(response, 400, param)


def test_an_address_belongs_to_one_person_per_company(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example")
    response = client.post(PERSONS.url, json={"name": "Other Bob", "emails": [{"email": "BOB@customer.example"}]},
                           headers=acme.auth)
    body = assert_error(response, 400, "emails")
    assert str(bob["id"]) in body["errors"]["emails"][0]
    assert _search(client, acme, email="bob@customer.example") == [bob["id"]]
    assert len(client.get(PERSONS.url, headers=acme.auth).get_json()["data"]) == 1


def test_updating_to_another_persons_address_is_400(client, acme):
    _person(client, acme, "Bob", "bob@customer.example")
    carla = _person(client, acme, "Carla", "carla@customer.example")
    response = client.patch(PERSONS.item_url(carla["id"]), json={"emails": [{"email": "bob@customer.example"}]},
                            headers=acme.auth)
    assert_error(response, 400, "emails")
    stored = client.get(PERSONS.item_url(carla["id"]), headers=acme.auth).get_json()["data"]
    assert [e["email"] for e in stored["emails"]] == ["carla@customer.example"]


def test_a_person_may_keep_its_own_address_when_updating_emails(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example")
    response = client.patch(PERSONS.item_url(bob["id"]), json={"emails": [
        {"email": "bob@customer.example"}, {"email": "bob2@customer.example"}]}, headers=acme.auth)
    assert response.status_code == 200, response.get_json()
    assert [e["email"] for e in response.get_json()["data"]["emails"]] == [
        "bob@customer.example", "bob2@customer.example"]


def test_the_same_address_twice_in_one_body_is_400(client, acme):
    response = client.post(PERSONS.url, json={"name": "Bob", "emails": [
        {"email": "bob@customer.example"}, {"email": "Bob@Customer.example"}]}, headers=acme.auth)
    assert_error(response, 400, "emails")


def test_the_same_address_may_exist_in_two_companies(client, acme, globex):
    mine = _person(client, acme, "Bob at Acme", "bob@customer.example")
    theirs = _person(client, globex, "Bob at Globex", "bob@customer.example")
    assert mine["id"] != theirs["id"]
    assert _search(client, acme, email="bob@customer.example") == [mine["id"]]
    assert _search(client, globex, email="bob@customer.example") == [theirs["id"]]


def test_a_deleted_persons_address_can_be_reused(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example")
    assert client.delete(PERSONS.item_url(bob["id"]), headers=acme.auth).status_code == 200
    again = _person(client, acme, "New Bob", "bob@customer.example")
    assert _search(client, acme, email="bob@customer.example") == [again["id"]]


@pytest.mark.parametrize("bad", ["not-an-address", "", "a@", 42, None])
def test_invalid_addresses_are_400(client, acme, bad):
    response = client.post(PERSONS.url, json={"name": "Bob", "emails": [{"email": bad}]}, headers=acme.auth)
    assert_error(response, 400, "emails")


def test_put_without_emails_removes_them(client, acme):
    bob = _person(client, acme, "Bob", "bob@customer.example")
    response = client.put(PERSONS.item_url(bob["id"]), json={"name": "Bob"}, headers=acme.auth)
    assert response.status_code == 200
    assert response.get_json()["data"]["emails"] == []
    assert _search(client, acme, email="bob@customer.example") == []
