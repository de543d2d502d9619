"""/api/v1/openapi.json is a valid OpenAPI 3 document that matches the real routes."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.api.conftest import ALL, API

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
CRUD_BLUEPRINTS = ("api.persons.", "api.items.", "api.users.")


@pytest.fixture
def spec(client) -> dict:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def _shape(path: str) -> str:
    """'/deals/{id}' and '/deals/<int:item_id>' both become '/deals/{}'."""
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)


def _routes(app, prefix=API) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix + "/"):
            shape = _shape(rule.rule.removeprefix(prefix))
            routes.setdefault(shape, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_document_passes_the_openapi_validator(spec):
    validate(spec)  # raises on any structural error, including unresolvable $refs


def test_document_is_openapi_3_with_bearer_security(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"] == [{"url": "/api/v1"}]
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme == {"type": "http", "scheme": "bearer"}


def test_every_documented_operation_is_a_real_route(app, spec):
    routes = _routes(app)
    for path, operations in spec["paths"].items():
        assert path.startswith("/") and not path.startswith(API), path
        assert _shape(path) in routes, f"{path} is documented but no such route exists"
        for method in set(operations) & HTTP_METHODS:
            assert method in routes[_shape(path)], f"{method.upper()} {path} is documented but not routed"


def test_every_crud_and_user_route_is_documented(app, spec):
    documented = {(_shape(p), m) for p, ops in spec["paths"].items() for m in ops if m in HTTP_METHODS}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(CRUD_BLUEPRINTS):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            key = (_shape(rule.rule.removeprefix(API)), method.lower())
            if key not in documented:
                missing.append(key)
    assert missing == []
    for res in ALL:  # and the resources are really all there
        assert f"/{res.name}" in spec["paths"] and f"/{res.name}/{{id}}" in spec["paths"]


def test_operations_document_success_errors_and_path_parameters(spec):
    for path, operations in spec["paths"].items():
        params = re.findall(r"\{([^}]+)\}", path)
        for method, op in operations.items():
            if method not in HTTP_METHODS:
                continue
            codes = set(op["responses"])
            assert codes & {"200", "201", "202", "204"}, f"{method} {path} documents no success"
            if op.get("security") != []:
                assert "401" in codes, f"{method} {path}"
            declared = {p["name"] for p in op.get("parameters", []) + operations.get("parameters", [])
                        if p["in"] == "path"}
            assert declared == set(params), f"{method} {path}"
            if params and path.split("/")[1] in {r.name for r in ALL}:
                assert "404" in codes


def test_crud_request_schemas_reject_unknown_fields_like_the_api(spec):
    schemas = spec["components"]["schemas"]
    for name in ("Person", "Organization", "Deal", "Lead", "Project"):
        assert schemas[name]["additionalProperties"] is False
        assert schemas[name]["properties"]["id"]["readOnly"] is True


def test_deal_value_is_documented_as_a_number_with_numeric_bounds(spec):
    value = spec["components"]["schemas"]["Deal"]["properties"]["value"]
    assert value["type"] == "number"
    assert isinstance(value["minimum"], (int, float)) and isinstance(value["maximum"], (int, float))


def _query_params(spec, path, method="get") -> dict[str, dict]:
    return {p["name"]: p for p in spec["paths"][path][method].get("parameters", []) if p["in"] == "query"}


def test_paged_lists_document_start_and_limit(spec):
    for path in ["/mailbox/mailThreads", "/deals/{id}/mailMessages"] + [f"/{r.name}" for r in ALL]:
        params = _query_params(spec, path)
        assert {"start", "limit"} <= set(params), path
        assert params["limit"]["schema"]["type"] == "integer"


def test_inbox_filters_are_documented_and_do_what_they_say(spec, client, acme):
    params = _query_params(spec, "/mailbox/mailThreads")
    assert {"q", "include_auto", "needs_deal_choice", "include_total"} <= set(params)
    assert "count" in params["include_total"]["description"]
    url = f"{API}/mailbox/mailThreads"
    plain = client.get(url, headers=acme.auth).json["additional_data"]["pagination"]
    counted = client.get(url, query_string={"include_total": 1}, headers=acme.auth).json["additional_data"]["pagination"]
    assert "total" not in plain and counted["total"] == 0


def test_list_filters_are_documented_per_resource(spec, client, acme):
    assert {"email", "term"} <= set(_query_params(spec, "/persons"))
    assert {"person_id", "term", "status"} <= set(_query_params(spec, "/deals"))
    assert "status" not in _query_params(spec, "/leads") and "person_id" in _query_params(spec, "/leads")
    # The documented deal status filter is real: a wrong value is named in the error.
    response = client.get(f"{API}/deals", query_string={"status": "sideways"}, headers=acme.auth)
    assert response.status_code == 400 and "status" in response.json["errors"]
