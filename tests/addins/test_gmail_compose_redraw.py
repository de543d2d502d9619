"""The Gmail compose card after one of its buttons rewrote the draft's Bcc (issue 19, parts 1 and 4):
one response both replaces the Bcc (``renderActions.hostAppAction.gmailAction.updateDraftActionMarkup``)
and redraws the compose card (``renderActions.action.navigations[].updateCard``) for the Bcc as
rewritten, with a toast (``renderActions.action.notification``) naming the address now in Bcc.

Google documents RenderActions' ``action`` and ``hostAppAction`` as two separate fields (not a
union) and gives a SubmitFormResponse example pairing ``action.notification`` with a
``hostAppAction.gmailAction``: developers.google.com/workspace/add-ons/reference/rpc/google.apps.card.v1
(RenderActions, Navigation.updateCard, SubmitFormResponse); the JSON "Render action" schema of
developers.google.com/workspace/add-ons/guides/alternate-runtimes has the same two properties; the
Gmail half is apps.extensions.markup's GmailClientActionMarkup.UpdateDraftActionMarkup."""
from __future__ import annotations

from backend.addins.gmail_cards import BRAND
from tests.addins.conftest import BASE_URL
from tests.addins.test_gmail import draft_update, gmail, update_of  # noqa: F401

ACTION = f"{BASE_URL}/addons/gmail/bcc-action"
WHO_ENDS = ("A reply in an existing conversation does not change it; the change is offered on the "
            "conversation&#x27;s page.")


def _button(label: str, primary: bool = False, **params: str) -> dict:
    action = {"function": ACTION, "parameters": [{"key": k, "value": v} for k, v in params.items()]}
    return {"text": label, "onClick": {"action": action}, **({"color": BRAND} if primary else {})}


def _who_sees_it(sentence: str) -> dict:
    return {"header": "Who sees it", "widgets": [
        {"textParagraph": {"text": f"{sentence} {WHO_ENDS}"}},
        {"buttonList": {"buttons": [_button("Mark private", item="auto", privacy="private"),
                                    _button("Mark shared", item="auto", privacy="shared")]}}]}


LAST_SECTION = {"widgets": [{"buttonList": {"buttons": [
    _button("No deal (company address)", item="none"),
    {"text": "Create a deal", "onClick": {"openLink": {"url": f"{BASE_URL}/deals"}}}]}}]}


def _sections(response) -> list[dict]:
    return response.get_json()["renderActions"]["action"]["navigations"][0]["updateCard"]["sections"]


def _bcc_section(sections: list[dict]) -> dict:
    return sections[0]


def test_the_privacy_button_rewrites_the_bcc_and_redraws_the_card_in_one_response(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    deal_id, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    response = gmail("bcc-action", params={"item": "auto", "privacy": "shared"},
                     toRecipients=["pat@customer.example"], bccRecipients=["Boss <boss@acme.example>"])
    assert response.status_code == 200, response.get_json()
    tagged = deal_address.replace("@", "+shared@")
    body = response.get_json()
    reason = body["renderActions"]["action"]["navigations"][0]["updateCard"]["sections"][0]["widgets"][0][
        "decoratedText"]["bottomLabel"]
    assert "Renewal" in reason  # the link rules' own sentence for the one open deal
    assert body == {"renderActions": {
        "hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {"updateBccRecipients": {
            "bccRecipients": [{"email": "boss@acme.example"}, {"email": tagged}]}}}},
        "action": {
            "navigations": [{"updateCard": {
                "header": {"title": "Smart Bcc", "subtitle": "Log this mail"},
                "sections": [
                    {"header": "In Bcc now", "widgets": [
                        {"decoratedText": {"topLabel": "Deal: Renewal", "text": tagged, "wrapText": True,
                                           "bottomLabel": reason}},
                        {"buttonList": {"buttons": [_button("Bcc to CRM", primary=True, item="auto")]}}]},
                    {"header": "Pick a deal or lead", "widgets": [{"buttonList": {"buttons": [
                        _button("Deal: Renewal (Pat)", item=f"deal:{deal_id}")]}}]},
                    _who_sees_it("Shared (marked for this mail): everyone in your company will see the "
                                 "conversation this mail starts."),
                    LAST_SECTION,
                ]}}],
            "notification": {"text": f"In Bcc now: {tagged} (deal 'Renewal', shared)."}}}}


def test_picking_one_of_several_deals_redraws_the_card_with_that_deal_and_no_suggestion_left(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "One")
    two, two_address = crm.deal(acme.company_id, pat, "Two")
    before = gmail("on-compose", toRecipients=["pat@customer.example"], bccRecipients=[]).get_json()
    before_sections = before["action"]["navigations"][0]["pushCard"]["sections"]
    assert [s.get("header") for s in before_sections][:2] == ["Bcc address", "Suggested deal"]

    response = gmail("bcc-action", params={"item": f"deal:{two}"}, toRecipients=["pat@customer.example"],
                     bccRecipients=[])
    assert draft_update(response.get_json()) == update_of([two_address])
    sections = _sections(response)
    assert _bcc_section(sections) == {"header": "In Bcc now", "widgets": [
        {"decoratedText": {"topLabel": "Deal: Two", "text": two_address, "wrapText": True,
                           "bottomLabel": "You picked deal &#x27;Two&#x27;."}},
        {"buttonList": {"buttons": [_button("Bcc to CRM", primary=True, item="auto")]}}]}
    # The pick is made: the card no longer offers the suggestion; the picker stays to change it.
    assert [s.get("header") for s in sections] == ["In Bcc now", "Pick a deal or lead", "Who sees it", None]
    assert response.get_json()["renderActions"]["action"]["notification"] == {
        "text": f"In Bcc now: {two_address} (deal 'Two', private)."}


def test_no_deal_redraws_the_card_with_the_company_address(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _id, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    response = gmail("bcc-action", params={"item": "none", "privacy": "private"},
                     toRecipients=["pat@customer.example"], bccRecipients=[deal_address])
    assert draft_update(response.get_json()) == update_of(["acme+private@bcc.test"])
    sections = _sections(response)
    assert _bcc_section(sections)["widgets"][0] == {"decoratedText": {
        "topLabel": "Company address", "text": "acme+private@bcc.test", "wrapText": True,
        "bottomLabel": "You chose no deal or lead: the company address logs the mail."}}
    assert sections[2] == _who_sees_it("Private (marked for this mail): only you will see the conversation "
                                       "this mail starts.")
    assert response.get_json()["renderActions"]["action"]["notification"] == {
        "text": "In Bcc now: acme+private@bcc.test (no deal or lead, private)."}


def test_the_redrawn_card_agrees_with_the_compose_card_gmail_shows_for_the_rewritten_bcc(gmail, acme, crm):
    # Reopening Smart Bcc on the rewritten draft (the compose trigger) tells the rep the same:
    # the same address in Bcc, the same deal, the same privacy.
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "One")
    two, _ = crm.deal(acme.company_id, pat, "Two")
    draft = {"toRecipients": ["pat@customer.example"], "bccRecipients": ["boss@acme.example"]}
    response = gmail("bcc-action", params={"item": f"deal:{two}", "privacy": "shared"}, **draft)
    bcc = [r["email"] for r in response.get_json()["renderActions"]["hostAppAction"]["gmailAction"][
        "updateDraftActionMarkup"]["updateBccRecipients"]["bccRecipients"]]
    redrawn = _sections(response)
    fresh = gmail("on-compose", toRecipients=draft["toRecipients"], bccRecipients=bcc).get_json()[
        "action"]["navigations"][0]["pushCard"]["sections"]

    def shown(sections: list[dict]) -> tuple:
        first = sections[0]["widgets"][0]["decoratedText"]
        who = next(s for s in sections if s.get("header") == "Who sees it")["widgets"][0]["textParagraph"]["text"]
        return sections[0]["header"], first["topLabel"], first["text"], who, [s.get("header") for s in sections]

    assert shown(redrawn) == shown(fresh)
    assert shown(fresh)[:3] == ("In Bcc now", "Deal: Two", bcc[-1])
    assert bcc[-1].endswith("+shared@bcc.test")


def test_the_compose_trigger_says_bcc_address_until_the_draft_has_it(gmail, acme):
    # The compose trigger's own card tells apart "what Bcc to CRM would insert" and "what is in Bcc".
    empty = gmail("on-compose", toRecipients=[], bccRecipients=[]).get_json()
    assert empty["action"]["navigations"][0]["pushCard"]["sections"][0]["header"] == "Bcc address"
    named = gmail("on-compose", toRecipients=[], bccRecipients=[f"Acme CRM <{acme.bcc_address.upper()}>"]).get_json()
    assert named["action"]["navigations"][0]["pushCard"]["sections"][0]["header"] == "In Bcc now"
