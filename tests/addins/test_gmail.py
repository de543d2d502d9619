"""Gmail add-on endpoints: Google request verification, and the exact card and draft-update JSON they answer with."""
from __future__ import annotations

import time

import pytest

from backend.addins.gmail_cards import BRAND
from backend.models import MailMessage, MailThread, Participant, ThreadLink
from tests.addins.card_v1 import CardError, check_response
from tests.addins.conftest import BASE_URL, SERVICE_ACCOUNT, bearer

ACTION = f"{BASE_URL}/addons/gmail/bcc-action"


@pytest.fixture
def gmail(client, google_token, google_user_token, acme):
    """gmail(endpoint, user_email="alice@acme.example", system=None, params=None, **gmail_fields) -> response."""

    def _call(endpoint: str, user: str = "alice@acme.example", *, system: str | None = None,
              params: dict | None = None, user_token: str | None = None, **fields):
        body = {
            "commonEventObject": {"hostApp": "GMAIL", "platform": "WEB", **({"parameters": params} if params else {})},
            "authorizationEventObject": {"userOAuthToken": "ya29.user-oauth", "systemIdToken": "unused",
                                         "userIdToken": user_token if user_token is not None else google_user_token(user)},
            "gmail": fields,
        }
        response = client.post(f"/addons/gmail/{endpoint}", json=body,
                               headers=bearer(system if system is not None else google_token()))
        if response.status_code == 200:  # every answer Gmail gets has the documented shape
            check_response(response.get_json(), functions)
        return response

    functions = {r.rule for r in client.application.url_map.iter_rules() if r.rule.startswith("/addons/gmail/")}
    return _call


def test_homepage_card(gmail, acme):
    response = gmail("homepage")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"action": {"navigations": [{"pushCard": {
        "header": {"title": "Smart Bcc", "subtitle": "alice@acme.example"},
        "sections": [
            {"header": "Your Smart Bcc address", "widgets": [
                {"decoratedText": {"topLabel": "Company address", "text": acme.bcc_address, "wrapText": True}},
                {"textParagraph": {"text": "Put it in Bcc and the CRM logs the mail. While you write a mail, open "
                                           "Smart Bcc from the compose window to pick the deal it belongs to."}}]},
            {"widgets": [{"buttonList": {"buttons": [
                {"text": "Open Smart Bcc", "onClick": {"openLink": {"url": f"{BASE_URL}/inbox"}}}]}}]},
        ]}}]}}


# ---- request verification

def _status_and_error(response):
    return response.status_code, (response.get_json() or {}).get("error", "")


def test_accounts_google_com_without_scheme_is_an_accepted_issuer(gmail, google_token):
    assert gmail("homepage", system=google_token(iss="accounts.google.com")).status_code == 200


@pytest.mark.parametrize("overrides, words", [
    ({"aud": "https://someone-else.example/addon"}, "another audience"),
    ({"email": "service-999@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"}, "another service account"),
    ({"email_verified": False}, "not verified"),
    ({"iss": "https://evil.example"}, "not issued by Google"),
    ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "expired"),
])
def test_a_bad_google_request_token_is_401(gmail, google_token, overrides, words):
    status, error = _status_and_error(gmail("homepage", system=google_token(**overrides)))
    assert status == 401
    assert words in error


def test_a_forged_google_request_token_is_401(gmail, google_token):
    status, error = _status_and_error(gmail("homepage", system=google_token(key="other")))
    assert (status, "invalid signature" in error) == (401, True)
    status, error = _status_and_error(gmail("homepage", system=google_token(key="other", kid="made-up")))
    assert (status, "unknown key" in error) == (401, True)


def test_no_bearer_is_401(client):
    response = client.post("/addons/gmail/homepage", json={})
    assert response.status_code == 401


def test_a_microsoft_token_is_not_a_google_token(gmail, ms_token):
    assert gmail("homepage", system=ms_token()).status_code == 401


@pytest.mark.parametrize("user_token_kind, words", [
    ("missing", "no userIdToken"),
    ("forged", "invalid signature"),
    ("expired", "expired"),
    ("wrong-issuer", "not issued by Google"),
    ("unknown-user", "is not a Smart Bcc user"),
])
def test_a_bad_user_token_is_401(gmail, google_user_token, user_token_kind, words):
    now = int(time.time())
    token = {
        "missing": "",
        "forged": google_user_token(key="other"),
        "expired": google_user_token(iat=now - 7200, exp=now - 3600),
        "wrong-issuer": google_user_token(iss="https://login.microsoftonline.com/x/v2.0"),
        "unknown-user": google_user_token("stranger@gmail.example"),
    }[user_token_kind]
    status, error = _status_and_error(gmail("homepage", user_token=token))
    assert status == 401
    assert words in error


def test_not_configured_is_401(gmail, services, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(gmail_addon_service_account=""))
    status, error = _status_and_error(gmail("homepage"))
    assert status == 401 and "SMARTBCC_GMAIL_ADDON_SERVICE_ACCOUNT" in error


def test_the_called_endpoints_own_url_is_an_accepted_audience(gmail, google_token, services, monkeypatch):
    # Google may sign each call for the URL it calls rather than for one configured audience.
    assert gmail("homepage", system=google_token(aud=f"{BASE_URL}/addons/gmail/homepage")).status_code == 200
    status, error = _status_and_error(gmail("homepage", system=google_token(aud=f"{BASE_URL}/addons/gmail/on-compose")))
    assert status == 401 and "another audience" in error
    monkeypatch.setattr(services, "settings", services.settings.with_(gmail_addon_audience=""))
    assert gmail("homepage", system=google_token(aud=f"{BASE_URL}/addons/gmail/homepage")).status_code == 200
    assert gmail("homepage").status_code == 401  # the old configured audience no longer counts


def test_the_service_account_comparison_ignores_case(gmail, google_token):
    assert gmail("homepage", system=google_token(email=SERVICE_ACCOUNT.upper())).status_code == 200


# ---- compose: the card and the draft update

def test_compose_card_lists_the_candidates(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    deal_id, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    deal2_id, _ = crm.deal(acme.company_id, pat, "Upsell")
    lead_id, _ = crm.lead(acme.company_id, pat, "Web lead")
    response = gmail("on-compose", toRecipients=["pat@customer.example"], ccRecipients=[], bccRecipients=[])
    assert response.status_code == 200, response.get_json()
    reason = ("The recipients' contacts have 2 open deals: pick one, or the company address logs the mail and "
              "you choose the deal later.")
    assert response.get_json() == {"action": {"navigations": [{"pushCard": {
        "header": {"title": "Smart Bcc", "subtitle": "Log this mail"},
        "sections": [
            {"header": "Bcc address", "widgets": [
                {"decoratedText": {"topLabel": "Company address", "text": acme.bcc_address, "wrapText": True,
                                   "bottomLabel": reason.replace("'", "&#x27;")}},
                {"buttonList": {"buttons": [{"text": "Bcc to CRM", "color": BRAND, "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": "auto"}]}}}]}}]},
            # Ranked: the top deal with its reasons and one button (no evidence here: the first stays first).
            {"header": "Suggested deal", "widgets": [
                {"decoratedText": {"topLabel": "Suggested · score 0.00", "text": "Renewal (Pat)", "wrapText": True,
                                   "bottomLabel": "No evidence either way."}},
                {"buttonList": {"buttons": [{"text": "Use: Renewal", "color": BRAND, "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": f"deal:{deal_id}"}]}}}]}}]},
            {"header": "Pick a deal or lead", "widgets": [{"buttonList": {"buttons": [
                {"text": "Deal: Renewal (Pat)", "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": f"deal:{deal_id}"}]}}},
                {"text": "Deal: Upsell (Pat)", "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": f"deal:{deal2_id}"}]}}},
                {"text": "Lead: Web lead (Pat)", "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": f"lead:{lead_id}"}]}}},
            ]}}]},
            {"header": "Who sees it", "widgets": [
                {"textParagraph": {"text": "Private (your setting for new conversations): only you will see the "
                                           "conversation this mail starts. A reply in an existing conversation does "
                                           "not change it; the change is offered on the conversation&#x27;s page."}},
                {"buttonList": {"buttons": [
                    {"text": "Mark private", "onClick": {"action": {"function": ACTION, "parameters": [
                        {"key": "item", "value": "auto"}, {"key": "privacy", "value": "private"}]}}},
                    {"text": "Mark shared", "onClick": {"action": {"function": ACTION, "parameters": [
                        {"key": "item", "value": "auto"}, {"key": "privacy", "value": "shared"}]}}}]}}]},
            {"widgets": [{"buttonList": {"buttons": [
                {"text": "No deal (company address)", "onClick": {"action": {
                    "function": ACTION, "parameters": [{"key": "item", "value": "none"}]}}},
                {"text": "Create a deal", "onClick": {"openLink": {"url": f"{BASE_URL}/deals"}}}]}}]},
        ]}}]}}
    assert deal_address not in response.get_data(as_text=True)  # several deals: none inserted yet


def update_of(emails: list[str]) -> dict:
    """The draft half of a compose-card button's answer (the card redrawn beside it:
    tests/addins/test_gmail_compose_redraw.py)."""
    return {"renderActions": {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {
        "updateBccRecipients": {"bccRecipients": [{"email": e} for e in emails]}}}}}}


def draft_update(body: dict) -> dict:
    """The draft half of an answer, in the shape of ``update_of``."""
    return {"renderActions": {"hostAppAction": body["renderActions"]["hostAppAction"]}}


def test_bcc_action_inserts_the_only_open_deal(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _id, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    response = gmail("bcc-action", params={"item": "auto"}, toRecipients=["Pat <pat@customer.example>"],
                     bccRecipients=[])
    assert response.status_code == 200, response.get_json()
    assert draft_update(response.get_json()) == update_of([deal_address])


def test_bcc_action_merges_with_the_draft_bcc_and_replaces_an_older_address(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    one, one_address = crm.deal(acme.company_id, pat, "One")
    two, two_address = crm.deal(acme.company_id, pat, "Two")
    response = gmail("bcc-action", params={"item": f"deal:{two}"}, toRecipients=["pat@customer.example"],
                     bccRecipients=["Boss <boss@acme.example>", one_address, acme.bcc_address, "boss@acme.example"])
    assert draft_update(response.get_json()) == update_of(["boss@acme.example", two_address])


def test_bcc_action_none_gives_the_company_address(gmail, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _id, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    response = gmail("bcc-action", params={"item": "none"}, toRecipients=["pat@customer.example"],
                     bccRecipients=[deal_address])
    assert draft_update(response.get_json()) == update_of([acme.bcc_address])


def test_bcc_action_is_idempotent(gmail, acme):
    response = gmail("bcc-action", params={"item": "auto"}, toRecipients=[], bccRecipients=[acme.bcc_address])
    assert draft_update(response.get_json()) == update_of([acme.bcc_address])


def test_bcc_action_with_another_companys_item_is_404(gmail, globex, crm):
    theirs, _ = crm.deal(globex.company_id, None, "Theirs")
    response = gmail("bcc-action", params={"item": f"deal:{theirs}"}, toRecipients=[])
    assert response.status_code == 404


def test_bcc_action_rejects_a_malformed_parameter(gmail):
    assert gmail("bcc-action", params={"item": "project:1"}).status_code == 400


# ---- an open message

def _stored_message(services, account, message_id: str, *, shared: bool = False, owner_id: int | None = None):
    with services.db.session() as session:
        thread = MailThread(company_id=account.company_id, owner_id=owner_id or account.user_id,
                            subject="Re: order", shared=shared)
        session.add(thread)
        session.flush()
        session.add(MailMessage(company_id=account.company_id, thread_id=thread.id,
                                owner_id=owner_id or account.user_id, dedupe_key=message_id,
                                message_id_header=message_id, raw_sha256="0" * 64, sender_email="pat@customer.example"))
        return thread.id


def _publish_message(key_server, gmail_id: str, headers: dict) -> None:
    key_server.documents[f"/gmail/gmail/v1/users/me/messages/{gmail_id}"] = {
        "id": gmail_id, "payload": {"headers": [{"name": k, "value": v} for k, v in headers.items()]}}


def test_on_message_shows_the_threads_links(gmail, acme, crm, services, published_keys):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    deal_id, _ = crm.deal(acme.company_id, pat, "Renewal")
    thread_id = _stored_message(services, acme, "abc123@customer.example")
    with services.db.session() as session:
        session.add(ThreadLink(company_id=acme.company_id, thread_id=thread_id, item_type="deal", item_id=deal_id,
                               origin="auto"))
        session.add(ThreadLink(company_id=acme.company_id, thread_id=thread_id, item_type="person", item_id=pat,
                               origin="auto"))
    _publish_message(published_keys, "18c0ffee", {"Message-ID": "<abc123@customer.example>",
                                                  "From": "Pat <pat@customer.example>"})
    response = gmail("on-message", messageId="18c0ffee", threadId="18c0ffee", accessToken="per-message-token")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"action": {"navigations": [{"pushCard": {
        "header": {"title": "Smart Bcc", "subtitle": "This message"},
        "sections": [
            {"header": "Logged in the CRM", "widgets": [
                {"decoratedText": {"topLabel": "Deal", "text": "Renewal", "wrapText": True}},
                {"decoratedText": {"topLabel": "Person", "text": "Pat", "wrapText": True}}]},
            {"widgets": [{"buttonList": {"buttons": [
                {"text": "Open Smart Bcc", "onClick": {"openLink": {"url": f"{BASE_URL}/inbox"}}}]}}]},
        ]}}]}}
    path, headers = published_keys.requests[-1]
    assert path.startswith("/gmail/gmail/v1/users/me/messages/18c0ffee?format=metadata")
    assert headers["Authorization"] == "Bearer ya29.user-oauth"
    assert headers["X-Goog-Gmail-Access-Token"] == "per-message-token"


def test_on_message_falls_back_to_the_sender(gmail, acme, crm, services, published_keys, make_account):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "Renewal")
    crm.deal(acme.company_id, pat, "Closed", status="won")
    crm.lead(acme.company_id, pat, "Web lead")
    # A colleague's private copy of the message is not this user's to see.
    colleague = make_account("acme.example", "carol@acme.example", admin=False)
    _stored_message(services, acme, "private@customer.example", owner_id=colleague.user_id)
    _publish_message(published_keys, "18d", {"Message-Id": "<private@customer.example>",
                                             "From": "Pat <PAT@customer.example>"})
    response = gmail("on-message", messageId="18d", accessToken="t")
    sections = response.get_json()["action"]["navigations"][0]["pushCard"]["sections"]
    assert sections[0] == {"header": "Not logged yet", "widgets": [
        {"textParagraph": {"text": "Smart Bcc has no copy of this message."}}]}
    assert sections[1] == {"header": "Sender in the CRM", "widgets": [
        {"decoratedText": {"topLabel": "Sender", "text": "Pat", "wrapText": True}},
        {"decoratedText": {"topLabel": "Deal", "text": "Renewal", "wrapText": True}},
        {"decoratedText": {"topLabel": "Lead", "text": "Web lead", "wrapText": True}}]}


def test_on_message_when_gmail_cannot_be_read(gmail):
    response = gmail("on-message", messageId="missing", accessToken="t")
    assert response.status_code == 200
    card = response.get_json()["action"]["navigations"][0]["pushCard"]
    assert "could not read" in card["sections"][0]["widgets"][0]["textParagraph"]["text"]


def test_card_text_is_escaped(gmail, acme, crm):
    pat = crm.person(acme.company_id, "<b>Pat</b>", "pat@customer.example")
    crm.deal(acme.company_id, pat, "<script>x</script>")
    card = gmail("on-compose", toRecipients=["pat@customer.example"]).get_json()["action"]["navigations"][0]["pushCard"]
    # Decorated text and paragraphs are a small HTML subset: escaped. Button labels are plain text.
    assert card["sections"][0]["widgets"][0]["decoratedText"]["topLabel"] == "Deal: &lt;script&gt;x&lt;/script&gt;"
    assert card["sections"][1]["widgets"][0]["buttonList"]["buttons"][0]["text"] == "Deal: <script>x</script> (<b>Pat</b>)"


# ---- a conversation that needs a deal gets one from the message card

PICK = f"{BASE_URL}/addons/gmail/pick-deal"


def _conversation_needing_a_deal(services, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    renewal, _ = crm.deal(acme.company_id, pat, "Renewal")
    upsell, _ = crm.deal(acme.company_id, pat, "Upsell")
    with services.db.session() as session:
        thread = MailThread(company_id=acme.company_id, owner_id=acme.user_id, subject="Re: order",
                            needs_deal_choice=True, message_count=1)
        session.add(thread)
        session.flush()
        message = MailMessage(company_id=acme.company_id, thread_id=thread.id, owner_id=acme.user_id,
                              dedupe_key="mid:order1@customer.example", message_id_header="order1@customer.example",
                              raw_sha256="0" * 64, sender_email="pat@customer.example")
        message.participants.append(Participant(company_id=acme.company_id, role="from",
                                                email="pat@customer.example", person_id=pat))
        session.add(message)
        session.add(ThreadLink(company_id=acme.company_id, thread_id=thread.id, item_type="person", item_id=pat,
                               origin="auto"))
        return thread.id, pat, renewal, upsell


def _pick_button(label: str, thread_id: int, deal_id: int, logged: str, function: str = PICK) -> dict:
    return {"text": label, "onClick": {"action": {"function": function, "parameters": [
        {"key": "thread", "value": str(thread_id)}, {"key": "deal", "value": str(deal_id)},
        {"key": "logged", "value": logged}]}}}


def _accept_button(label: str, thread_id: int, deal_id: int, logged: str) -> dict:
    """The card's one main action: in the brand colour."""
    return {**_pick_button(label, thread_id, deal_id, logged, f"{BASE_URL}/addons/gmail/accept-suggestion"),
            "color": BRAND}


def test_a_conversation_that_needs_a_deal_is_given_one_from_the_card(gmail, acme, crm, services, published_keys):
    thread_id, _pat, renewal, upsell = _conversation_needing_a_deal(services, acme, crm)
    _publish_message(published_keys, "18e", {"Message-ID": "<order1@customer.example>", "From": "pat@customer.example"})
    card = gmail("on-message", messageId="18e", accessToken="t").get_json()["action"]["navigations"][0]["pushCard"]
    assert card["sections"][0] == {"header": "Logged in the CRM", "widgets": [
        {"decoratedText": {"topLabel": "Person", "text": "Pat", "wrapText": True}}]}
    # Best first with the reasons, ONE button for the top suggestion, the others to pick by hand.
    assert card["sections"][1] == {"header": "Pick the deal", "widgets": [
        {"textParagraph": {"text": "Its contacts have several open deals: pick the one this conversation belongs to."}},
        {"decoratedText": {"topLabel": "Suggested · score 0.00", "text": "Renewal (Pat)", "wrapText": True,
                           "bottomLabel": "No evidence either way."}},
        {"decoratedText": {"topLabel": "Score 0.00", "text": "Upsell (Pat)", "wrapText": True,
                           "bottomLabel": "No evidence either way."}},
        {"buttonList": {"buttons": [_accept_button("Accept: Renewal", thread_id, renewal, "1")]}},
        {"buttonList": {"buttons": [_pick_button("Pick Upsell (Pat)", thread_id, upsell, "1")]}}]}

    response = gmail("pick-deal", params={"thread": str(thread_id), "deal": str(upsell), "logged": "1"})
    assert response.status_code == 200, response.get_json()
    action = response.get_json()["renderActions"]["action"]
    assert action["notification"] == {"text": "Linked to deal 'Upsell'."}
    updated = action["navigations"][0]["updateCard"]
    assert updated["sections"][0] == {"header": "Logged in the CRM", "widgets": [
        {"decoratedText": {"topLabel": "Person", "text": "Pat", "wrapText": True}},
        {"decoratedText": {"topLabel": "Deal", "text": "Upsell", "wrapText": True}}]}
    assert all(s.get("header") != "Pick the deal" for s in updated["sections"])
    with services.db.session() as session:
        thread = session.get(MailThread, thread_id)
        assert thread.needs_deal_choice is False
        assert [(lk.item_type, lk.item_id, lk.origin) for lk in thread.links if lk.item_type == "deal"] == [
            ("deal", upsell, "manual")]


def test_an_unlogged_reply_shows_its_conversation(gmail, acme, crm, services, published_keys):
    thread_id, _pat, renewal, _upsell = _conversation_needing_a_deal(services, acme, crm)
    _publish_message(published_keys, "18f", {"Message-ID": "<reply2@customer.example>", "From": "pat@customer.example",
                                             "In-Reply-To": "<order1@customer.example>",
                                             "References": "<older@customer.example> <order1@customer.example>"})
    card = gmail("on-message", messageId="18f", accessToken="t").get_json()["action"]["navigations"][0]["pushCard"]
    assert card["sections"][0]["header"] == "Its conversation in the CRM"
    assert card["sections"][1]["widgets"][3]["buttonList"]["buttons"][0] == \
        _accept_button("Accept: Renewal", thread_id, renewal, "0")
    path, _headers = published_keys.requests[-1]
    assert "metadataHeaders=In-Reply-To" in path and "metadataHeaders=References" in path


def test_pick_deal_checks_its_parameters_and_what_the_rep_may_see(gmail, acme, crm, services, make_account):
    thread_id, _pat, renewal, _upsell = _conversation_needing_a_deal(services, acme, crm)
    response = gmail("pick-deal", params={"thread": "x", "deal": str(renewal)})
    assert response.status_code == 400 and "thread" in response.get_json()["errors"]
    colleague = make_account("acme.example", "carol@acme.example", admin=False)
    response = gmail("pick-deal", colleague.email, params={"thread": str(thread_id), "deal": str(renewal)})
    assert response.status_code == 404  # Alice's private conversation
    theirs, _ = crm.deal(make_account("globex.example", "gary@globex.example").company_id, None, "Theirs")
    response = gmail("pick-deal", params={"thread": str(thread_id), "deal": str(theirs)})
    assert response.status_code == 400 and "deal" in response.get_json()["errors"]


# ---- the checker itself refuses what Gmail would not show

@pytest.mark.parametrize("body, words", [
    ({"action": {"navigations": [{"pushCard": {"sections": []}}]}}, "non-empty list"),
    ({"action": {"navigations": [{"pushCard": {"sections": [{"widgets": [
        {"textParagraph": {"text": "a"}, "decoratedText": {"text": "b"}}]}]}}]}}, "exactly one widget kind"),
    ({"action": {"navigations": [{"pushCard": {"sections": [{"widgets": [{"buttonList": {"buttons": [
        {"text": "Go", "onclick": {"action": {"function": PICK}}}]}}]}]}}]}}, "undocumented keys"),
    ({"action": {"navigations": [{"pushCard": {"sections": [{"widgets": [{"buttonList": {"buttons": [
        {"text": "Go", "onClick": {"action": {"function": PICK, "parameters": {"item": "x"}}}}]}}]}]}}]}},
     "must be an object"),
    ({"action": {"navigations": [{"pushCard": {"sections": [{"widgets": [{"buttonList": {"buttons": [
        {"text": "Go", "onClick": {"action": {"function": "pickDeal"}}}]}}]}]}}]}}, "absolute URL"),
    ({"renderActions": {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {
        "updateBccRecipients": {"bccRecipients": ["a@b.example"]}}}}}}, "must be an object"),
    ({"renderActions": {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {
        "updateBcc": {"bccRecipients": [{"email": "a@b.example"}]}}}}}}, "undocumented keys"),
])
def test_the_card_checker_refuses_undocumented_shapes(body, words):
    with pytest.raises(CardError, match=words):
        check_response(body)
