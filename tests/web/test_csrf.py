"""Every state-changing request of the pages needs this session's CSRF token."""
from __future__ import annotations

import pytest

from .conftest import PASSWORD


@pytest.mark.parametrize("data", [{}, {"csrf_token": "forged"}, {"csrf_token": ""}])
def test_form_without_the_right_token_is_refused_with_a_plain_page(web, data):
    response = web.post("/settings/smart-bcc/sharing", data={"default_sharing": "shared", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "did not come from this site" in html and "nothing was changed" in html
    assert "Traceback" not in html
    assert "Content-Security-Policy" in response.headers
    settings = web.get("/settings/smart-bcc").get_data(as_text=True)
    assert 'id="sharing-private" name="default_sharing" value="private" checked' in settings


def test_form_with_the_token_works(web):
    response = web.post("/settings/smart-bcc/sharing", data={"default_sharing": "shared", "csrf_token": web.csrf})
    assert response.status_code == 302


def test_sign_in_needs_the_token_too(client, alice):
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": alice.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/inbox").status_code == 302


def test_token_of_another_session_is_refused(app, web, alice):
    other = app.test_client()
    other.get("/")
    response = other.post("/sign-in", data={"email": alice.email, "password": PASSWORD, "csrf_token": web.csrf})
    assert response.status_code == 400


def test_sign_out_needs_the_token(web):
    assert web.post("/sign-out").status_code == 400
    assert web.get("/inbox").status_code == 200


def test_fetch_writes_need_the_header(web, alice, thread_of):
    thread_id = thread_of(alice)
    url = f"/app-api/threads/{thread_id}"
    missing = web.patch(url, json={"shared": True})
    assert missing.status_code == 400
    assert missing.is_json and "did not come from this site" in missing.get_json()["error"]
    wrong = web.patch(url, json={"shared": True}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 400
    right = web.patch(url, json={"shared": True}, headers={"X-CSRF-Token": web.csrf})
    assert right.status_code == 200 and right.get_json()["data"]["shared"] is True


def test_delete_method_is_checked_too(app, web, alice, thread_of):
    thread_id = thread_of(alice, to="Bob Buyer <bob@customer.example>")
    person_id = app.test_client().get(f"/api/v1/mailbox/mailThreads/{thread_id}",
                                      headers=alice.auth).get_json()["data"]["links"][0]["item_id"]
    url = f"/app-api/threads/{thread_id}/links/person/{person_id}"
    assert web.delete(url).status_code == 400
    assert web.delete(url, headers={"X-CSRF-Token": web.csrf}).status_code == 200
    assert web.delete(url, headers={"X-CSRF-Token": web.csrf}).status_code == 404


def test_reads_need_no_token(web):
    assert web.get("/app-api/search?type=deal&term=a").status_code == 200
