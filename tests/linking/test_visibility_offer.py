"""A later mail marked private or shared in the add-in (the Smart Bcc address's tag) does not change
its existing conversation: the change is offered to the owner — on the thread page and in the
thread JSON — and accepted or dismissed there. Mail goes through the real SMTP receiver."""
from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD, sign_in

from .conftest import mail


@pytest.fixture
def alice(make_account):
    return make_account("acme.example", "alice@acme.example", name="Alice", password=PASSWORD)


@pytest.fixture
def colin(make_account, alice):
    return make_account("acme.example", "colin@acme.example", admin=False, name="Colin", password=PASSWORD)


def _send(send_mail, account, rcpt: str, msgid: str, reply_to: str | None = None) -> None:
    extra = f"In-Reply-To: <{reply_to}>\r\nReferences: <{reply_to}>\r\n" if reply_to else ""
    send_mail(mail(account.email, "pat@customer.example", "Quote", msgid=msgid, extra=extra), [rcpt],
              account.email)


def _thread(client, account, thread_id: int):
    return client.get(f"/api/v1/mailbox/mailThreads/{thread_id}", headers=account.auth)


def _only_thread_id(client, account) -> int:
    threads = client.get("/api/v1/mailbox/mailThreads", headers=account.auth).get_json()["data"]
    assert len(threads) == 1, threads
    return threads[0]["id"]


def _last_visibility_decision(client, account, thread_id: int) -> dict:
    messages = client.get(f"/api/v1/mailbox/mailThreads/{thread_id}/mailMessages", headers=account.auth)
    return next(d for d in messages.get_json()["data"][-1]["arrivals"][0]["decisions"] if d["stage"] == "visibility")


def test_a_reply_marked_shared_offers_the_change_and_the_page_accepts_it(app, client, alice, colin, send_mail):
    _send(send_mail, alice, alice.bcc_address, "q1@acme.example")  # untagged: Alice's default, private
    thread_id = _only_thread_id(client, alice)
    assert _thread(client, alice, thread_id).get_json()["data"]["visibility_offer"] is None

    _send(send_mail, alice, "acme+shared@bcc.test", "q2@acme.example", reply_to="q1@acme.example")
    assert _only_thread_id(client, alice) == thread_id  # the reply joined the conversation
    data = _thread(client, alice, thread_id).get_json()["data"]
    assert data["shared"] is False  # not changed silently
    assert data["message_count"] == 2
    assert data["visibility_offer"] == {
        "current": "private", "offered": "shared", "can_act": True,
        "text": "A mail of this conversation was marked shared while it was written. Make the conversation "
                "shared, so that everyone in your company can see it?"}
    decision = _last_visibility_decision(client, alice, thread_id)
    assert (decision["outcome"], decision["offered"]) == ("offered", "shared")
    assert decision["reason"] == ("The conversation stays private: Alice marked this mail shared, so making the "
                                  "conversation shared is offered on its page.")
    assert _thread(client, colin, thread_id).status_code == 404  # still private

    page = app.test_client()
    csrf = sign_in(page, alice.email)
    html = page.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert 'id="visibility-offer"' in html and 'id="visibility-offer-accept"' in html
    assert "Share with my company" in html and "Keep it private" in html
    bad = page.post(f"/inbox/threads/{thread_id}/visibility-offer", data={"csrf_token": csrf, "answer": "maybe"},
                    follow_redirects=True)
    assert "Choose whether to change who sees the conversation" in bad.get_data(as_text=True)
    done = page.post(f"/inbox/threads/{thread_id}/visibility-offer", data={"csrf_token": csrf, "answer": "accept"},
                     follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Shared: everyone in your company can now see this thread." in html
    assert 'id="visibility-offer"' not in html
    data = _thread(client, colin, thread_id).get_json()["data"]
    assert data["shared"] is True and data["visibility_offer"] is None


def test_a_reply_marked_private_in_a_shared_conversation_is_offered_and_only_the_owner_answers(
        app, client, alice, colin, send_mail):
    _send(send_mail, alice, "acme+shared@bcc.test", "s1@acme.example")  # a new conversation: shared, as chosen
    thread_id = _only_thread_id(client, alice)
    assert _thread(client, alice, thread_id).get_json()["data"]["shared"] is True

    _send(send_mail, alice, "acme.private@bcc.test", "s2@acme.example", reply_to="s1@acme.example")
    seen_by_colin = _thread(client, colin, thread_id).get_json()["data"]
    assert seen_by_colin["shared"] is True
    assert seen_by_colin["visibility_offer"]["offered"] == "private"
    assert seen_by_colin["visibility_offer"]["can_act"] is False
    page = app.test_client()
    csrf = sign_in(page, colin.email)
    html = page.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    assert 'id="visibility-offer"' in html and 'id="visibility-offer-accept"' not in html
    assert "Only Alice, who owns it, can change who sees it." in html
    refused = page.post(f"/inbox/threads/{thread_id}/visibility-offer", data={"csrf_token": csrf, "answer": "accept"},
                        follow_redirects=True)
    assert "Only the person who owns this thread can change who sees it" in refused.get_data(as_text=True)
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/visibility-offer/accept", headers=colin.auth)
    assert response.status_code == 403
    assert "Only the person who owns this thread" in response.get_json()["error"]

    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/visibility-offer/dismiss", headers=alice.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["shared"] is True
    assert response.get_json()["data"]["visibility_offer"] is None
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/visibility-offer/accept", headers=alice.auth)
    assert response.status_code == 409
    assert response.get_json()["error"] == ("There is no change of visibility to accept any more: the conversation "
                                            "is shared. Reload it to see its state.")
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/visibility-offer/maybe", headers=alice.auth)
    assert response.status_code == 404


def test_the_api_accepts_an_offer_and_untagged_or_agreeing_mail_makes_none(client, alice, send_mail):
    _send(send_mail, alice, alice.bcc_address, "p1@acme.example")
    thread_id = _only_thread_id(client, alice)
    _send(send_mail, alice, alice.bcc_address, "p2@acme.example", reply_to="p1@acme.example")  # untagged
    assert _thread(client, alice, thread_id).get_json()["data"]["visibility_offer"] is None
    assert _last_visibility_decision(client, alice, thread_id)["outcome"] == "private"

    _send(send_mail, alice, "acme+shared@bcc.test", "p3@acme.example", reply_to="p2@acme.example")
    assert _thread(client, alice, thread_id).get_json()["data"]["visibility_offer"]["offered"] == "shared"
    # A later mail marked like the conversation is makes the older offer moot.
    _send(send_mail, alice, "acme+private@bcc.test", "p4@acme.example", reply_to="p3@acme.example")
    assert _thread(client, alice, thread_id).get_json()["data"]["visibility_offer"] is None

    _send(send_mail, alice, "acme+shared@bcc.test", "p5@acme.example", reply_to="p4@acme.example")
    response = client.post(f"/api/v1/mailbox/mailThreads/{thread_id}/visibility-offer/accept", headers=alice.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["shared"] is True
    assert response.get_json()["data"]["visibility_offer"] is None


def test_addresses_that_disagree_make_a_new_conversation_private(client, alice, send_mail):
    send_mail(mail(alice.email, "pat@customer.example", "Both", msgid="b1@acme.example"),
              ["acme+shared@bcc.test", "acme+private@bcc.test"], alice.email)
    thread_id = _only_thread_id(client, alice)
    assert _thread(client, alice, thread_id).get_json()["data"]["shared"] is False
    decision = _last_visibility_decision(client, alice, thread_id)
    assert decision["reason"] == ("Private: Alice marked the mail private while writing it. Its Smart Bcc "
                                  "addresses said private and shared; private wins.")
