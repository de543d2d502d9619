"""In Chromium: mail over SMTP shows on its deal, linking from the side panel, creating a lead, sharing."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_mail_to_a_deal_address_shows_in_the_deal_view(open_session, alice, api, thread_of):
    person = api(alice, "post", "/api/v1/persons", {"name": "Bob Buyer", "emails": [{"email": "bob@customer.example"}]})
    deal = api(alice, "post", "/api/v1/deals", {"title": "Bob's big order", "person_id": person["id"],
                                               "value": 12500, "currency": "EUR"})
    thread_of(alice, "Quote for 40 licences", rcpt=deal["bcc_address"],
                html="<p>Hi Bob,</p><p>here is the <b>quote</b> you asked for.</p>")
    s = open_session(alice.email)
    s.page.goto(f"/deals/{deal['id']}")
    assert s.page.locator("#item-address").inner_text() == deal["bcc_address"]
    assert "This deal's own address" in s.page.locator(".bcc-panel").inner_text()
    s.page.get_by_role("button", name=re.compile("^Copy")).click()
    s.page.get_by_text(f"Copied {deal['bcc_address']}").wait_for()
    assert s.page.evaluate("navigator.clipboard.readText()") == deal["bcc_address"]
    threads = s.page.locator(".item-main .thread-row")
    assert threads.count() == 1
    assert "Quote for 40 licences" in threads.first.inner_text()
    s.shot("deal-desktop")
    threads.first.get_by_role("link", name=re.compile("Quote for 40 licences")).click()
    s.page.wait_for_url("**/inbox/threads/*")
    frame = s.page.frame_locator("iframe.mail-frame")
    assert "here is the quote" in frame.locator("body").inner_text()
    panel = s.page.locator("aside.thread-panel")
    assert panel.get_by_text("Sent to the Smart Bcc address of deal 'Bob's big order'.").count() == 1
    s.shot("thread-desktop")
    phone = open_session(alice.email, phone=True)
    phone.page.goto(f"/deals/{deal['id']}")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.shot("deal-phone")


def test_link_an_unlinked_thread_to_a_deal_with_the_type_ahead(open_session, alice, api, thread_of):
    deal = api(alice, "post", "/api/v1/deals", {"title": "Spring renewal"})
    api(alice, "post", "/api/v1/deals", {"title": "Autumn upsell"})
    thread_id = thread_of(alice, "About the renewal", to="Nora <nora@prospect.example>")
    s = open_session(alice.email)
    s.page.goto(f"/inbox/threads/{thread_id}")
    assert "Deal" not in s.page.locator(".link-list").inner_text()
    s.page.get_by_label("Kind of item").select_option("deal")
    s.page.get_by_label("Name or title").press_sequentially("spri", delay=30)
    result = s.page.get_by_role("button", name="Link to Spring renewal")
    result.wait_for()
    assert s.page.get_by_role("button", name="Link to Autumn upsell").count() == 0
    s.shot("thread-typeahead-desktop")
    result.click()
    s.page.get_by_text("Linked to deal 'Spring renewal'.").wait_for()
    assert "Linked by Alice Admin" in s.page.locator(".link-list").inner_text()
    s.page.goto(f"/deals/{deal['id']}")
    assert "About the renewal" in s.page.locator(".item-main").inner_text()


def test_pick_a_deal_when_several_are_open(open_session, alice, api, thread_of):
    person = api(alice, "post", "/api/v1/persons", {"name": "Carla Client", "emails": [{"email": "carla@client.example"}]})
    api(alice, "post", "/api/v1/deals", {"title": "Carla: annual licence", "person_id": person["id"]})
    api(alice, "post", "/api/v1/deals", {"title": "Carla: consulting", "person_id": person["id"]})
    thread_id = thread_of(alice, "Two deals?", to="Carla Client <carla@client.example>")
    s = open_session(alice.email)
    s.page.goto("/inbox")
    assert "Needs a deal" in s.page.locator(".thread-row").first.inner_text()
    s.shot("inbox-desktop")
    s.page.goto(f"/inbox/threads/{thread_id}")
    s.shot("thread-needs-deal-desktop")
    panel = s.page.locator(".needs-deal")
    panel.get_by_role("button", name=re.compile("Carla: consulting")).click()
    s.page.get_by_text("Linked to deal 'Carla: consulting'.").wait_for()
    assert s.page.locator(".needs-deal").count() == 0


def test_create_a_lead_from_a_thread(open_session, alice, thread_of):
    thread_id = thread_of(alice, "Interested in a demo", to="Dora Newcomer <dora@new.example>")
    s = open_session(alice.email)
    s.page.goto(f"/inbox/threads/{thread_id}")
    s.page.get_by_label("New", exact=True).select_option("lead")
    s.page.get_by_label("Title", exact=True).fill("Dora wants a demo")
    s.page.get_by_role("button", name="Create and link").click()
    s.page.get_by_text("Created lead 'Dora wants a demo' and linked this thread to it.").wait_for()
    s.page.locator(".link-list").get_by_role("link", name="Dora wants a demo").click()
    s.page.wait_for_url("**/leads/*")
    assert "Interested in a demo" in s.page.locator(".item-main").inner_text()
    assert "Dora Newcomer" in s.page.locator(".details").inner_text()
    address = s.page.locator("#item-address").inner_text()
    assert re.fullmatch(r"acme[+.].*@bcc\.test", address)
    s.shot("lead-desktop")
    phone = open_session(alice.email, phone=True)
    phone.page.goto(s.page.url)
    phone.shot("lead-phone")


def test_share_then_unshare_as_seen_by_a_colleague(open_session, alice, bert, thread_of):
    shared_id = thread_of(alice, "Team pricing talk")
    thread_of(alice, "Alice private note")
    owner = open_session(alice.email)
    colleague = open_session(bert.email)
    colleague.page.goto("/inbox")
    assert "Team pricing talk" not in colleague.page.locator("main").inner_text()
    assert "Alice private note" not in colleague.page.locator("main").inner_text()
    owner.page.goto(f"/inbox/threads/{shared_id}")
    owner.page.get_by_role("button", name="Share with my company").click()
    owner.page.get_by_text("Shared: everyone in your company can now see this thread.").wait_for()
    colleague.page.reload()
    main = colleague.page.locator("main").inner_text()
    assert "Team pricing talk" in main and "Alice private note" not in main
    colleague.page.get_by_role("link", name=re.compile("Team pricing talk")).click()
    assert "shared by Alice Admin" in colleague.page.locator(".thread-head").inner_text()
    assert colleague.page.get_by_role("button", name="Delete message").count() == 0
    colleague.shot("thread-shared-colleague-desktop")
    owner.page.get_by_role("button", name="Make private").click()
    owner.page.get_by_text("Private again").wait_for()
    colleague.page.goto("/inbox")
    assert "Team pricing talk" not in colleague.page.locator("main").inner_text()
    colleague.page.goto(f"/inbox/threads/{shared_id}")
    assert "No such thread" in colleague.page.locator("main").inner_text()
    colleague.shot("not-found-desktop")


def test_person_view_lists_their_threads(open_session, alice, api, thread_of):
    person = api(alice, "post", "/api/v1/persons", {"name": "Bob Buyer", "emails": [{"email": "bob@customer.example"}]})
    thread_of(alice, "Hello Bob")
    s = open_session(alice.email)
    s.page.goto("/persons")
    s.page.get_by_role("link", name="Bob Buyer").click()
    s.page.wait_for_url(f"**/persons/{person['id']}")
    assert "Hello Bob" in s.page.locator(".item-main").inner_text()
    s.shot("person-desktop")
