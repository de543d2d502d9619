"""Settings > Smart Bcc: the address, accepted addresses with confirmation, linking, sharing, domain."""
from __future__ import annotations

import email
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .conftest import sign_in


def _outbox_links(services) -> list[str]:
    links = []
    for path in sorted(Path(services.settings.outbox_dir).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        msg = email.message_from_bytes(path.read_bytes())
        body = msg.get_payload(decode=True).decode()
        links += re.findall(r"https?://\S+/settings/smart-bcc/confirm\?token=\S+", body)
    return links


def _path(link: str) -> str:
    return link[link.index("/settings/"):]


def _open_and_confirm(client, link: str):
    """Opens the link (a page with a button: nothing changes yet), then presses the button."""
    page = client.get(_path(link))
    if page.status_code != 200:  # expired, used, replaced or unknown: the page says so, no button
        return page
    html = page.get_data(as_text=True)
    assert 'action="/settings/smart-bcc/confirm"' in html, html[:500]
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post("/settings/smart-bcc/confirm", data={"token": token, "csrf_token": csrf})


def test_settings_page_shows_address_and_how_to_use_it(web, alice):
    html = web.get("/settings/smart-bcc").get_data(as_text=True)
    assert f'<code id="company-address" class="address">{alice.bcc_address}</code>' in html
    assert 'data-copy="company-address"' in html
    assert "Bcc of any mail you send or forward" in html
    assert "Change the company domain" in html
    assert "Smart Bcc addresses are accepted from" in html
    assert html.index(alice.email) < html.index('id="alt-email"')
    assert "Account address" in html
    assert "Applies to mail received from now on" in html
    assert 'role="switch"' in html


def test_add_alternative_confirm_by_link_then_used(web, client, alice, services):
    response = web.post("/settings/smart-bcc/addresses", data={"email": "alice@home.example", "csrf_token": web.csrf},
                        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "No mail relay is configured: the confirmation mail for alice@home.example was written to" in html
    assert "Pending" in html
    [link] = _outbox_links(services)
    # The link works signed out, in any browser. Opening it only asks.
    asked = client.get(_path(link))
    assert asked.status_code == 200 and "Confirm alice@home.example" in asked.get_data(as_text=True)
    assert "Pending" in web.get("/settings/smart-bcc").get_data(as_text=True)
    page = _open_and_confirm(client, link)
    assert page.status_code == 200
    assert "alice@home.example is confirmed" in page.get_data(as_text=True)
    assert "Verified" in web.get("/settings/smart-bcc").get_data(as_text=True)
    again = client.get(_path(link))
    assert again.status_code == 409
    assert "already used" in again.get_data(as_text=True)


def test_resend_replaces_the_older_link(web, client, services):
    web.post("/settings/smart-bcc/addresses", data={"email": "a2@home.example", "csrf_token": web.csrf})
    address_id = re.search(r"/settings/smart-bcc/addresses/(\d+)/resend",
                           web.get("/settings/smart-bcc").get_data(as_text=True)).group(1)
    resent = web.post(f"/settings/smart-bcc/addresses/{address_id}/resend", data={"csrf_token": web.csrf},
                      follow_redirects=True)
    assert "the new confirmation mail for a2@home.example was written to" in resent.get_data(as_text=True)
    first, second = _outbox_links(services)
    old = client.get(_path(first))
    assert old.status_code == 410
    assert "use the link in the newest mail" in old.get_data(as_text=True)
    assert _open_and_confirm(client, second).status_code == 200


def test_unknown_and_expired_links_say_what_to_do(client, web, services, monkeypatch):
    unknown = client.get("/settings/smart-bcc/confirm?token=garbage")
    assert unknown.status_code == 404
    assert "not valid" in unknown.get_data(as_text=True)
    assert client.get("/settings/smart-bcc/confirm").status_code == 404
    web.post("/settings/smart-bcc/addresses", data={"email": "late@home.example", "csrf_token": web.csrf})
    [link] = _outbox_links(services)
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3 * 24 * 3600)
    expired = client.get(_path(link))
    monkeypatch.setattr(time, "time", real)
    html = expired.get_data(as_text=True)
    assert expired.status_code == 410
    assert "expired" in html and "resend" in html.lower()


def test_a_link_signed_the_way_it_was_before_signed_links_still_confirms(web, client, services):
    """senders.py signs through signed_links.py now; a link mailed before (the same salt and payload,
    made here with itsdangerous as senders.py made it) still opens, confirms once, then says used."""
    from itsdangerous import URLSafeTimedSerializer
    from sqlalchemy import select

    from backend.models import SenderAddress

    web.post("/settings/smart-bcc/addresses", data={"email": "old@home.example", "csrf_token": web.csrf})
    with services.db.session() as session:
        entry = session.scalar(select(SenderAddress).where(SenderAddress.email == "old@home.example"))
        address_id, nonce = entry.id, entry.confirmation_nonce
    token = URLSafeTimedSerializer(services.settings.secret_key, salt="smartbcc.confirm-address").dumps(
        {"id": address_id, "n": nonce})
    [mailed] = _outbox_links(services)
    assert _path(mailed).split("token=")[0] == "/settings/smart-bcc/confirm?"
    old_link = f"http://testserver/settings/smart-bcc/confirm?token={token}"
    assert _open_and_confirm(client, old_link).status_code == 200
    again = _open_and_confirm(client, old_link)
    assert again.status_code == 409 and "already used" in again.get_data(as_text=True)
    assert _open_and_confirm(client, mailed).status_code == 409


def test_opening_the_link_changes_nothing_until_the_button(web, client, services):
    """Mail scanners open every link in a mail: only the page's button confirms."""
    from backend.models import SenderAddress

    web.post("/settings/smart-bcc/addresses", data={"email": "scan@home.example", "csrf_token": web.csrf})
    [link] = _outbox_links(services)
    for _ in range(3):
        assert client.get(_path(link)).status_code == 200
    with services.db.session() as session:
        entry = session.query(SenderAddress).filter_by(email="scan@home.example").one()
        assert entry.verified_at is None and entry.confirmation_nonce
    # The button's POST needs the page's CSRF token, like every form.
    token = link.split("token=", 1)[1]
    forged = client.post("/settings/smart-bcc/confirm", data={"token": token})
    assert forged.status_code == 400
    assert _open_and_confirm(client, link).status_code == 200
    with services.db.session() as session:
        assert session.query(SenderAddress).filter_by(email="scan@home.example").one().verified_at is not None


def test_bad_address_is_shown_in_plain_words(web, alice):
    for value, words in (("not-an-address", "is not a valid email address"),
                         (alice.email, "That is your account address"),
                         (alice.bcc_address, "cannot be one of your sending addresses")):
        html = web.post("/settings/smart-bcc/addresses", data={"email": value, "csrf_token": web.csrf},
                        follow_redirects=True).get_data(as_text=True)
        assert words in html, value
        assert 'role="alert"' in html


def test_remove_alternative(web):
    web.post("/settings/smart-bcc/addresses", data={"email": "gone@home.example", "csrf_token": web.csrf})
    address_id = re.search(r"/settings/smart-bcc/addresses/(\d+)/delete",
                           web.get("/settings/smart-bcc").get_data(as_text=True)).group(1)
    html = web.post(f"/settings/smart-bcc/addresses/{address_id}/delete", data={"csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "gone@home.example is removed" in html
    assert web.post(f"/settings/smart-bcc/addresses/{address_id}/delete",
                    data={"csrf_token": web.csrf}).status_code == 404


def test_other_users_address_cannot_be_removed(app, web, bert):
    web.post("/settings/smart-bcc/addresses", data={"email": "mine@home.example", "csrf_token": web.csrf})
    address_id = re.search(r"/settings/smart-bcc/addresses/(\d+)/delete",
                           web.get("/settings/smart-bcc").get_data(as_text=True)).group(1)
    client = app.test_client()
    token = sign_in(client, bert.email)
    assert client.post(f"/settings/smart-bcc/addresses/{address_id}/delete",
                       data={"csrf_token": token}).status_code == 404


def test_linking_switch_and_default_sharing(web, services, alice):
    from backend.models import User

    html = web.post("/settings/smart-bcc/linking", data={"csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "Linking is off" in html
    html = web.post("/settings/smart-bcc/sharing", data={"default_sharing": "shared", "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "from now on" in html
    with services.db.session() as session:
        user = session.get(User, alice.user_id)
        assert user.link_emails_to_items is False and user.default_sharing == "shared"
    web.post("/settings/smart-bcc/linking", data={"link_emails_to_items": "on", "csrf_token": web.csrf})
    bad = web.post("/settings/smart-bcc/sharing", data={"default_sharing": "public", "csrf_token": web.csrf},
                   follow_redirects=True).get_data(as_text=True)
    assert "Choose either" in bad


def test_admin_changes_domain_and_sees_the_old_address_with_its_end(web, alice, services):
    page = web.get("/settings/company-domain").get_data(as_text=True)
    assert "keeps working for 30 days" in page
    html = web.post("/settings/company-domain", data={"domain": "acme-new.example", "csrf_token": web.csrf},
                    follow_redirects=True).get_data(as_text=True)
    assert "keeps working for 30 days" in html
    assert "Previous addresses" in html and alice.bcc_address in html
    until = datetime.now(timezone.utc) + timedelta(days=30)
    assert f"still accepted until {until.day} {until:%b %Y}" in html
    bad = web.post("/settings/company-domain", data={"domain": "not a domain", "csrf_token": web.csrf},
                   follow_redirects=True).get_data(as_text=True)
    assert "is not a valid domain name" in bad
