"""The deal ranking's evidence rules one by one, and the company policy in the rule-book (no database)."""
from __future__ import annotations

from datetime import datetime, timezone

from backend.domain import dealrank
from backend.domain.dealevidence import policy_error
from backend.domain.dealrank import DealFacts, DealHistory, DealPolicy, rank, words
from backend.domain.linkrules import Contact, Conversation, Item, run_rules

BOB, CAROL = Contact(1, "Bob Buyer"), Contact(2, "Carol Client")
PAYROLL = Item("deal", 10, "Payroll renewal", 1, "tok10")
HELPDESK = Item("deal", 11, "Helpdesk rollout", 1, "tok11")
BACKUP = Item("deal", 12, "Backup pilot", 1, "tok12")
DEALS = [PAYROLL, HELPDESK, BACKUP]


def conv(**kwargs) -> Conversation:
    base = dict(user_name="Alice Admin", link_emails_to_items=True, contacts=[BOB], open_deals={1: list(DEALS)},
                user_id=7)
    base.update(kwargs)
    return Conversation(**base)


def evidence(ranking, deal):
    found = next(r for r in ranking.ranked if r.item == deal)
    return {e.rule: e for e in found.evidence}, found


def test_without_evidence_every_score_is_zero_and_the_order_is_kept():
    ranking = rank(conv(), DEALS)
    assert [r.item for r in ranking.ranked] == DEALS
    assert all(r.score == 0 and r.evidence == [] for r in ranking.ranked)


def test_the_subject_naming_a_title_ranks_that_deal_first():
    ranking = rank(conv(subject="Re: Helpdesk rollout next week"), DEALS)
    assert ranking.top.item == HELPDESK and ranking.top.score == 0.6
    ev, _ = evidence(ranking, HELPDESK)
    assert ev["similar-text"].reason == "The subject names 'helpdesk' and 'rollout' from its title."


def test_the_text_counts_less_than_the_subject_and_quoted_lines_not_at_all():
    ranking = rank(conv(subject="Quick question", text="About the payroll renewals: attached."), DEALS)
    assert ranking.top.item == PAYROLL and ranking.top.score == 0.4
    assert "The text names 'payroll' and 'renewal'" in ranking.top.reasons[0]
    quoted = rank(conv(text="> About the payroll renewal\nThanks"), DEALS)
    assert quoted.top.score == 0


def test_words_shared_by_every_candidate_carry_no_weight():
    same = [Item("deal", 1, "Acme payroll", 1), Item("deal", 2, "Acme helpdesk", 1)]
    ranking = rank(conv(open_deals={1: same}, subject="Acme news"), same)
    assert ranking.top.score == 0 and ranking.top.evidence == []
    assert words("Licences, LICENCES and Café!") == {"licence", "cafe"}
    assert words("Licenses for the organizations") == {"licence", "organisation"}  # US spellings fold


def test_the_organisation_counts_when_it_sets_the_deal_apart():
    facts = {10: DealFacts(organization="Initech"), 11: DealFacts(organization="Globex"), 12: DealFacts()}
    ranking = rank(conv(deal_facts=facts, text="Greetings to the Initech team"), DEALS)
    ev, found = evidence(ranking, PAYROLL)
    assert ranking.top.item == PAYROLL and found.score == 0.1
    assert ev["similar-text"].reason == "It mentions its organisation, Initech."


def test_a_title_named_only_in_part_loses_points_when_another_is_named_whole():
    deals = [Item("deal", 20, "Payroll workshop", 1), Item("deal", 21, "Payroll upgrade", 1), BACKUP]
    facts = {20: DealFacts(owner_id=7)}  # Alice owns the workshop: without the whole title, it wins
    ranking = rank(conv(open_deals={1: deals}, deal_facts=facts, subject="Hello",
                        text="About the payroll upgrades: numbers attached."), deals)
    assert [r.item for r in ranking.ranked] == [deals[1], deals[0], BACKUP]
    ev, found = evidence(ranking, deals[0])
    assert ev["whole-title"].reason == "The mail names its title only in part; it names 'Payroll upgrade' whole."
    assert ev["whole-title"].points == -30
    assert ranking.top.score == 0.4  # the deal named whole gets no more points than its words
    assert "whole-title" not in evidence(ranking, deals[1])[0] and "whole-title" not in evidence(ranking, BACKUP)[0]
    # No title named whole: a title named in part keeps its points.
    part = rank(conv(open_deals={1: deals}, deal_facts=facts, subject="Payroll offer"), deals)
    assert all(e.rule != "whole-title" for r in part.ranked for e in r.evidence)


def test_the_deal_value_named_in_the_mail_counts_in_its_currency_or_with_none_written():
    facts = {10: DealFacts(value=24000.0, currency="EUR"), 11: DealFacts(value=8500.0, currency="EUR"),
             12: DealFacts(value=None)}
    ranking = rank(conv(deal_facts=facts, subject="Offer", text="The offer stands at 24.000 €, as agreed."), DEALS)
    ev, found = evidence(ranking, PAYROLL)
    assert ranking.top.item == PAYROLL and found.score == 0.5
    assert ev["names-value"].reason == "The mail names its value, EUR 24,000."
    assert ev["names-value"].parts == (("names-value", 1.0),)
    assert rank(conv(deal_facts=facts, text="Budget: 8.5k"), DEALS).top.item == HELPDESK  # no currency: counts
    other = rank(conv(deal_facts=facts, text="The offer stands at USD 24,000."), DEALS)  # another currency
    assert other.top.score == 0 and other.top.item == PAYROLL and other.top.evidence == []
    assert rank(conv(deal_facts=facts, text="> The offer stands at EUR 24,000."), DEALS).top.evidence == []


def test_a_value_several_candidates_have_is_shared_among_them():
    facts = {10: DealFacts(value=5000.0, currency="EUR"), 11: DealFacts(value=5000.0, currency="EUR"),
             12: DealFacts(value=7250.0, currency="EUR")}
    ranking = rank(conv(deal_facts=facts, text="We agreed on EUR 5,000."), DEALS)
    ev, found = evidence(ranking, PAYROLL)
    assert found.score == 0.25 and ev["names-value"].reason == (
        "The mail names its value, EUR 5,000 (so does one other open deal).")
    assert evidence(ranking, BACKUP)[1].evidence == []


def test_amounts_are_read_as_people_write_them_and_years_are_not_amounts():
    from backend.domain.dealwords import amounts
    assert amounts("EUR 24,000 or 24.000 € or €24,000.00") == {(24000.0, "EUR")}
    assert amounts("24k, 1.2m and 24 000 CHF") == {(24000.0, ""), (1200000.0, ""), (24000.0, "CHF")}
    assert amounts("$1,250.50") == {(1250.5, "USD")}
    assert amounts("Since 2025, on 5.12.2025 at 10:30, room 42, version 2.0.1") == set()
    assert amounts("> EUR 24,000") == set() and amounts(None) == set()


def test_earlier_conversations_give_points_by_their_share():
    history = {11: DealHistory(threads={1, 2, 3}, person_ids={1}), 12: DealHistory(threads={4}, person_ids={1})}
    ranking = rank(conv(deal_history=history), DEALS)
    ev, found = evidence(ranking, HELPDESK)
    assert ranking.top.item == HELPDESK
    assert ev["linked-before"].reason == "3 of the 4 earlier conversations with Bob Buyer were linked to it."
    assert ev["linked-before"].points == 15 * 3 / 4
    assert evidence(ranking, BACKUP)[1].score == 0.037


def test_a_deal_address_used_before_adds_its_own_reason():
    history = {12: DealHistory(threads={4}, by_address={4}, person_ids={1})}
    ev, _ = evidence(rank(conv(deal_history=history), DEALS), BACKUP)
    assert ev["address-used"].reason == "Its own Smart Bcc address was used on an earlier mail with Bob Buyer."


def test_the_most_recent_activity_counts_only_when_one_deal_is_the_most_recent():
    early, late = datetime(2025, 1, 6, tzinfo=timezone.utc), datetime(2025, 2, 3, tzinfo=timezone.utc)
    history = {10: DealHistory(threads={1}, person_ids={1}, last_at=early),
               11: DealHistory(threads={2}, person_ids={1}, last_at=late)}
    ev, _ = evidence(rank(conv(deal_history=history), DEALS), HELPDESK)
    assert ev["recent-activity"].reason == "It has the most recent mail with Bob Buyer (3 Feb 2025)."
    history[10].last_at = late
    ranking = rank(conv(deal_history=history), DEALS)
    assert not any(e.rule == "recent-activity" for r in ranking.ranked for e in r.evidence)


def test_the_most_recent_activity_is_the_first_contacts_when_they_have_one():
    early, late = datetime(2025, 1, 6, tzinfo=timezone.utc), datetime(2025, 2, 3, tzinfo=timezone.utc)
    # Carol's conversation about Helpdesk is newer, but the mail is to Bob: his newest counts.
    history = {10: DealHistory(threads={1}, person_ids={1}, last_at=early, last_by_person={1: early}),
               11: DealHistory(threads={2}, person_ids={2}, last_at=late, last_by_person={2: late})}
    ranking = rank(conv(contacts=[BOB, CAROL], deal_history=history), DEALS)
    ev, _ = evidence(ranking, PAYROLL)
    assert ev["recent-activity"].reason == "It has the most recent mail with Bob Buyer (6 Jan 2025)."
    assert "recent-activity" not in evidence(ranking, HELPDESK)[0]
    # Nothing earlier with Bob: the most recent mail with any of the contacts.
    history = {11: DealHistory(threads={2}, person_ids={2}, last_at=late, last_by_person={2: late})}
    ev, _ = evidence(rank(conv(contacts=[BOB, CAROL], deal_history=history), DEALS), HELPDESK)
    assert ev["recent-activity"].reason == "It has the most recent mail with Carol Client (3 Feb 2025)."


def test_a_deal_of_a_contact_other_than_the_first_one_loses_points():
    carols = Item("deal", 20, "Training pilot", 2, "tok20")
    deals = [PAYROLL, HELPDESK, carols]
    facts = {20: DealFacts(owner_id=7)}  # Alice owns Carol's deal: 40 points for it
    ranking = rank(conv(contacts=[BOB, CAROL], open_deals={1: [PAYROLL, HELPDESK], 2: [carols]},
                        deal_facts=facts), deals)
    ev, found = evidence(ranking, carols)
    assert ev["other-contact"].points == -20 and found.score == 0.2
    assert ev["other-contact"].reason == ("It is a deal of Carol Client, not of Bob Buyer, the first contact on "
                                          "the mail.")
    assert not any(e.rule == "other-contact" for r in ranking.ranked if r.item != carols for e in r.evidence)
    # A title named in the subject still wins for a copied contact's deal.
    named = rank(conv(contacts=[BOB, CAROL], open_deals={1: [PAYROLL, HELPDESK], 2: [carols]},
                      subject="Training pilot dates"), deals)
    assert named.top.item == carols and named.top.score == 0.4
    # All candidates of one contact: nothing against any of them.
    alone = rank(conv(contacts=[CAROL, BOB], open_deals={1: list(DEALS)}), DEALS)
    assert all(r.evidence == [] for r in alone.ranked)


def test_the_order_follows_the_points_past_a_score_of_one():
    early = datetime(2025, 1, 6, tzinfo=timezone.utc)
    history = {11: DealHistory(threads={1}, person_ids={1}, last_at=early, last_by_person={1: early})}
    facts = {10: DealFacts(owner_id=7), 11: DealFacts(owner_id=7), 12: DealFacts(owner_id=8)}
    ranking = rank(conv(subject="Payroll renewal and helpdesk rollout", deal_history=history, deal_facts=facts),
                   DEALS)
    # Both score 1 (Payroll: 60 + 40 points; Helpdesk: 60 + 40 + 15 + 20): Helpdesk has more points.
    assert [r.item for r in ranking.ranked[:2]] == [HELPDESK, PAYROLL]
    assert ranking.ranked[0].score == ranking.ranked[1].score == 1.0


def test_the_sender_owning_the_deal_counts_unless_they_own_every_candidate():
    facts = {10: DealFacts(owner_id=7), 11: DealFacts(owner_id=8), 12: DealFacts(owner_id=8)}
    ranking = rank(conv(deal_facts=facts), DEALS)
    assert ranking.top.item == PAYROLL and ranking.top.reasons == ["Alice Admin owns it."]
    facts = {d.id: DealFacts(owner_id=7) for d in DEALS}
    assert rank(conv(deal_facts=facts), DEALS).top.score == 0


def test_a_deal_unlinked_by_hand_is_last_and_never_confident():
    policy = DealPolicy("auto_when_confident", 0.1, 0.1)
    ranking = rank(conv(subject="Payroll renewal", existing={PAYROLL.key: True}, deal_policy=policy), DEALS)
    assert ranking.ranked[-1].item == PAYROLL and ranking.ranked[-1].excluded
    assert ranking.ranked[-1].reasons[-1] == "It was unlinked from this conversation by hand."
    assert not ranking.confident


def test_scores_stay_between_zero_and_one():
    history = {10: DealHistory(threads={1}, by_address={1}, person_ids={1},
                               last_at=datetime(2025, 1, 6, tzinfo=timezone.utc))}
    facts = {10: DealFacts(owner_id=7, organization="Initech")}
    ranking = rank(conv(subject="Payroll renewal Initech", text="payroll renewal", deal_history=history,
                        deal_facts=facts), DEALS)
    assert ranking.top.score == 1.0 and all(0 <= r.score <= 1 for r in ranking.ranked)


# --- the policy in the rule-book ----------------------------------------------------------------

def test_ask_needs_a_choice_with_the_candidates_ranked():
    verdict = run_rules(conv(subject="Backup pilot"))
    assert verdict.needs_deal_choice and verdict.candidates[0] == BACKUP and verdict.deal is None
    outcome = verdict.outcomes[-1]
    assert outcome.rule == "confident-deal" and outcome.code == "deal-ask" and not outcome.hit
    assert verdict.ranking.suggested is None


def test_suggest_needs_a_choice_and_preselects_the_top():
    verdict = run_rules(conv(subject="Backup pilot", deal_policy=DealPolicy("suggest")))
    assert verdict.needs_deal_choice and verdict.ranking.suggested.item == BACKUP
    assert verdict.outcomes[-1].code == "deal-suggested" and verdict.proposals[-1].item.item_type == "person"


def test_auto_when_confident_links_the_top_with_its_evidence():
    verdict = run_rules(conv(subject="Backup pilot", deal_policy=DealPolicy("auto_when_confident", 0.6, 0.3)))
    assert not verdict.needs_deal_choice and verdict.deal == BACKUP
    proposal = verdict.proposals[-1]
    assert proposal.item == BACKUP and proposal.rule == "confident-deal" and proposal.facts["score"] == 0.6
    assert proposal.facts["evidence"][0]["rule"] == "similar-text"
    outcome = verdict.outcomes[-1]
    assert outcome.hit and outcome.code == "deal-confident" and "deal 'Backup pilot'" in outcome.reason


def test_auto_when_not_confident_falls_back_to_asking():
    for threshold, margin in ((0.7, 0.2), (0.5, 0.7)):
        verdict = run_rules(conv(subject="Backup pilot",
                                 deal_policy=DealPolicy("auto_when_confident", threshold, margin)))
        assert verdict.needs_deal_choice and verdict.deal is None and verdict.ranking.suggested is None
        assert verdict.outcomes[-1].code == "deal-not-confident"
        assert "it needs a score of at least" in verdict.outcomes[-1].reason
    verdict = run_rules(conv(deal_policy=DealPolicy("auto_when_confident", 0, 0)))
    assert verdict.needs_deal_choice  # nothing known about any deal: never linked on a zero score


def test_the_policy_values_are_checked_with_a_sentence_per_field():
    assert policy_error("ask", 0.7, 0.2) == {} and policy_error(None, None, None) == {}
    errors = policy_error("always", 1.5, -0.1)
    assert errors["deal_choice_policy"] == ["Use one of: ask, suggest, auto_when_confident."]
    assert set(errors) == {"deal_choice_policy", "deal_choice_threshold", "deal_choice_margin"}
    assert policy_error(None, True, None) == {"deal_choice_threshold": ["Use a number from 0 to 1, such as 0.6."]}


def test_the_model_defaults_are_the_rule_book_defaults():
    from backend.models import Company

    columns = Company.__table__.c
    assert columns.deal_choice_policy.default.arg == dealrank.DEFAULT_POLICY
    assert columns.deal_choice_threshold.default.arg == dealrank.DEFAULT_THRESHOLD
    assert columns.deal_choice_margin.default.arg == dealrank.DEFAULT_MARGIN
