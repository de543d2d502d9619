"""In Chromium: sign in, copy the Smart Bcc address, add and confirm an alternative address."""
from __future__ import annotations

import email
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_sign_in_and_copy_the_address(open_session, alice):
    s = open_session()
    s.page.goto("/")
    assert s.page.get_by_text("make run").count() == 1
    s.shot("sign-in-desktop")
    s.page.get_by_label("Email address").fill(alice.email)
    s.page.get_by_label("Password").fill("not the password")
    s.page.get_by_role("button", name="Sign in").click()
    assert "do not match an account" in s.page.get_by_role("alert").inner_text()
    s.sign_in(alice.email)
    s.shot("home-desktop")
    s.page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    s.page.wait_for_url("**/settings/smart-bcc")
    assert s.page.locator("#company-address").inner_text() == alice.bcc_address
    # Keyboard: focus the button and press Enter, as a keyboard user would.
    s.page.get_by_role("button", name=re.compile("^Copy smart bcc address")).focus()
    s.page.keyboard.press("Enter")
    s.page.get_by_text(f"Copied {alice.bcc_address}").wait_for()
    assert s.page.evaluate("navigator.clipboard.readText()") == alice.bcc_address
    s.shot("settings-desktop")
    assert not s.page_errors


def _confirmation_link(services) -> str:
    [path] = sorted(Path(services.settings.outbox_dir).glob("*.eml"))
    body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()
    return re.search(r"http://\S+/settings/smart-bcc/confirm\?token=\S+", body).group(0)


def test_add_alternative_address_and_confirm_it(open_session, alice, services):
    s = open_session(alice.email)
    s.page.goto("/settings/smart-bcc")
    s.page.get_by_label("Add an address you send from").fill("Alice.Home@Home.Example")
    s.page.get_by_role("button", name="Add and send confirmation").click()
    s.page.get_by_text("the confirmation mail for alice.home@home.example was written to").wait_for()
    row = s.page.locator(".address-item", has_text="alice.home@home.example")
    assert row.locator(".badge").inner_text() == "Pending"
    link = _confirmation_link(services)
    # Opened from the mail, in a browser that is not signed in.
    other = open_session()
    other.page.goto(link)
    other.page.get_by_role("button", name="Confirm alice.home@home.example").click()
    other.page.get_by_text("alice.home@home.example is confirmed").wait_for()
    other.shot("confirm-desktop")
    other.page.goto(link)
    assert "already used" in other.page.locator("main").inner_text()
    s.page.reload()
    assert row.locator(".badge").inner_text() == "Verified"


def test_bad_alternative_address_is_explained(open_session, alice):
    s = open_session(alice.email)
    s.page.goto("/settings/smart-bcc")
    s.page.get_by_label("Add an address you send from").fill(alice.bcc_address)
    s.page.get_by_role("button", name="Add and send confirmation").click()
    assert "cannot be one of your sending addresses" in s.page.get_by_role("alert").inner_text()


def test_phone_width_pages(open_session, alice, thread_of):
    thread_of(alice, "Phone check", html="<p>Short <b>note</b> for the phone.</p>")
    s = open_session(alice.email, phone=True)
    for name, url in (("home", "/"), ("settings", "/settings/smart-bcc"), ("inbox", "/inbox")):
        s.page.goto(url)
        # Nothing may push the page sideways at phone width.
        width = s.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
        s.shot(f"{name}-phone")
    s.page.goto("/inbox")
    s.page.get_by_role("link", name=re.compile("Phone check")).click()
    s.page.wait_for_url("**/inbox/threads/*")
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
    s.shot("thread-phone")
