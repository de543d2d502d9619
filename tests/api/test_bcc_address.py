"""Each deal and lead has its own Smart Bcc address: decodable, unique and unguessable."""
from __future__ import annotations

import re

from sqlalchemy import select

from backend import addresses
from backend.models import Deal, Lead
from tests.api.conftest import DEALS, LEADS

MAIL_DOMAIN = "bcc.test"


def test_created_item_has_an_address_that_decodes_to_it(client, acme, addressed_resource, create):
    item = create(addressed_resource, acme)
    address = item["bcc_address"]
    assert address
    decoded = addresses.decode(address, MAIL_DOMAIN)
    assert decoded is not None
    assert decoded.kind == addressed_resource.addressed_kind
    assert f"{decoded.slug}@{MAIL_DOMAIN}" == acme.bcc_address


def test_the_token_in_the_address_is_the_stored_one(client, services, acme, addressed_resource, create):
    item = create(addressed_resource, acme)
    model = {"deals": Deal, "leads": Lead}[addressed_resource.name]
    with services.db.session() as session:
        stored = session.scalar(select(model.bcc_token).where(model.id == item["id"]))
    assert addresses.decode(item["bcc_address"], MAIL_DOMAIN).token == stored


def test_every_item_gets_a_different_16_character_token(client, acme, addressed_resource, create):
    tokens = [addresses.decode(create(addressed_resource, acme)["bcc_address"], MAIL_DOMAIN).token
              for _ in range(25)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert re.fullmatch(r"[a-z2-7]{16}", token)
    # Not a counter or a timestamp: consecutive tokens share no long common prefix.
    for a, b in zip(tokens, tokens[1:]):
        assert a[:6] != b[:6]


def test_the_address_is_the_same_in_get_list_and_after_updates(client, acme, addressed_resource, create):
    item = create(addressed_resource, acme)
    url = addressed_resource.item_url(item["id"])
    assert client.get(url, headers=acme.auth).get_json()["data"]["bcc_address"] == item["bcc_address"]
    listed = client.get(addressed_resource.url, headers=acme.auth).get_json()["data"]
    assert listed[0]["bcc_address"] == item["bcc_address"]
    patched = client.patch(url, json=addressed_resource.patch, headers=acme.auth).get_json()["data"]
    put = client.put(url, json=addressed_resource.put, headers=acme.auth).get_json()["data"]
    assert patched["bcc_address"] == put["bcc_address"] == item["bcc_address"]


def test_the_address_cannot_be_set_by_the_client(client, acme, addressed_resource, create):
    forced = addresses.item_address("acme", addressed_resource.addressed_kind, "a" * 16, MAIL_DOMAIN)
    response = client.post(addressed_resource.url, json={**addressed_resource.body, "bcc_address": forced},
                           headers=acme.auth)
    assert response.status_code == 400
    item = create(addressed_resource, acme)
    response = client.patch(addressed_resource.item_url(item["id"]), json={"bcc_address": forced},
                            headers=acme.auth)
    assert response.status_code == 400


def test_deal_and_lead_addresses_differ_in_kind(client, acme, create):
    deal, lead = create(DEALS, acme), create(LEADS, acme)
    assert addresses.decode(deal["bcc_address"], MAIL_DOMAIN).kind == "deal"
    assert addresses.decode(lead["bcc_address"], MAIL_DOMAIN).kind == "lead"
