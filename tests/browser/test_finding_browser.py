"""In Chromium: the inbox's filter bar (by mouse and keyboard, active filters shown and removed, the
search kept), and the header's search box with its suggestions (combobox: arrow keys, Enter, Escape;
a colleague's private conversation is never suggested; Enter without a choice opens /search)."""
from __future__ import annotations

import re

import pytest

from tests.web.test_inbox_filters import finding  # noqa: F401  (acme's mailbox)

pytestmark = pytest.mark.browser


def subjects(s) -> set[str]:
    text = s.page.locator("main").inner_text()
    return {subject for subject in ("Quote attached", "Renewal terms", "Bert shared note", "Bert private note")
            if subject in text}


def test_the_filter_bar_by_mouse_and_keyboard(open_session, alice, finding):
    s = open_session(alice.email)
    s.page.goto("/inbox")
    assert subjects(s) == {"Quote attached", "Renewal terms", "Bert shared note"}
    s.page.get_by_label("Mine", exact=True).check()
    s.page.get_by_role("button", name="Search", exact=True).click()
    s.page.wait_for_url(re.compile(r"filter=mine"))
    assert subjects(s) == {"Quote attached", "Renewal terms"}
    assert s.page.get_by_label("Mine", exact=True).is_checked()
    # Keyboard only: Space ticks a filter, Enter in the search box sends the form with it and the words.
    s.page.get_by_label("With attachments").focus()
    s.page.keyboard.press("Space")
    s.page.get_by_label("Search mail").focus()
    s.page.keyboard.type("quote")
    s.page.keyboard.press("Enter")
    s.page.wait_for_url(re.compile(r"q=quote"))
    assert "filter=with_attachments" in s.page.url and "filter=mine" in s.page.url
    assert subjects(s) == {"Quote attached"}
    chips = s.page.locator(".active-filters .chip")
    assert [c.strip() for c in chips.all_inner_texts()] == ["Mine ×", "With attachments ×"]
    s.shot("inbox-filters-desktop")
    # Removing a chip keeps the rest and the search.
    s.page.get_by_role("link", name="Remove the filter Mine").click()
    s.page.wait_for_url(lambda url: "mine" not in url)
    assert "q=quote" in s.page.url and "with_attachments" in s.page.url
    assert s.page.get_by_label("Search mail").input_value() == "quote"
    # A date range, then Clear filters keeps the words only.
    s.page.goto("/inbox")
    s.page.get_by_label("Active on or after").fill("2025-02-01")
    s.page.get_by_label("and before").fill("2025-03-01")
    s.page.get_by_role("button", name="Search", exact=True).click()
    s.page.wait_for_url(re.compile(r"after=2025-02-01"))
    assert subjects(s) == {"Renewal terms"}
    assert [c.strip() for c in chips.all_inner_texts()] == ["From 1 Feb 2025 ×", "Before 1 Mar 2025 ×"]
    s.page.get_by_role("link", name="Clear filters").click()
    s.page.wait_for_url(re.compile(r"/inbox$"))
    assert subjects(s) == {"Quote attached", "Renewal terms", "Bert shared note"}
    # A bad date typed into the address is a visible message.
    s.page.goto("/inbox?after=2025-13-40")
    assert "after must be a date written YYYY-MM-DD" in s.page.get_by_role("alert").inner_text()
    phone = open_session(alice.email, phone=True)
    phone.page.goto("/inbox?filter=mine&after=2025-01-01")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.shot("inbox-filters-phone")
    assert not s.page_errors and not phone.page_errors


def test_the_header_search_suggests_as_you_type(open_session, alice, finding):
    s = open_session(alice.email)
    s.page.goto("/inbox")
    box = s.page.get_by_role("combobox", name="Search everything")
    assert box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("bob", delay=40)
    listbox = s.page.get_by_role("listbox", name="Suggestions")
    listbox.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    groups = [g.strip() for g in listbox.locator(".finder-group").all_text_contents()]
    assert groups == ["Conversations", "Persons"]
    options = listbox.get_by_role("option")
    texts = options.all_inner_texts()
    assert any("Quote attached" in t for t in texts) and any("Bob Buyer" in t for t in texts)
    assert any("Bert shared note" in t for t in texts) and not any("Bert private note" in t for t in texts)
    assert "All results for “bob”" in texts[-1]
    s.shot("global-search-desktop")
    # Arrow keys move the active option (aria-activedescendant), wrapping around.
    box.press("ArrowDown")
    first = options.nth(0)
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == options.last.get_attribute("id")
    box.press("ArrowDown")
    # Escape closes the list, a second one clears the box.
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and listbox.is_hidden()
    assert box.input_value() == "bob"
    box.press("Escape")
    assert box.input_value() == ""
    # Choosing with the keyboard opens the record.
    box.press_sequentially("spring", delay=40)
    spring = s.page.get_by_role("option", name=re.compile("Spring renewal"))
    spring.wait_for()
    for _ in range(10):
        box.press("ArrowDown")
        if box.get_attribute("aria-activedescendant") == spring.get_attribute("id"):
            break
    assert spring.get_attribute("aria-selected") == "true"
    box.press("Enter")
    s.page.wait_for_url(f"**/deals/{finding['deal']}")
    # By mouse: a person opens their page.
    box = s.page.get_by_role("combobox", name="Search everything")
    box.press_sequentially("buyer", delay=30)
    s.page.get_by_role("option", name=re.compile("Bob Buyer")).click()
    s.page.wait_for_url(re.compile(rf"/persons/{finding['bob']}$"))
    # The results page leads to an organisation's conversations: the inbox filtered by it.
    s.page.goto("/search?q=customer+corp")
    s.page.get_by_role("link", name="Conversations with Customer Corp").click()
    s.page.wait_for_url(re.compile(rf"/inbox\?organization_id={finding['org']}$"))
    assert subjects(s) == {"Quote attached", "Bert shared note"}
    assert [c.strip() for c in s.page.locator(".active-filters .chip").all_inner_texts()] == ["With Customer Corp ×"]
    # Enter without a choice: the full results page (which the form opens without JavaScript too).
    box = s.page.get_by_role("combobox", name="Search everything")
    box.fill("")
    box.press_sequentially("private", delay=30)
    s.page.get_by_role("listbox", name="Suggestions").wait_for()
    assert not any("Bert private note" in t for t in s.page.get_by_role("option").all_inner_texts())
    box.press("Escape")
    box.press("Enter")
    s.page.wait_for_url(re.compile(r"/search\?q=private"))
    assert s.page.locator("h1").inner_text() == "Search"
    assert "Nothing matches “private”." in s.page.locator("main").inner_text()
    assert not s.page_errors
    assert not [m for m in s.console if "Content Security Policy" in m]


def test_the_results_page_without_javascript(browser, live_server, alice, finding):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_label("Email address").fill(alice.email)
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        page.get_by_role("searchbox", name="Search everything").fill("bob")
        page.get_by_role("searchbox", name="Search everything").press("Enter")
        page.wait_for_url(re.compile(r"/search\?q=bob"))
        headings = page.locator("main h2").all_inner_texts()
        assert headings == ["Conversations", "Persons"]
        page.get_by_role("link", name="Conversations with Bob Buyer").click()
        page.wait_for_url(re.compile(rf"/inbox\?person_id={finding['bob']}"))
        assert "Quote attached" in page.locator("main").inner_text()
    finally:
        context.close()
