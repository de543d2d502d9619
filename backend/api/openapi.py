"""The OpenAPI document at /api/v1/openapi.json, built from the registered endpoints and schemas."""
from __future__ import annotations

from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)

# (path, method, summary, request schema or None, response schema or None, many, status, string params)
ENDPOINTS: list[tuple] = []


# Query parameters: (name, JSON type, description).
PAGING = (("start", "integer", "How many items to skip; take it from additional_data.pagination.next_start."),
          ("limit", "integer", "Items per page, 1 to 500 (default 100)."))
FLAG = "boolean"  # sent as 1/true; anything else is false


def document(path: str, method: str, summary: str, request=None, response=None, many=False,
             status: int | None = None, string_params: tuple = (), query: tuple = (), paged: bool = False):
    """Adds an endpoint to the OpenAPI document. ``status`` overrides the success code
    (201 for POST, else 200); ``string_params`` names path parameters that are not ids;
    ``query`` lists its query parameters, ``paged`` adds start and limit."""
    query = (PAGING if paged else ()) + tuple(query)
    ENDPOINTS.append((path, method.lower(), summary, request, response, many, status, tuple(string_params), query))


def _envelope(ref, many: bool) -> dict:
    data = {"type": "array", "items": ref} if many else ref
    return {"type": "object", "properties": {"success": {"type": "boolean"}, "data": data}}


def build_spec() -> dict:
    spec = APISpec(title="Smart Bcc API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", {"type": "object", "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    }})
    names: dict[type, str] = {}
    for _p, _m, _s, req, resp, _many, _status, _strings, _query in ENDPOINTS:
        for schema in (req, resp):
            if schema is not None and type(schema) not in names:
                name = type(schema).__name__.removesuffix("Schema")
                names[type(schema)] = name
                spec.components.schema(name, schema=type(schema))
    paths: dict[str, dict] = {}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, method, summary, req, resp, many, status, strings, query in ENDPOINTS:
        op: dict = {"summary": summary, "security": [{"bearer": []}], "responses": {
            "401": {"description": "Missing or invalid token", **error},
        }}
        if "{" in path:
            op["responses"]["404"] = {"description": "Not found in your company", **error}
        ok_body = {"description": "Success"}
        if resp is not None:
            ref = {"$ref": f"#/components/schemas/{names[type(resp)]}"}
            ok_body["content"] = {"application/json": {"schema": _envelope(ref, many)}}
        op["responses"][str(status or (201 if method == "post" else 200))] = ok_body
        if req is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{names[type(req)]}"}}}}
            op["responses"]["400"] = {"description": "Invalid fields", **error}
        params = [{"name": part[1:-1], "in": "path", "required": True,
                   "schema": {"type": "string" if part[1:-1] in strings else "integer"}}
                  for part in path.split("/") if part.startswith("{")]
        params += [{"name": name, "in": "query", "required": False, "description": text,
                    "schema": {"type": kind}} for name, kind, text in query]
        if params:
            op["parameters"] = params
        paths.setdefault(path, {})[method] = op
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    document_dict = _numbers(spec.to_dict())
    document_dict["servers"] = [{"url": "/api/v1"}]
    return document_dict


def _numbers(value):
    """Decimals (apispec copies a Decimal field's Range bounds as Decimal) become JSON numbers;
    Flask would otherwise write them as strings, which OpenAPI forbids for minimum/maximum."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())
