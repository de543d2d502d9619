"""The one error shape for 404, 405, 413 and 500; a 500 never shows a traceback."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.api.conftest import API, assert_error

SECRET_DETAIL = "kaboom-internal-detail-5f3a"


@pytest.mark.parametrize("path", [f"{API}/nope", f"{API}/deals/1/nope", f"{API}/", "/api/v2/deals"])
def test_unknown_api_url_is_a_json_404(client, acme, path):
    body = assert_error(client.get(path, headers=acme.auth), 404)
    assert body["errors"] == {}


def test_unknown_url_asking_for_json_is_a_json_404(client):
    assert_error(client.get("/nowhere", headers={"Accept": "application/json"}), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/deals", {"GET", "POST"}),
    ("PUT", "/persons", {"GET", "POST"}),
    ("POST", "/leads/1", {"GET", "PATCH", "PUT", "DELETE"}),
    ("POST", "/users/me", {"GET"}),
])
def test_wrong_method_is_a_json_405_with_allow_header(client, acme, method, path, allowed):
    response = client.open(API + path, method=method, headers=acme.auth)
    body = assert_error(response, 405)
    assert method in body["error"]
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_too_large_body_is_a_json_413(app, client, acme):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(f"{API}/deals", data=b"{" + b" " * 5000 + b"}", content_type="application/json",
                           headers=acme.auth)
    assert_error(response, 413)


def _add_failing_route(app, path, exc):
    def boom():
        raise exc
    app.add_url_rule(path, endpoint=f"boom{path}", view_func=boom)


def test_unexpected_error_is_a_json_500_without_traceback(app, client, caplog):
    _add_failing_route(app, f"{API}/boom", RuntimeError(SECRET_DETAIL))
    response = client.get(f"{API}/boom")
    body = assert_error(response, 500)
    text = response.get_data(as_text=True)
    for leak in ("Traceback", SECRET_DETAIL, "RuntimeError", ".py", "line "):
        assert leak not in text
    assert body["errors"] == {}
    # ... but it is logged for the operator.
    assert SECRET_DETAIL in caplog.text


def test_unexpected_error_outside_the_api_is_plain_text_without_traceback(app, client):
    _add_failing_route(app, "/boom-page", KeyError(SECRET_DETAIL))
    response = client.get("/boom-page", headers={"Accept": "text/html"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert SECRET_DETAIL not in text and "Traceback" not in text


def test_lost_database_is_a_503_with_retry_after(app, client):
    _add_failing_route(app, f"{API}/dbdown", OperationalError("SELECT 1", {}, Exception(SECRET_DETAIL)))
    response = client.get(f"{API}/dbdown")
    assert_error(response, 503)
    assert response.headers["Retry-After"]
    assert SECRET_DETAIL not in response.get_data(as_text=True)


def test_success_and_error_responses_are_json(client, acme):
    ok = client.get(f"{API}/deals", headers=acme.auth)
    assert ok.is_json and ok.get_json()["success"] is True
    assert set(ok.get_json()) == {"success", "data", "additional_data"}
    bad = client.get(f"{API}/deals/1", headers=acme.auth)
    assert set(bad.get_json()) == {"success", "error", "errors"}
