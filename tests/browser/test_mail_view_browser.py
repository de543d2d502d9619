"""In Chromium: times in the browser's time zone, quoted history folded behind "…" until opened."""
from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from backend.mail.mime import parse_message
from tests.corpus import corpus_dir
from tests.pagewait import wait_until
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def zoned_page(browser, live_server):
    """zoned_page(email, zone) -> a page of a Chromium context in ``zone``, signed in."""
    contexts = []

    def open_page(email: str, zone: str):
        context = browser.new_context(base_url=live_server, timezone_id=zone, viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        return page

    yield open_page
    for context in contexts:
        context.close()


def _reply(alice, date: str) -> bytes:
    """Alice's answer over Bob's earlier mail, quoted Gmail-style (a real reply of the corpus)."""
    quoted = parse_message((corpus_dir() / "talon" / "gmail.eml").read_bytes()).text
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = alice.email, "Bob Buyer <bob@customer.example>", "Re: Evening call"
    msg["Message-ID"], msg["Date"] = "<evening1@acme.example>", date
    msg.set_content("Thanks Bob, 7 pm works.\n\n-- \nAlice Admin\nAcme Sales\n\n" + quoted.split("\n", 1)[1])
    return bytes(msg)


def test_times_follow_the_browsers_zone_and_the_quote_opens_on_request(zoned_page, alice, send_mail):
    # 03:30 UTC on 3 March is still the evening of 2 March in New York.
    send_mail(_reply(alice, "Mon, 3 Mar 2025 03:30:00 +0000"), [alice.bcc_address], alice.email)
    page = zoned_page(alice.email, "America/New_York")
    assert "tz=America/New_York" in page.evaluate("document.cookie")
    page.goto("/inbox")
    stamp = page.locator(".thread-row time").first
    assert stamp.inner_text() == "2 Mar 2025"
    assert stamp.get_attribute("title") == "2 Mar 2025, 22:30 EST"
    page.get_by_role("link", name=re.compile("Evening call")).click()
    page.wait_for_url("**/inbox/threads/*")
    assert page.locator(".message-head time").inner_text() == "2 Mar 2025, 22:30 EST"

    body = page.locator(".mail-body")
    assert "Thanks Bob, 7 pm works." in body.inner_text()
    quote = body.locator("details.folded-quote")
    history = quote.locator(".mail-text")
    # The signature right above the quote folds with it, behind one "…".
    assert body.locator("details").count() == 1 and not history.is_visible()
    assert "Megan One" not in body.inner_text() and "Acme Sales" not in body.inner_text()
    # Keyboard: Tab reaches the "…" and Enter opens it.
    summary = quote.locator("summary")
    summary.focus()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert history.is_visible() and "Megan One" in history.inner_text() and "Acme Sales" in history.inner_text()
    summary.click()
    assert not history.is_visible()


def test_the_same_mail_in_another_zone_and_the_users_own_choice(zoned_page, alice, send_mail):
    send_mail(_reply(alice, "Mon, 3 Mar 2025 03:30:00 +0000"), [alice.bcc_address], alice.email)
    page = zoned_page(alice.email, "Asia/Tokyo")
    page.goto("/inbox")
    assert page.locator(".thread-row time").first.inner_text() == "3 Mar 2025"
    assert page.locator(".thread-row time").first.get_attribute("title") == "3 Mar 2025, 12:30 JST"
    page.goto("/settings/account")
    assert "Your browser's time zone (Asia/Tokyo)" in page.locator("#time_zone").inner_text()
    page.get_by_label("Show times in").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save time zone").click()
    page.get_by_text("Times are shown in Europe/Berlin.").wait_for()
    page.goto("/inbox")
    assert page.locator(".thread-row time").first.get_attribute("title") == "3 Mar 2025, 04:30 CET"


def test_an_html_reply_folds_its_quote_in_the_mail_frame_and_the_frame_grows_when_opened(zoned_page, alice,
                                                                                          thread_of):
    html = (corpus_dir() / "quotequail" / "gmail_reply.html").read_text()
    thread_id = thread_of(alice, "Html reply", html=html)
    page = zoned_page(alice.email, "Europe/Berlin")
    page.goto(f"/inbox/threads/{thread_id}")
    frame = page.frame_locator("iframe.mail-frame")
    fold = frame.locator("details.folded-quote")
    fold.locator("summary").wait_for()
    assert "wrote:" not in frame.locator("body").inner_text()
    # Measured once app.js has fitted the frame to its content (it starts at the stylesheet's height).
    wait_until(page, "document.querySelector('iframe.mail-frame').style.height !== ''")
    page.wait_for_timeout(400)  # the second fit, 300 ms after load
    closed = page.locator("iframe.mail-frame").bounding_box()["height"]
    fold.locator("summary").click()
    assert "wrote:" in frame.locator("body").inner_text()
    wait_until(page, "document.querySelector('iframe.mail-frame').getBoundingClientRect().height > %d"
                           % (closed + 10))
