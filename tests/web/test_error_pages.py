"""Errors on pages are plain-words pages; the API keeps its JSON error shape."""
from __future__ import annotations

import pytest


def test_unknown_page_is_a_404_page(client):
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "does not exist" in html and "Go to the start page" in html
    assert "Content-Security-Policy" in response.headers


def test_api_404_keeps_the_json_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["success"] is False


def test_api_error_raised_in_a_page_becomes_a_page(web):
    response = web.get("/deals/987654")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "No such deal" in response.get_data(as_text=True)


def test_wrong_method_is_a_page(web):
    response = web.get("/inbox/threads/1/share")
    assert response.status_code == 405
    assert "cannot be used that way" in response.get_data(as_text=True)


def test_member_may_not_change_the_domain(app, bert):
    from .conftest import sign_in

    client = app.test_client()
    token = sign_in(client, bert.email)
    page = client.get("/settings/company-domain")
    assert page.status_code == 403
    assert "Only a company admin" in page.get_data(as_text=True)
    assert client.post("/settings/company-domain", data={"domain": "x.example", "csrf_token": token}).status_code == 403


@pytest.fixture
def crashing_app(app):
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom-page", "boom_page", boom)
    app.add_url_rule("/api/v1/boom", "boom_api", boom)
    return app


def test_crash_is_a_500_page_without_internals(crashing_app):
    response = crashing_app.test_client().get("/boom-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_api_crash_stays_json(crashing_app):
    response = crashing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.is_json
