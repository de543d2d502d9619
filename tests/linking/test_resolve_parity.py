"""The add-in's resolve and the pipeline ask the same link rule-book: for a draft, resolve names the
deal (or the same "needs a choice" and the same candidates) and the links that the pipeline gives
the mail when it arrives over SMTP with the address resolve chose."""
from __future__ import annotations

import pytest

from .conftest import links_of, mail

RESOLVE = "/api/v1/addin/resolve"


def resolve(client, account, to, cc=(), bcc=()):
    response = client.post(RESOLVE, json={"to": list(to), "cc": list(cc), "bcc": list(bcc)}, headers=account.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def send_as_resolved(send_mail, account, draft, to, cc=(), bcc=()):
    """Sends the draft the way the add-in leaves it: resolve's address in Bcc, replaced ones gone."""
    kept = [a for a in bcc if a not in draft["replace"]]
    rcpts = list(dict.fromkeys([draft["address"], *[a for a in kept if "bcc.test" in a]]))
    send_mail(mail(account.email, ", ".join(to), "Parity check", cc=", ".join(cc) or None), rcpts, account.email)


def compare(crm, draft, known_persons):
    """The arrived mail's links against resolve's prediction."""
    thread = crm.only_thread()
    actual = links_of(thread)
    predicted = {(lk["item_type"], lk["id"]) for lk in draft["links"]}
    # Resolve cannot know the contacts a mail creates; every other link must be as predicted.
    created = {key for key in actual - predicted if key[0] == "person" and key[1] not in known_persons}
    assert actual - created == predicted, (actual, predicted)
    assert thread["needs_deal_choice"] is draft["needs_deal_choice"]
    deals = {i for t, i in actual if t == "deal"}
    if draft["item"] and draft["item"]["item_type"] == "deal":
        assert draft["item"]["id"] in deals
    if draft["needs_deal_choice"]:
        assert deals == set()
        decisions = [d for d in crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
                     ["arrivals"][0]["decisions"] if d.get("outcome") == "needs-deal-choice"]
        assert decisions and decisions[0]["candidates"] == [c["id"] for c in draft["candidates"]["deals"]]
    return thread


def _people(crm):
    bob = crm.person("Bob Buyer", "bob@customer.example")
    carol = crm.person("Carol Client", "carol@customer.example")
    return bob, carol


def scenario_bob_and_carol_one_deal_each(crm):
    bob, carol = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    crm.deal("Carol's order", carol["id"])
    return {"to": ["bob@customer.example"], "cc": ["carol@customer.example"]}, "several-open-deals"


def scenario_only_open_deal_with_won_and_lost(crm):
    bob, _ = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    crm.deal("Won before", bob["id"], status="won")
    crm.deal("Lost before", bob["id"], status="lost")
    return {"to": ["Bob Buyer <BOB@customer.example>"]}, "only-open-deal"


def scenario_two_open_deals_of_one_contact(crm):
    bob, _ = _people(crm)
    crm.deal("Order A", bob["id"])
    crm.deal("Order B", bob["id"])
    return {"to": ["bob@customer.example"]}, "several-open-deals"


def scenario_leads_and_projects(crm):
    bob, carol = _people(crm)
    crm.post("leads", title="Bob's lead", person_id=bob["id"])
    crm.post("projects", title="Carol's rollout", person_id=carol["id"])
    crm.deal("Closed", bob["id"], status="won")
    return {"to": ["bob@customer.example", "carol@customer.example"]}, "no-open-deal"


def scenario_setting_off(crm):
    bob, _ = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    crm.post("leads", title="Bob's lead", person_id=bob["id"])
    response = crm.client.patch("/api/v1/settings/smart-bcc", json={"link_emails_to_items": False},
                                headers=crm.account.auth)
    assert response.status_code == 200, response.json
    return {"to": ["bob@customer.example"]}, "setting-off"


def scenario_deal_address_in_bcc(crm):
    bob, _ = _people(crm)
    crm.deal("Order A", bob["id"])
    chosen = crm.deal("Order B", bob["id"])
    return {"to": ["bob@customer.example"], "bcc": [chosen["bcc_address"], crm.account.bcc_address]}, "item-address"


def scenario_lead_address_and_only_open_deal(crm):
    bob, _ = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    lead = crm.post("leads", title="Bob's lead", person_id=bob["id"])
    return {"to": ["bob@customer.example"], "bcc": [lead["bcc_address"]]}, "item-address"


def scenario_stale_address_of_other_recipients(crm):
    bob, carol = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    stale = crm.deal("Carol's order", carol["id"])
    return {"to": ["bob@customer.example"], "bcc": [stale["bcc_address"]]}, "only-open-deal"


def scenario_unknown_and_colleague(crm):
    bob, _ = _people(crm)
    crm.deal("Bob's first order", bob["id"])
    return {"to": ["new.person@elsewhere.example", "colin@acme.example"], "cc": ["bob@customer.example"]}, \
        "only-open-deal"


SCENARIOS = [scenario_bob_and_carol_one_deal_each, scenario_only_open_deal_with_won_and_lost,
             scenario_two_open_deals_of_one_contact, scenario_leads_and_projects, scenario_setting_off,
             scenario_deal_address_in_bcc, scenario_lead_address_and_only_open_deal, scenario_stale_address_of_other_recipients,
             scenario_unknown_and_colleague]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__.removeprefix("scenario_") for s in SCENARIOS])
def test_resolve_predicts_what_the_pipeline_links(scenario, client, acme, crm, make_account, send_mail):
    make_account("acme.example", "colin@acme.example")
    draft_fields, code = scenario(crm)
    known = {p["id"] for p in crm.get("persons").json["data"] or []}
    draft = resolve(client, acme, draft_fields.get("to", []), draft_fields.get("cc", []), draft_fields.get("bcc", []))
    assert draft["reason_code"] == code, draft
    send_as_resolved(send_mail, acme, draft, draft_fields.get("to", []), draft_fields.get("cc", []),
                     draft_fields.get("bcc", []))
    compare(crm, draft, known)


def test_bob_and_carol_need_a_choice_in_both_places(client, acme, crm, send_mail):
    """The case from the issue: each has one open deal; neither resolve nor the pipeline picks."""
    draft_fields, _ = scenario_bob_and_carol_one_deal_each(crm)
    draft = resolve(client, acme, draft_fields["to"], draft_fields["cc"])
    assert draft["needs_deal_choice"] is True and draft["address"] == acme.bcc_address
    assert [c["title"] for c in draft["candidates"]["deals"]] == ["Bob's first order", "Carol's order"]
    send_as_resolved(send_mail, acme, draft, draft_fields["to"], draft_fields["cc"])
    thread = compare(crm, draft, set())
    assert thread["needs_deal_choice"] is True
