"""Each link rule on a built conversation: what it decided and why (no database)."""
from __future__ import annotations

from backend.domain.linkrules import (RULES, AutomaticMail, ContactLeads, ContactProjects, Contacts, Conversation,
                                      Contact, Item, ItemAddress, LinkSetting, OnlyOpenDeal, Verdict, run_rules)

BOB, CAROL = Contact(1, "Bob Buyer"), Contact(2, "Carol Client")
BOB_DEAL = Item("deal", 10, "Bob's first order", 1, "tok10")
BOB_DEAL_2 = Item("deal", 11, "Bob's second order", 1, "tok11")
CAROL_DEAL = Item("deal", 20, "Carol's order", 2, "tok20")
BOB_LEAD = Item("lead", 30, "Bob's lead", 1, "tok30")
CAROL_PROJECT = Item("project", 40, "Rollout", 2)


def conv(**kwargs) -> Conversation:
    base = dict(user_name="Alice Admin", link_emails_to_items=True, contacts=[BOB])
    base.update(kwargs)
    return Conversation(**base)


def check(rule, conversation, verdict=None):
    verdict = verdict or Verdict()
    return rule.check(conversation, verdict), verdict


def test_the_rules_have_names_and_descriptions_and_run_in_order():
    names = [r.name for r in RULES]
    assert names == ["item-address", "automatic-mail", "contacts", "link-setting", "contact-leads",
                     "contact-projects", "only-open-deal", "confident-deal"]
    assert all(r.description.endswith(".") for r in RULES)


def test_item_address_links_the_addressed_deal_and_names_it():
    outcome, verdict = check(ItemAddress(), conv(addressed=[BOB_DEAL_2]))
    assert outcome.hit and outcome.reason == "Sent to the Smart Bcc address of deal 'Bob's second order'."
    assert [p.item for p in verdict.proposals] == [BOB_DEAL_2] and verdict.deal == BOB_DEAL_2


def test_item_address_misses_without_one_and_brings_back_a_removed_link():
    outcome, verdict = check(ItemAddress(), conv())
    assert not outcome.hit and outcome.code == "no-item-address" and verdict.proposals == []
    _outcome, verdict = check(ItemAddress(), conv(addressed=[BOB_LEAD], existing={BOB_LEAD.key: True}))
    assert verdict.proposals[0].reactivate is True


def test_automatic_mail_stops_the_chain():
    outcome, verdict = check(AutomaticMail(), conv(automatic="bounce"))
    assert outcome.hit and verdict.stopped_by == "automatic-mail" and "bounce" in outcome.reason
    verdict = run_rules(conv(automatic="auto-reply", open_deals={1: [BOB_DEAL]}))
    assert [o.rule for o in verdict.outcomes] == ["item-address", "automatic-mail"] and verdict.proposals == []
    assert not check(AutomaticMail(), conv())[0].hit


def test_contacts_are_linked_unless_linked_or_unlinked_before():
    outcome, verdict = check(Contacts(), conv(contacts=[BOB, CAROL]))
    assert outcome.reason == "Bob Buyer and Carol Client took part in the conversation."
    assert [p.item.key for p in verdict.proposals] == [("person", 1), ("person", 2)]
    outcome, verdict = check(Contacts(), conv(existing={("person", 1): True}))
    assert not outcome.hit and verdict.proposals == []
    assert check(Contacts(), conv(contacts=[]))[0].code == "no-contacts"


def test_link_setting_off_stops_before_items():
    verdict = run_rules(conv(link_emails_to_items=False, open_deals={1: [BOB_DEAL]}, leads={1: [BOB_LEAD]}))
    assert verdict.stopped_by == "link-setting"
    assert [p.item.key for p in verdict.proposals] == [("person", 1)]
    assert "Alice Admin's setting 'link emails to items' is off" in verdict.outcomes[-1].reason
    assert not check(LinkSetting(), conv())[0].hit


def test_leads_and_projects_of_the_contacts():
    outcome, verdict = check(ContactLeads(), conv(contacts=[BOB, CAROL], leads={1: [BOB_LEAD]}))
    assert outcome.reason == "Lead 'Bob's lead' belongs to Bob Buyer."
    assert verdict.proposals[0].facts == {"person_id": 1}
    outcome, _ = check(ContactProjects(), conv(contacts=[BOB, CAROL], projects={2: [CAROL_PROJECT]}))
    assert outcome.reason == "Project 'Rollout' belongs to Carol Client."
    outcome, verdict = check(ContactLeads(), conv(leads={1: [BOB_LEAD]}, existing={BOB_LEAD.key: True}))
    assert not outcome.hit and "unlinked by hand" in outcome.reason and verdict.proposals == []


def test_exactly_one_open_deal_among_the_contacts_together_is_linked():
    outcome, verdict = check(OnlyOpenDeal(), conv(contacts=[BOB, CAROL], open_deals={1: [BOB_DEAL]}))
    assert outcome.hit and outcome.reason == "Linked because 'Bob's first order' is Bob Buyer's only open deal."
    assert verdict.deal == BOB_DEAL and verdict.proposals[0].facts == {"person_ids": [1]}


def test_one_deal_each_for_two_contacts_needs_a_choice():
    outcome, verdict = check(OnlyOpenDeal(), conv(contacts=[BOB, CAROL], open_deals={1: [BOB_DEAL], 2: [CAROL_DEAL]}))
    assert not outcome.hit and outcome.code == "needs-deal-choice"
    assert verdict.needs_deal_choice and verdict.candidates == [BOB_DEAL, CAROL_DEAL] and verdict.proposals == []
    assert outcome.reason == "Bob Buyer and Carol Client have 2 open deals: no deal is linked until you pick one."


def test_the_same_deal_of_two_contacts_counts_once():
    shared = Item("deal", 50, "Joint order", 1)
    verdict = run_rules(conv(contacts=[BOB, CAROL], open_deals={1: [shared], 2: [shared]}))
    assert verdict.deal == shared and not verdict.needs_deal_choice


def test_a_thread_with_a_deal_keeps_it():
    outcome, verdict = check(OnlyOpenDeal(), conv(open_deals={1: [BOB_DEAL_2]}, existing={BOB_DEAL.key: False},
                                                  existing_titles={BOB_DEAL.key: "Bob's first order"}))
    assert outcome.code == "deal-kept" and "deal 'Bob's first order'" in outcome.reason and verdict.proposals == []
    verdict = run_rules(conv(addressed=[BOB_DEAL_2], open_deals={1: [BOB_DEAL, BOB_DEAL_2]}))
    assert not verdict.needs_deal_choice and verdict.deal == BOB_DEAL_2


def test_a_deal_unlinked_by_hand_is_not_linked_again_and_no_deal_is_a_miss():
    outcome, verdict = check(OnlyOpenDeal(), conv(open_deals={1: [BOB_DEAL]}, existing={BOB_DEAL.key: True}))
    assert outcome.code == "deal-unlinked-by-hand" and verdict.proposals == []
    assert check(OnlyOpenDeal(), conv())[0].code == "no-open-deal"


def test_every_outcome_is_recorded_as_a_hit_or_a_miss():
    verdict = run_rules(conv(contacts=[BOB], open_deals={1: [BOB_DEAL]}, leads={1: [BOB_LEAD]}))
    assert [o.rule for o in verdict.hits] == ["contacts", "contact-leads", "only-open-deal"]
    assert [o.rule for o in verdict.misses] == ["item-address", "automatic-mail", "link-setting", "contact-projects",
                                                "confident-deal"]
    assert all(o.reason for o in verdict.outcomes)
