"""Privacy chosen while writing (issue 19, part 4) and the ranked deal suggestion on the Gmail card
and the Outlook pane (part 1): the Smart Bcc address's privacy tag, resolve and the Gmail actions
that write it, and the choice reaching the conversation when the mail arrives over real SMTP."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from backend import addresses
from backend.models import Deal, MailThread, ThreadLink, User
from tests.addins.conftest import BASE_URL
from tests.addins.test_gmail import (_accept_button, _conversation_needing_a_deal, _publish_message,  # noqa: F401
                                     draft_update, gmail, update_of)
from tests.conftest import TEST_MAIL_DOMAIN as DOMAIN

RESOLVE = "/api/v1/addin/resolve"
ACTION = f"{BASE_URL}/addons/gmail/bcc-action"
TOKEN = "k5v2xq7m3a4b6c2d"


# ---- the address format

@pytest.mark.parametrize("address, kind, token, privacy", [
    ("acme+private@bcc.test", "company", None, "private"),
    ("acme.shared@bcc.test", "company", None, "shared"),
    (f"acme+d{TOKEN}+private@bcc.test", "deal", TOKEN, "private"),
    (f"acme.big-renewal-l{TOKEN}.shared@bcc.test", "lead", TOKEN, "shared"),
    (f"ACME+D{TOKEN}+SHARED@BCC.TEST", "deal", TOKEN, "shared"),
    ("acme@bcc.test", "company", None, None),
    (f"acme+private-d{TOKEN}@bcc.test", "deal", TOKEN, None),  # "private-" is a free label, not the tag
    (f"acme+d{TOKEN}+p@bcc.test", "deal", TOKEN, "private"),   # the one-letter tags (long slugs)
    ("acme.s@bcc.test", "company", None, "shared"),
])
def test_the_privacy_tag_is_read_from_either_address_form(address, kind, token, privacy):
    decoded = addresses.decode(address, DOMAIN)
    assert (decoded.kind, decoded.slug, decoded.token, decoded.privacy) == (kind, "acme", token, privacy)


@pytest.mark.parametrize("address", ["+private@bcc.test", ".shared@bcc.test", "postmaster+private@bcc.test",
                                     "acme+secret@bcc.test", "acme+private+shared@bcc.test",
                                     f"acme+d{TOKEN}+private@other.test"])
def test_a_tag_does_not_make_an_address_of_something_else(address):
    assert addresses.decode(address, DOMAIN) is None


def test_with_privacy_tags_retags_and_untags():
    deal = addresses.item_address("acme", "deal", TOKEN, DOMAIN)
    shared = addresses.with_privacy(deal, "shared", DOMAIN)
    assert shared == f"acme+d{TOKEN}+shared@bcc.test"
    assert addresses.with_privacy(shared, "private", DOMAIN) == f"acme+d{TOKEN}+private@bcc.test"
    assert addresses.with_privacy(shared, None, DOMAIN) == deal
    assert addresses.with_privacy("acme.shared@bcc.test", None, DOMAIN) == "acme@bcc.test"
    for bad in (("acme@bcc.test", "public"), ("someone@else.test", "private")):
        with pytest.raises(ValueError):
            addresses.with_privacy(bad[0], bad[1], DOMAIN)


def test_a_tag_never_takes_the_local_part_past_64_characters():
    slug = "a" * addresses.SLUG_MAX_LENGTH  # 40: "+d<token>+private" would make 66
    deal = addresses.item_address(slug, "deal", TOKEN, DOMAIN)
    for privacy, letter in (("private", "p"), ("shared", "s")):
        tagged = addresses.with_privacy(deal, privacy, DOMAIN)
        assert tagged == f"{slug}+d{TOKEN}+{letter}@bcc.test" and len(tagged.split("@")[0]) <= 64
        assert addresses.decode(tagged, DOMAIN).privacy == privacy
        assert addresses.with_privacy(tagged, None, DOMAIN) == deal
    # A short slug keeps the whole word; a label typed into a full-length address makes way.
    assert addresses.with_privacy(f"acme+d{TOKEN}@bcc.test", "private", DOMAIN) == f"acme+d{TOKEN}+private@bcc.test"
    labelled = addresses.item_address("acme", "deal", TOKEN, DOMAIN, label="renewal of the enterprise licence " * 3)
    assert len(labelled.split("@")[0]) == 64
    tagged = addresses.with_privacy(labelled, "shared", DOMAIN)
    assert tagged == f"acme+d{TOKEN}+s@bcc.test" and addresses.decode(tagged, DOMAIN).token == TOKEN


# ---- resolve: the address carries the choice

def _set_default(services, account, sharing: str) -> None:
    with services.db.session() as session:
        session.get(User, account.user_id).default_sharing = sharing


def _resolve(client, account, **body) -> dict:
    response = client.post(RESOLVE, json={"to": [], "cc": [], "bcc": [], **body}, headers=account.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_resolve_tags_the_address_with_the_chosen_privacy(client, acme):
    data = _resolve(client, acme, to=["nobody@nowhere.example"], bcc=[acme.bcc_address], privacy="shared")
    assert data["address"] == "acme+shared@bcc.test"
    assert data["replace"] == [acme.bcc_address]  # the untagged address goes, the tagged one comes
    assert data["privacy"] == {"default": "private", "chosen": "shared", "effective": "shared"}


def test_without_a_choice_the_default_shows_and_the_address_stays_untagged(client, acme, services):
    _set_default(services, acme, "shared")
    data = _resolve(client, acme, bcc=[acme.bcc_address])
    assert data["address"] == acme.bcc_address and data["replace"] == []
    assert data["privacy"] == {"default": "shared", "chosen": None, "effective": "shared"}


def test_a_tag_already_in_the_bcc_is_kept_by_a_resolve_that_does_not_know_the_choice(client, acme, crm):
    # The compose events resolve again whenever the recipients change; they must not drop the tag.
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _deal, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    data = _resolve(client, acme, to=["pat@customer.example"], bcc=["acme+private@bcc.test"])
    assert data["address"] == deal_address.replace("@", "+private@")
    assert data["replace"] == ["acme+private@bcc.test"]
    assert data["privacy"]["chosen"] == "private"
    # "default" takes the tag away again.
    data = _resolve(client, acme, to=["pat@customer.example"], bcc=[data["address"]], privacy="default")
    assert data["address"] == deal_address and data["privacy"]["chosen"] is None


def test_a_picked_deal_and_a_privacy_choice_go_together(client, acme, crm):
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    crm.deal(acme.company_id, pat, "One")
    two, two_address = crm.deal(acme.company_id, pat, "Two")
    data = _resolve(client, acme, to=["pat@customer.example"], item={"item_type": "deal", "item_id": two},
                    privacy="private")
    assert data["address"] == two_address.replace("@", "+private@")
    assert data["reason_code"] == "chosen"


@pytest.mark.parametrize("value", ["public", "", 1, True, ["private"]])
def test_an_unknown_privacy_is_a_400_naming_the_field(client, acme, value):
    response = client.post(RESOLVE, json={"to": [], "privacy": value}, headers=acme.auth)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"privacy": ['Use "private", "shared", "default" or leave it out.']}


# ---- Gmail: the compose card's choice re-inserts the Bcc with the tagged address

def test_the_gmail_privacy_buttons_rewrite_the_bcc_with_the_tagged_address(gmail, acme, crm):  # noqa: F811
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _deal, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    draft = {"toRecipients": ["pat@customer.example"], "bccRecipients": ["boss@acme.example", deal_address]}
    response = gmail("bcc-action", params={"item": "auto", "privacy": "shared"}, **draft)
    tagged = deal_address.replace("@", "+shared@")
    assert draft_update(response.get_json()) == update_of(["boss@acme.example", tagged])
    # "Bcc to CRM" later (no privacy parameter) keeps the tag the Bcc now has.
    response = gmail("bcc-action", params={"item": "auto"}, toRecipients=["pat@customer.example"],
                     bccRecipients=["boss@acme.example", tagged])
    assert draft_update(response.get_json()) == update_of(["boss@acme.example", tagged])
    response = gmail("bcc-action", params={"item": "none", "privacy": "private"}, toRecipients=[],
                     bccRecipients=[tagged])
    assert draft_update(response.get_json()) == update_of(["acme+private@bcc.test"])
    assert gmail("bcc-action", params={"item": "auto", "privacy": "everyone"}).status_code == 400


def test_the_gmail_compose_card_says_what_the_mail_is_marked(gmail, acme):  # noqa: F811
    card = gmail("on-compose", toRecipients=[], bccRecipients=["acme+shared@bcc.test"]).get_json()
    sections = card["action"]["navigations"][0]["pushCard"]["sections"]
    who = next(s for s in sections if s.get("header") == "Who sees it")
    assert who["widgets"][0]["textParagraph"]["text"].startswith(
        "Shared (marked for this mail): everyone in your company will see the conversation this mail starts.")
    assert sections[0]["widgets"][0]["decoratedText"]["text"] == "acme+shared@bcc.test"


# ---- Gmail: the open message's ranked deals, with reasons and one accept

def test_the_gmail_card_accepts_the_top_suggestion(gmail, acme, crm, services, published_keys):  # noqa: F811
    thread_id, _pat, renewal, upsell = _conversation_needing_a_deal(services, acme, crm)
    _publish_message(published_keys, "19a", {"Message-ID": "<order1@customer.example>", "From": "pat@customer.example"})
    card = gmail("on-message", messageId="19a", accessToken="t").get_json()["action"]["navigations"][0]["pushCard"]
    pick = card["sections"][1]["widgets"]
    assert [w["decoratedText"]["text"] for w in pick if "decoratedText" in w] == ["Renewal (Pat)", "Upsell (Pat)"]
    accept = _accept_button("Accept: Renewal", thread_id, renewal, "1")
    assert [w for w in pick if "buttonList" in w][0]["buttonList"]["buttons"] == [accept]  # ONE action

    response = gmail("accept-suggestion", params={"thread": str(thread_id), "deal": str(renewal), "logged": "1"})
    action = response.get_json()["renderActions"]["action"]
    assert action["notification"] == {"text": "Linked to deal 'Renewal', the suggested deal."}
    assert all(s.get("header") != "Pick the deal" for s in action["navigations"][0]["updateCard"]["sections"])
    with services.db.session() as session:
        link = session.scalar(select(ThreadLink).where(ThreadLink.thread_id == thread_id,
                                                       ThreadLink.item_type == "deal"))
        assert (link.item_id, link.rule) == (renewal, "accepted-suggestion")
        assert session.get(MailThread, thread_id).needs_deal_choice is False


def test_a_suggestion_closed_meanwhile_is_not_linked_and_the_card_says_why(gmail, acme, crm, services,  # noqa: F811
                                                                          published_keys):
    thread_id, _pat, renewal, upsell = _conversation_needing_a_deal(services, acme, crm)
    with services.db.session() as session:
        session.get(Deal, renewal).status = "won"
    response = gmail("accept-suggestion", params={"thread": str(thread_id), "deal": str(renewal), "logged": "0"})
    assert response.status_code == 200
    action = response.get_json()["renderActions"]["action"]
    assert "was marked won meanwhile" in action["notification"]["text"]
    # Redrawn with the ranking of now: Upsell is the one suggestion left.
    pick = next(s for s in action["navigations"][0]["updateCard"]["sections"] if s.get("header") == "Pick the deal")
    assert [w for w in pick["widgets"] if "buttonList" in w][0]["buttonList"]["buttons"] == [
        _accept_button("Accept: Upsell", thread_id, upsell, "0")]
    with services.db.session() as session:
        assert session.scalar(select(ThreadLink).where(ThreadLink.thread_id == thread_id,
                                                       ThreadLink.item_type == "deal")) is None


def test_accept_suggestion_checks_its_parameters_and_visibility(gmail, acme, crm, services, make_account):  # noqa: F811
    thread_id, _pat, renewal, _upsell = _conversation_needing_a_deal(services, acme, crm)
    assert gmail("accept-suggestion", params={"thread": "x", "deal": str(renewal)}).status_code == 400
    colleague = make_account("acme.example", "colin@acme.example")
    response = gmail("accept-suggestion", colleague.email, params={"thread": str(thread_id), "deal": str(renewal)})
    assert response.status_code == 404  # a colleague's private conversation does not exist for them


# ---- end to end: the choice made in the add-in decides the conversation that arrives over SMTP

def _mail(subject: str, rcpt_note: str = "", reply_to: str | None = None, msgid: str = "") -> bytes:
    extra = f"In-Reply-To: <{reply_to}>\r\nReferences: <{reply_to}>\r\n" if reply_to else ""
    return (f"From: Alice <alice@acme.example>\r\nTo: Pat <pat@customer.example>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}>\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\n{extra}\r\n"
            f"Hello Pat {rcpt_note}\r\n").encode()


def _thread_of(client, account, subject: str) -> dict:
    threads = client.get("/api/v1/mailbox/mailThreads", headers=account.auth).get_json()["data"]
    found = [t for t in threads if t["subject"] == subject]
    assert len(found) == 1, threads
    return client.get(f"/api/v1/mailbox/mailThreads/{found[0]['id']}", headers=account.auth).get_json()["data"]


def _visibility_decision(client, account, thread_id: int, index: int = -1) -> dict:
    messages = client.get(f"/api/v1/mailbox/mailThreads/{thread_id}/mailMessages", headers=account.auth).get_json()
    decisions = messages["data"][index]["arrivals"][0]["decisions"]
    return next(d for d in decisions if d["stage"] == "visibility")


def test_privacy_chosen_in_the_outlook_pane_reaches_the_conversation(client, acme, crm, services, send_mail):
    crm.person(acme.company_id, "Pat", "pat@customer.example")
    draft = _resolve(client, acme, to=["pat@customer.example"], bcc=[], privacy="shared")  # default: private
    send_mail(_mail("Outlook shared", msgid="o1@acme.example"), [draft["address"]], acme.email)
    thread = _thread_of(client, acme, "Outlook shared")
    assert thread["shared"] is True and thread["visibility_offer"] is None
    decision = _visibility_decision(client, acme, thread["id"])
    assert decision["outcome"] == "shared" and decision["chosen"] == "shared"
    assert decision["reason"] == "Shared: Test User marked the mail shared while writing it."


def test_privacy_chosen_on_the_gmail_card_reaches_the_conversation(gmail, client, acme, crm, services,  # noqa: F811
                                                                  send_mail):
    _set_default(services, acme, "shared")
    pat = crm.person(acme.company_id, "Pat", "pat@customer.example")
    _deal, deal_address = crm.deal(acme.company_id, pat, "Renewal")
    update = gmail("bcc-action", params={"item": "auto", "privacy": "private"}, toRecipients=["pat@customer.example"],
                   bccRecipients=[]).get_json()
    bcc = [r["email"] for r in update["renderActions"]["hostAppAction"]["gmailAction"]["updateDraftActionMarkup"]
           ["updateBccRecipients"]["bccRecipients"]]
    assert bcc == [deal_address.replace("@", "+private@")]
    send_mail(_mail("Gmail private", msgid="g1@acme.example"), bcc, acme.email)
    thread = _thread_of(client, acme, "Gmail private")
    assert thread["shared"] is False
    assert [(lk["item_type"], lk["item_id"]) for lk in thread["links"] if lk["item_type"] == "deal"] == [
        ("deal", _deal)]  # the tag changes nothing about where the mail is linked
    colleague = make_colleague(services, acme)
    assert client.get(f"/api/v1/mailbox/mailThreads/{thread['id']}", headers=colleague).status_code == 404


def make_colleague(services, account) -> dict:
    from backend.accounts import create_user

    with services.db.session() as session:
        made = create_user(session, account.company_id, "colin@acme.example", "Colin", admin=False)
        return {"Authorization": f"Bearer {made.api_token}"}
