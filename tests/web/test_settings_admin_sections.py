"""Admin-only parts of Settings > Smart Bcc: sender verification and the add-in downloads."""
from __future__ import annotations

import re


def _sign_in(client, email, password):
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]


def _csrf(client, path="/settings/smart-bcc"):
    page = client.get(path).get_data(as_text=True)
    return page, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_admin_sets_sender_verification_from_the_page(app, make_account):
    make_account("acme.example", "boss@acme.example", password="correct horse 1")
    client = app.test_client()
    _sign_in(client, "boss@acme.example", "correct horse 1")
    page, token = _csrf(client)
    assert 'id="sender-verification"' in page and "/api/v1/addin/manifests/outlook.xml" in page
    response = client.post("/settings/smart-bcc/verification",
                           data={"sender_verification": "reject", "csrf_token": token}, follow_redirects=True)
    assert "Sender verification saved" in response.get_data(as_text=True)
    assert 'value="reject" selected' in client.get("/settings/smart-bcc").get_data(as_text=True)


def test_members_neither_see_nor_change_admin_sections(app, make_account):
    make_account("acme.example", "boss@acme.example")
    make_account("acme.example", "member@acme.example", admin=False, password="correct horse 2")
    client = app.test_client()
    _sign_in(client, "member@acme.example", "correct horse 2")
    page, token = _csrf(client)
    assert 'id="sender-verification"' not in page and "manifests/outlook.xml" not in page
    response = client.post("/settings/smart-bcc/verification",
                           data={"sender_verification": "off", "csrf_token": token})
    assert response.status_code == 403 and "admin" in response.get_data(as_text=True)
