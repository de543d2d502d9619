"""In Chromium (issue 20): invite -> accept -> sign in; deactivate -> token refused; password reset
from the sign-in page; change password and sign out other sessions; members cannot manage users."""
from __future__ import annotations

import email
import re
from email.policy import default
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.browser

NEW_PASSWORD = "violet tractor umbrella"


def _link(services, prefix: str, path: str) -> str:
    [mail] = sorted(Path(services.settings.outbox_dir).glob(f"{prefix}*.eml"))
    body = email.message_from_bytes(mail.read_bytes(), policy=default).get_body(("plain",)).get_content()
    return re.search(rf"http://\S+{re.escape(path)}\?token=\S+", body).group(0)


def test_invite_accept_and_sign_in(open_session, alice, services):
    admin = open_session(alice.email)
    admin.page.goto("/settings/smart-bcc")
    admin.page.get_by_role("navigation", name="Settings").get_by_role("link", name="Users").click()
    admin.page.wait_for_url("**/settings/users")
    admin.page.get_by_label("Their email address").fill("nina@acme.example")
    admin.page.get_by_label("Their name (optional)").fill("Nina New")
    admin.page.get_by_label("Role").select_option("member")
    admin.page.get_by_role("button", name="Send invitation").click()
    admin.page.get_by_text("an invitation for nina@acme.example was written to").wait_for()
    row = admin.page.locator(".address-item", has_text="nina@acme.example")
    assert "Invited" in row.inner_text()
    admin.shot("users-desktop")

    newcomer = open_session()
    newcomer.page.goto(_link(services, "invite-", "/invitations/accept"))
    assert newcomer.page.get_by_label("Your name").input_value() == "Nina New"
    newcomer.page.get_by_label("Password", exact=True).fill("short")
    newcomer.page.get_by_label("Password again").fill("short")
    newcomer.page.get_by_role("button", name="Join and sign in").click()
    # The error shows next to the field it is about, and the field says so to screen readers.
    assert "at least 10 characters" in newcomer.page.locator("#password-error").inner_text()
    assert newcomer.page.get_by_label("Password", exact=True).get_attribute("aria-invalid") == "true"
    newcomer.page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    newcomer.page.get_by_label("Password again").fill(NEW_PASSWORD)
    newcomer.page.get_by_role("button", name="Join and sign in").click()
    newcomer.page.get_by_text("Welcome to Smart Bcc, Nina New").wait_for()
    newcomer.page.get_by_role("button", name="Sign out").click()
    newcomer.sign_in("nina@acme.example", NEW_PASSWORD)
    assert "Nina New" in newcomer.page.locator(".whoami").inner_text()
    admin.page.reload()
    assert "Waiting to be accepted" not in admin.page.locator("main").inner_text()
    assert admin.page.locator(".address-item", has_text="nina@acme.example").locator(".badge").first.inner_text() \
        == "Member"
    assert not admin.page_errors and not newcomer.page_errors


def test_deactivate_refuses_the_users_token_and_session(open_session, alice, bert, live_server):
    member = open_session(bert.email)
    member.page.goto("/settings/account")
    member.page.get_by_label("Name of a new token").fill("CRM sync")
    member.page.get_by_role("button", name="Make a token").click()
    token = member.page.locator("#new-token-value").inner_text()
    assert token.startswith("sbc_")
    me = f"{live_server}/api/v1/users/me"
    assert requests.get(me, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

    admin = open_session(alice.email)
    admin.page.goto("/settings/users")
    admin.page.get_by_role("button", name="Deactivate Bert Member").click()
    admin.page.get_by_text("Bert Member is deactivated").wait_for()
    assert any("Deactivate Bert Member?" in d for d in admin.dialogs)
    assert "Deactivated" in admin.page.locator("#user-%d" % bert.user_id).inner_text()

    refused = requests.get(me, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 401
    assert requests.get(me, headers={"Authorization": f"Bearer {bert.token}"}, timeout=10).status_code == 401
    member.page.goto("/inbox")
    member.page.wait_for_url("**/sign-in**")

    admin.page.get_by_role("button", name="Reactivate Bert Member").click()
    admin.page.get_by_text("Bert Member is active again").wait_for()
    assert requests.get(me, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200


def test_password_reset_from_the_sign_in_page(open_session, alice, services):
    s = open_session()
    s.page.goto("/sign-in")
    s.page.get_by_role("link", name="Forgot your password?").click()
    s.page.get_by_label("Email address").fill(alice.email)
    s.page.get_by_role("button", name="Mail me a link").click()
    s.page.get_by_text(f"If {alice.email} belongs to an active Smart Bcc account").wait_for()
    s.page.goto(_link(services, "reset-", "/reset-password"))
    s.page.get_by_label("New password", exact=True).fill("Password2024!")
    s.page.get_by_label("New password again").fill("Password2024!")
    s.page.get_by_role("button", name="Save the new password").click()
    assert "most common passwords" in s.page.locator("#password-error").inner_text()
    s.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    s.page.get_by_label("New password again").fill(NEW_PASSWORD)
    s.page.get_by_role("button", name="Save the new password").click()
    s.page.get_by_text("Your new password is set").wait_for()
    s.sign_in(alice.email, NEW_PASSWORD)
    assert not s.page_errors


def test_change_password_and_sign_out_other_sessions(open_session, alice):
    here = open_session(alice.email)
    elsewhere = open_session(alice.email)
    here.page.get_by_role("link", name="Alice Admin").click()
    here.page.wait_for_url("**/settings/account")
    here.page.get_by_label("Current password").fill("not it at all")
    here.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    here.page.get_by_label("New password again").fill(NEW_PASSWORD)
    here.page.get_by_role("button", name="Change password").click()
    assert "not your current password" in here.page.locator("#current_password-error").inner_text()
    from tests.web.conftest import PASSWORD

    here.page.get_by_label("Current password").fill(PASSWORD)
    here.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    here.page.get_by_label("New password again").fill(NEW_PASSWORD)
    here.page.get_by_role("button", name="Change password").click()
    here.page.get_by_text("Your password is changed").wait_for()
    elsewhere.page.goto("/inbox")
    elsewhere.page.wait_for_url("**/sign-in**")
    elsewhere.sign_in(alice.email, NEW_PASSWORD)
    here.page.get_by_role("button", name="Sign out other sessions").click()
    here.page.get_by_text("Every other session of your account is signed out").wait_for()
    here.shot("account-desktop")
    elsewhere.page.goto("/inbox")
    elsewhere.page.wait_for_url("**/sign-in**")
    here.page.goto("/inbox")
    assert "/inbox" in here.page.url


def test_a_member_sees_no_users_link_and_a_clear_refusal(open_session, alice, bert):
    s = open_session(bert.email)
    s.page.goto("/settings/account")
    assert s.page.get_by_role("navigation", name="Settings").get_by_role("link", name="Users").count() == 0
    s.page.goto("/settings/users")
    text = s.page.locator("main").inner_text()
    assert "Only a company admin can manage the users of your company" in text
