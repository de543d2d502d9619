"""Every page carries a strict Content-Security-Policy; no page has inline script."""
from __future__ import annotations

import re

import pytest

SIGNED_OUT = ["/", "/sign-in", "/settings/smart-bcc/confirm?token=abc", "/missing-page"]
SIGNED_IN = ["/", "/inbox", "/inbox?q=proposal", "/settings/smart-bcc", "/settings/company-domain", "/deals",
             "/leads", "/projects", "/persons", "/missing-page"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _check(response):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert " style=" not in html


@pytest.mark.parametrize("url", SIGNED_OUT)
def test_signed_out_pages_have_the_policy(client, url):
    _check(client.get(url))


@pytest.mark.parametrize("url", SIGNED_IN)
def test_signed_in_pages_have_the_policy(web, url):
    response = web.get(url)
    assert response.status_code in (200, 404)
    _check(response)


def test_thread_and_item_pages_have_the_policy(web, alice, thread_of):
    thread_id = thread_of(alice, html="<p>Hi</p>")
    web.post(f"/inbox/threads/{thread_id}/create", data={"type": "deal", "title": "D", "csrf_token": web.csrf})
    _check(web.get(f"/inbox/threads/{thread_id}"))
    deal_link = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    deal_id = int(re.search(r'href="/deals/(\d+)"', deal_link).group(1))
    _check(web.get(f"/deals/{deal_id}"))
    _check(web.get("/persons/" + re.search(r'href="/persons/(\d+)"', deal_link).group(1)))


def test_mail_body_has_its_own_strict_policy(web, alice, thread_of):
    thread_id = thread_of(alice, html="<p>Hi</p>")
    page = web.get(f"/inbox/threads/{thread_id}").get_data(as_text=True)
    body_url = re.search(r'src="(/inbox/messages/\d+/body)"', page).group(1)
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in page
    response = web.get(body_url)
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'")
    assert "script-src" not in csp and "https:" not in csp
    assert "sandbox" in csp and "allow-scripts" not in csp and "allow-forms" not in csp
    with_images = web.get(body_url + "?images=1").headers["Content-Security-Policy"]
    assert "img-src data: cid: https:;" in with_images


def test_pages_are_not_cached(web):
    assert web.get("/inbox").headers["Cache-Control"] == "no-store"


def test_api_responses_are_left_alone(client):
    # The API and add-in pages are other modules' business; the page policy is not forced on them.
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_any_page_on_the_base_layout_gets_the_policy(app):
    """Pages of other modules that extend web/base.html (mailbox connections) are covered too."""
    from flask import render_template

    app.add_url_rule("/other-module-page", "other_module_page",
                     lambda: render_template("web/error.html", status=200, title="Other", message="Page"))
    _check(app.test_client().get("/other-module-page"))
