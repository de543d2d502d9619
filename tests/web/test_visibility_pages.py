"""A private thread is absent for everyone but its owner; shared threads are read-only for others."""
from __future__ import annotations

import re

import pytest

from .conftest import sign_in


@pytest.fixture
def bert_web(app, bert):
    client = app.test_client()
    client.csrf = sign_in(client, bert.email)
    return client


def _message_id(web, thread_id: int) -> int:
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    return int(re.search(r"/inbox/messages/(\d+)/", page).group(1))


def test_private_thread_is_a_404_for_a_colleague(web, bert_web, alice, thread_of):
    thread_id = thread_of(alice, "Secret pricing", html="<p>secret</p>")
    message_id = _message_id(web, thread_id)
    for url in (f"/inbox/threads/{thread_id}", f"/inbox/messages/{message_id}/body"):
        response = bert_web.get(url)
        assert response.status_code == 404, url
        assert "No such" in response.get_data(as_text=True)
    assert "Secret pricing" not in bert_web.get("/inbox").get_data(as_text=True)
    assert "Secret pricing" not in bert_web.get("/").get_data(as_text=True)
    for url, data in ((f"/inbox/threads/{thread_id}/share", {"shared": "1"}),
                      (f"/inbox/threads/{thread_id}/create", {"type": "lead", "title": "x"}),
                      (f"/inbox/messages/{message_id}/delete", {})):
        assert bert_web.post(url, data={**data, "csrf_token": bert_web.csrf}).status_code == 404, url


def test_private_thread_is_absent_from_a_colleagues_item_view(web, bert_web, alice, thread_of):
    thread_id = thread_of(alice, "Private deal talk")
    web.post(f"/inbox/threads/{thread_id}/create", data={"type": "deal", "title": "Visible deal",
                                                        "csrf_token": web.csrf})
    deal_id = re.search(r'href="/deals/(\d+)"', web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)).group(1)
    assert "Private deal talk" in web.get(f"/deals/{deal_id}").get_data(as_text=True)
    page = bert_web.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Visible deal" in page and "Private deal talk" not in page


def test_shared_thread_is_visible_but_only_the_owner_manages_it(web, bert_web, alice, thread_of):
    thread_id = thread_of(alice, "Team news")
    web.post(f"/inbox/threads/{thread_id}/share", data={"shared": "1", "csrf_token": web.csrf})
    page = bert_web.get(f"/inbox/threads/{thread_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "shared by Alice Admin" in html
    assert "Delete message" not in html and 'id="share-toggle"' not in html
    assert "Team news" in bert_web.get("/inbox").get_data(as_text=True)
    refused = bert_web.post(f"/inbox/threads/{thread_id}/share", data={"shared": "0", "csrf_token": bert_web.csrf})
    assert refused.status_code == 403
    assert "Only the person who owns this thread" in refused.get_data(as_text=True)
    message_id = _message_id(web, thread_id)
    assert bert_web.post(f"/inbox/messages/{message_id}/delete",
                         data={"csrf_token": bert_web.csrf}).status_code == 403
    web.post(f"/inbox/threads/{thread_id}/share", data={"shared": "0", "csrf_token": web.csrf})
    assert bert_web.get(f"/inbox/threads/{thread_id}").status_code == 404


def test_other_company_cannot_see_or_link(app, web, alice, make_account, thread_of):
    gary = make_account("globex.example", "gary@globex.example", password="correct horse battery")
    client = app.test_client()
    token = sign_in(client, gary.email)
    thread_id = thread_of(alice, "Acme only")
    web.post(f"/inbox/threads/{thread_id}/share", data={"shared": "1", "csrf_token": web.csrf})
    assert client.get(f"/inbox/threads/{thread_id}").status_code == 404
    assert client.post(f"/app-api/threads/{thread_id}/links", json={"item_type": "deal", "item_id": 1},
                       headers={"X-CSRF-Token": token}).status_code == 404
