"""Several open deals, end to end over SMTP: the ranking with reasons in the thread, each company
policy, resolve and the pipeline agreeing, accepting the top suggestion, and the settings."""
from __future__ import annotations

import pytest

from .conftest import links_of, mail

RESOLVE = "/api/v1/addin/resolve"


def set_policy(crm, policy, **extra):
    response = crm.client.patch("/api/v1/settings/smart-bcc", json={"deal_choice_policy": policy, **extra},
                                headers=crm.account.auth)
    assert response.status_code == 200, response.json
    return response.json["data"]


def bob_with_three_deals(crm):
    bob = crm.person("Bob Buyer", "bob@customer.example")
    deals = [crm.deal(title, bob["id"]) for title in ("Payroll renewal", "Helpdesk rollout", "Backup pilot")]
    crm.deal("Analytics pilot", bob["id"], status="won")
    return bob, deals


def thread_detail(crm, thread_id):
    response = crm.get(f"mailbox/mailThreads/{thread_id}")
    assert response.status_code == 200, response.json
    return response.json["data"]


def decisions(crm, thread_id):
    messages = crm.get(f"mailbox/mailThreads/{thread_id}/mailMessages").json["data"]
    return [d for d in messages[0]["arrivals"][0]["decisions"] if d["stage"] == "links"]


def test_ask_lists_the_candidates_best_first_with_reasons(crm, acme, send_mail):
    _bob, (payroll, helpdesk, backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Helpdesk rollout: dates", "See you Monday."),
              acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["needs_deal_choice"] is True and links_of(thread) == {("person", _bob["id"])}
    choice = thread_detail(crm, thread["id"])["deal_choice"]
    assert choice["policy"] == "ask" and choice["suggested"] is None
    assert [c["id"] for c in choice["candidates"]] == [helpdesk["id"], payroll["id"], backup["id"]]
    top = choice["candidates"][0]
    assert top["score"] == 0.6 and top["reasons"] == ["The subject names 'helpdesk' and 'rollout' from its title."]
    assert choice["top"]["id"] == helpdesk["id"]
    # Closed deals are no candidates, even when the subject names them.
    assert "Analytics pilot" not in {c["title"] for c in choice["candidates"]}
    # The pipeline recorded the same ranking.
    needs = next(d for d in decisions(crm, thread["id"]) if d["outcome"] == "needs-deal-choice")
    assert needs["candidates"] == [c["id"] for c in choice["candidates"]]
    assert [r["score"] for r in needs["ranking"]] == [c["score"] for c in choice["candidates"]]
    # Lists do not rank (one thread at a time).
    assert "deal_choice" not in thread


def test_suggest_preselects_the_top_candidate(crm, acme, send_mail):
    set_policy(crm, "suggest")
    _bob, (_payroll, _helpdesk, backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Hello", "About the backup pilot: it starts in May."),
              acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["needs_deal_choice"] is True
    choice = thread_detail(crm, thread["id"])["deal_choice"]
    assert choice["policy"] == "suggest" and choice["suggested"]["id"] == backup["id"]
    assert any(d["outcome"] == "deal-suggested" for d in decisions(crm, thread["id"]))


def test_auto_when_confident_links_the_top_candidate_and_records_why(crm, acme, send_mail):
    set_policy(crm, "auto_when_confident", deal_choice_threshold=0.6, deal_choice_margin=0.3)
    bob, (_payroll, helpdesk, _backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Re: Helpdesk rollout"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["needs_deal_choice"] is False
    assert links_of(thread) == {("person", bob["id"]), ("deal", helpdesk["id"])}
    link = next(lk for lk in thread["links"] if lk["item_type"] == "deal")
    assert link["rule"] == "confident-deal" and "The subject names 'helpdesk' and 'rollout'" in link["reason"]
    assert link["reason"].startswith("Linked on its own on ") and "ranked first of the open deals (score 0.60" in link["reason"]
    assert thread_detail(crm, thread["id"])["deal_choice"] is None
    hit = next(d for d in decisions(crm, thread["id"]) if d["outcome"] == "deal-confident")
    assert hit["item_id"] == helpdesk["id"] and hit["hit"] is True


def test_auto_when_not_confident_asks(crm, acme, send_mail):
    set_policy(crm, "auto_when_confident")  # default threshold 0.9: a subject match alone is 0.6
    bob, _deals = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Re: Helpdesk rollout"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    assert thread["needs_deal_choice"] is True and links_of(thread) == {("person", bob["id"])}
    assert any(d["outcome"] == "deal-not-confident" for d in decisions(crm, thread["id"]))
    assert thread_detail(crm, thread["id"])["deal_choice"]["suggested"] is None


def test_an_earlier_conversation_linked_by_hand_ranks_its_deal_first(crm, acme, send_mail):
    _bob, (_payroll, _helpdesk, backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "First"), acme.bcc_address, acme.email)
    first = crm.only_thread()
    response = crm.client.patch(f"/api/v1/mailbox/mailThreads/{first['id']}", json={"deal_id": backup["id"]},
                                headers=acme.auth)
    assert response.status_code == 200, response.json
    send_mail(mail(acme.email, "bob@customer.example", "Second"), acme.bcc_address, acme.email)
    second = next(t for t in crm.threads() if t["id"] != first["id"])
    choice = thread_detail(crm, second["id"])["deal_choice"]
    top = choice["candidates"][0]
    assert top["id"] == backup["id"]
    assert "The earlier conversation with Bob Buyer was linked to it." in top["reasons"]
    assert any(r.startswith("It has the most recent mail with Bob Buyer") for r in top["reasons"])


def test_a_mail_to_bob_copying_carol_ranks_by_bobs_history_first(crm, acme, send_mail):
    bob = crm.person("Bob Buyer", "bob@customer.example")
    carol = crm.person("Carol Client", "carol@customer.example")
    _payroll, helpdesk = (crm.deal(title, bob["id"]) for title in ("Payroll renewal", "Helpdesk rollout"))
    training = crm.deal("Training pilot", carol["id"])
    for to, subject, date, deal in (("bob@customer.example", "To Bob", "Mon, 3 Mar 2025 10:00:00 +0000", helpdesk),
                                    ("carol@customer.example", "To Carol", "Tue, 4 Mar 2025 10:00:00 +0000", training)):
        send_mail(mail(acme.email, to, subject, date=date), acme.bcc_address, acme.email)
        thread = next(t for t in crm.threads() if t["subject"] == subject)
        response = crm.client.patch(f"/api/v1/mailbox/mailThreads/{thread['id']}", json={"deal_id": deal["id"]},
                                    headers=acme.auth)
        assert response.status_code == 200, response.json
    send_mail(mail(acme.email, "bob@customer.example", "Catching up", cc="carol@customer.example",
                   date="Wed, 5 Mar 2025 10:00:00 +0000"), acme.bcc_address, acme.email)
    thread = next(t for t in crm.threads() if t["subject"] == "Catching up")
    candidates = thread_detail(crm, thread["id"])["deal_choice"]["candidates"]
    # Carol's conversation is the newest, but the mail is to Bob: his newest counts, and Carol's
    # deal loses points as she is only copied.
    assert candidates[0]["id"] == helpdesk["id"]
    assert "It has the most recent mail with Bob Buyer (3 Mar 2025)." in candidates[0]["reasons"]
    theirs = next(c for c in candidates if c["id"] == training["id"])
    assert theirs["score"] == 0 and ("It is a deal of Carol Client, not of Bob Buyer, the first contact on the mail."
                                     in theirs["reasons"])


def test_a_colleagues_private_conversation_is_no_evidence(crm, acme, make_account, send_mail, client):
    colleague = make_account("acme.example", "colin@acme.example")
    _bob, (_payroll, _helpdesk, backup) = bob_with_three_deals(crm)
    send_mail(mail(colleague.email, "bob@customer.example", "Private"), colleague.bcc_address, colleague.email)
    private = client.get("/api/v1/mailbox/mailThreads", headers=colleague.auth).json["data"][0]
    client.patch(f"/api/v1/mailbox/mailThreads/{private['id']}", json={"deal_id": backup["id"]},
                 headers=colleague.auth)
    send_mail(mail(acme.email, "bob@customer.example", "Mine"), acme.bcc_address, acme.email)
    mine = crm.only_thread()
    choice = thread_detail(crm, mine["id"])["deal_choice"]
    assert all(c["score"] == 0 and c["reasons"] == [] for c in choice["candidates"])


def test_resolve_ranks_the_draft_as_the_pipeline_ranks_the_mail(client, acme, crm, send_mail):
    _bob, (payroll, _helpdesk, _backup) = bob_with_three_deals(crm)
    body = {"to": ["bob@customer.example"], "subject": "Payroll renewal", "body": "Numbers attached."}
    response = client.post(RESOLVE, json=body, headers=acme.auth)
    assert response.status_code == 200, response.json
    draft = response.json["data"]
    assert draft["needs_deal_choice"] is True and draft["deal_choice_policy"] == "ask"
    ranked = draft["candidates"]["deals"]
    assert ranked[0]["id"] == payroll["id"] and ranked[0]["score"] == 0.6 and ranked[0]["reasons"]
    send_mail(mail(acme.email, "bob@customer.example", body["subject"], body["body"]), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    choice = thread_detail(crm, thread["id"])["deal_choice"]
    needs = next(d for d in decisions(crm, thread["id"]) if d["outcome"] == "needs-deal-choice")
    as_resolved = [(c["id"], c["score"], c["reasons"]) for c in ranked]
    assert as_resolved == [(c["id"], c["score"], c["reasons"]) for c in choice["candidates"]]
    assert as_resolved == [(r["deal_id"], r["score"], r["reasons"]) for r in needs["ranking"]]


def test_the_deals_value_named_in_the_mail_ranks_it_first_in_resolve_and_the_pipeline(client, acme, crm, send_mail):
    bob = crm.person("Bob Buyer", "bob@customer.example")
    crm.post("deals", title="Payroll renewal", person_id=bob["id"], value=12500, currency="EUR")
    helpdesk = crm.post("deals", title="Helpdesk rollout", person_id=bob["id"], value=48000, currency="EUR")
    body = {"to": ["bob@customer.example"], "subject": "Our offer", "body": "The total comes to 48.000 EUR."}
    response = client.post(RESOLVE, json=body, headers=acme.auth)
    assert response.status_code == 200, response.json
    ranked = response.json["data"]["candidates"]["deals"]
    assert ranked[0]["id"] == helpdesk["id"] and ranked[0]["score"] == 0.5
    assert ranked[0]["reasons"] == ["The mail names its value, EUR 48,000."]
    send_mail(mail(acme.email, "bob@customer.example", body["subject"], body["body"]), acme.bcc_address, acme.email)
    needs = next(d for d in decisions(crm, crm.only_thread()["id"]) if d["outcome"] == "needs-deal-choice")
    assert [(r["deal_id"], r["score"], r["reasons"]) for r in needs["ranking"]] == [
        (c["id"], c["score"], c["reasons"]) for c in ranked]


def test_resolve_suggests_and_when_confident_gives_the_deals_address(client, acme, crm, send_mail):
    _bob, (payroll, _helpdesk, _backup) = bob_with_three_deals(crm)
    set_policy(crm, "suggest")
    body = {"to": ["bob@customer.example"], "subject": "Payroll renewal"}
    draft = client.post(RESOLVE, json=body, headers=acme.auth).json["data"]
    assert draft["suggested"]["id"] == payroll["id"] and draft["address"] == acme.bcc_address
    set_policy(crm, "auto_when_confident", deal_choice_threshold=0.5, deal_choice_margin=0.3)
    draft = client.post(RESOLVE, json=body, headers=acme.auth).json["data"]
    assert draft["reason_code"] == "confident-deal" and draft["address"] == payroll["bcc_address"]
    assert draft["needs_deal_choice"] is False and draft["suggested"] is None
    send_mail(mail(acme.email, "bob@customer.example", "Payroll renewal"), [draft["address"]], acme.email)
    assert ("deal", payroll["id"]) in links_of(crm.only_thread())


@pytest.mark.parametrize("field, value", [("subject", 5), ("body", "x\x00y"), ("subject", "s" * 999)])
def test_resolve_refuses_a_bad_subject_or_body(client, acme, field, value):
    response = client.post(RESOLVE, json={"to": ["bob@customer.example"], field: value}, headers=acme.auth)
    assert response.status_code == 400 and field in response.json["errors"]


def test_accepting_the_top_suggestion_links_it(crm, acme, send_mail):
    bob, (_payroll, helpdesk, _backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Helpdesk rollout"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    response = crm.client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/accept-suggestion",
                               json={"deal_id": helpdesk["id"]}, headers=acme.auth)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["needs_deal_choice"] is False and data["deal_choice"] is None
    assert links_of(data) == {("person", bob["id"]), ("deal", helpdesk["id"])}
    link = next(lk for lk in data["links"] if lk["item_type"] == "deal")
    assert link["reason"].startswith("Suggested (score 0.60) and accepted by Test User on ")
    assert "The subject names 'helpdesk' and 'rollout' from its title." in link["reason"]
    again = crm.client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/accept-suggestion", headers=acme.auth)
    assert again.status_code == 409 and "already linked to deal 'Helpdesk rollout'" in again.json["error"]


@pytest.mark.parametrize("change", ["won", "lost", "deleted"])
def test_accepting_a_deal_closed_or_deleted_meanwhile_is_a_409_and_links_nothing(crm, acme, send_mail, change):
    bob, (_payroll, helpdesk, _backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Helpdesk rollout"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    if change == "deleted":
        assert crm.client.delete(f"/api/v1/deals/{helpdesk['id']}", headers=acme.auth).status_code in (200, 204)
    else:
        response = crm.client.patch(f"/api/v1/deals/{helpdesk['id']}", json={"status": change}, headers=acme.auth)
        assert response.status_code == 200, response.json
    response = crm.client.post(f"/api/v1/mailbox/mailThreads/{thread['id']}/accept-suggestion",
                               json={"deal_id": helpdesk["id"]}, headers=acme.auth)
    assert response.status_code == 409
    assert ("deleted meanwhile" if change == "deleted" else f"was marked {change} meanwhile") in response.json["error"]
    after = thread_detail(crm, thread["id"])
    assert after["needs_deal_choice"] is True and links_of(after) == {("person", bob["id"])}


def test_accepting_a_deal_that_is_no_longer_the_top_is_a_409(crm, acme, send_mail):
    _bob, (payroll, _helpdesk, _backup) = bob_with_three_deals(crm)
    send_mail(mail(acme.email, "bob@customer.example", "Helpdesk rollout"), acme.bcc_address, acme.email)
    thread = crm.only_thread()
    url = f"/api/v1/mailbox/mailThreads/{thread['id']}/accept-suggestion"
    response = crm.client.post(url, json={"deal_id": payroll["id"]}, headers=acme.auth)
    assert response.status_code == 409 and "is now ranked first" in response.json["error"]
    bad = crm.client.post(url, json={"deal_id": "x"}, headers=acme.auth)
    assert bad.status_code == 400 and "deal_id" in bad.json["errors"]


def test_the_settings_api_checks_the_policy_and_its_numbers(crm, acme, make_account, client):
    data = crm.get("settings/smart-bcc").json["data"]
    assert (data["deal_choice_policy"], data["deal_choice_threshold"], data["deal_choice_margin"]) == ("ask", 0.9, 0.3)
    for body, field in (({"deal_choice_policy": "always"}, "deal_choice_policy"),
                        ({"deal_choice_threshold": 1.5}, "deal_choice_threshold"),
                        ({"deal_choice_margin": -0.1}, "deal_choice_margin"),
                        ({"deal_choice_threshold": "high"}, "deal_choice_threshold")):
        response = client.patch("/api/v1/settings/smart-bcc", json=body, headers=acme.auth)
        assert response.status_code == 400 and field in response.json["errors"], response.json
    assert crm.get("settings/smart-bcc").json["data"]["deal_choice_policy"] == "ask"
    member = make_account("acme.example", "mo@acme.example", admin=False)
    response = client.patch("/api/v1/settings/smart-bcc", json={"deal_choice_policy": "suggest"}, headers=member.auth)
    assert response.status_code == 403 and response.json["errors"] == {"deal_choice_policy": ["Admins only."]}
    data = set_policy(crm, "auto_when_confident", deal_choice_threshold=0.8, deal_choice_margin=0.25)
    assert (data["deal_choice_policy"], data["deal_choice_threshold"], data["deal_choice_margin"]) == \
        ("auto_when_confident", 0.8, 0.25)
