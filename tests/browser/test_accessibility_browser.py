"""In Chromium: every control has a label, the skip link comes first, and pages work by keyboard."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    const name = (el.labels && el.labels.length ? el.labels[0].textContent : '')
      || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' ? el.textContent : '');
    return !name.trim();
  })
  .map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_is_labelled(open_session, alice, api, thread_of):
    deal = api(alice, "post", "/api/v1/deals", {"title": "Labelled deal"})
    thread_id = thread_of(alice, "Label check")
    s = open_session()
    s.page.goto("/")
    assert s.page.evaluate(UNLABELLED) == []
    s.sign_in(alice.email)
    for url in ("/", "/inbox", f"/inbox/threads/{thread_id}", "/settings/smart-bcc", "/settings/company-domain",
                "/deals", f"/deals/{deal['id']}", "/persons", "/leads", "/projects"):
        s.page.goto(url)
        assert s.page.evaluate(UNLABELLED) == [], url
        assert s.page.locator("h1").count() == 1, url
    assert not s.page_errors


def test_keyboard_only_sign_in_and_skip_link(open_session, alice):
    s = open_session()
    s.page.goto("/sign-in")
    s.page.locator("body").focus()
    # The e-mail field is autofocused; type, tab to the password, submit with Enter.
    s.page.keyboard.type(alice.email)
    s.page.keyboard.press("Tab")
    s.page.keyboard.type("correct horse battery")
    s.page.keyboard.press("Enter")
    s.page.wait_for_url("**/")
    s.page.goto("/inbox")
    s.page.keyboard.press("Tab")
    focused = s.page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the content"
    s.page.keyboard.press("Enter")
    assert s.page.evaluate("document.activeElement.id") == "main"
