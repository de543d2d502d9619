"""Dumping many objects through a marshmallow schema at a fraction of its cost.

marshmallow walks every field of every object through several layers of calls (about 5 µs a
field): a page of 100 messages with their participants and attachments costs milliseconds.
``dumper(schema)`` reads the schema once and returns a plain function that builds the same
dicts directly for the field types the API uses (Int, Str, Bool, DateTime in ISO format, Method,
Nested, List of those). Any other field falls back to the field's own ``serialize``, so the
schema stays the single description of the output (and of the OpenAPI document);
tests/api/test_fastdump.py checks the two agree.
"""
from __future__ import annotations

from typing import Any, Callable

from marshmallow import Schema, fields, missing

_MISSING = object()


def _value_getter(field: fields.Field, attr: str) -> Callable[[Any], Any]:
    """obj -> the field's dumped value, or _MISSING when obj lacks the attribute."""
    kind = type(field)
    if field.dump_default is not missing or "." in attr:
        kind = None  # defaults and dotted paths: marshmallow's own way
    if kind is fields.Method and field.serialize_method_name:
        return getattr(field.parent, field.serialize_method_name)
    if kind in (fields.Integer, fields.Int) and not field.as_string:
        def get_int(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING else int(value)
        return get_int
    if kind in (fields.String, fields.Str):
        def get_str(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING or type(value) is str else str(value)
        return get_str
    if kind in (fields.Boolean, fields.Bool):
        def get_plain(obj, attr=attr):
            return getattr(obj, attr, _MISSING)
        return get_plain
    if kind is fields.DateTime and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
        def get_iso(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING else value.isoformat()
        return get_iso
    if kind is fields.Nested and not field.many and isinstance(field.schema, Schema):
        inner = dumper(field.schema)

        def get_nested(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING else inner(value)
        return get_nested
    if kind is fields.List and type(field.inner) is fields.Nested and not field.inner.many:
        inner = dumper(field.inner.schema)

        def get_list(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING else [None if item is None else inner(item) for item in value]
        return get_list
    if kind is fields.List and type(field.inner) in (fields.String, fields.Str):
        def get_strings(obj, attr=attr):
            value = getattr(obj, attr, _MISSING)
            return value if value is None or value is _MISSING else [v if v is None else str(v) for v in value]
        return get_strings

    def get_any(obj, field=field, attr=attr):
        value = field.serialize(attr, obj)
        return _MISSING if value is missing else value
    return get_any


_CACHE: dict[int, tuple[Schema, Callable[[Any], dict]]] = {}


def dumper(schema: Schema) -> Callable[[Any], dict]:
    """A function obj -> the dict ``schema.dump(obj)`` would give (objects, not mappings).

    Kept for the life of the process, per schema instance: give it the module-level schema
    instances the API dumps with, not one made per request."""
    cached = _CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    plan = []
    for name, field in schema.dump_fields.items():
        attr = field.attribute or name
        plan.append((field.data_key or name, _value_getter(field, attr)))
    plan = tuple(plan)

    def dump(obj) -> dict:
        out = {}
        for key, get in plan:
            value = get(obj)
            if value is not _MISSING:
                out[key] = value
        return out
    _CACHE[id(schema)] = (schema, dump)
    return dump



def row_dumper(schema: Schema, keys: tuple[str, ...]) -> Callable[[Any], dict]:
    """A function row -> the dict ``schema.dump(row)`` would give, for rows (tuples) whose items
    are named ``keys`` in that order, e.g. a SELECT of a model's columns. Same output as
    ``dumper(schema)`` (fields whose attribute the row lacks are left out), built by one generated
    function reading the row by position: a page of rows costs a fraction of a getattr per field.
    Fields it cannot read by position (Method, Nested, defaults, ...) go through dumper's way."""
    position = {key: n for n, key in enumerate(keys)}
    names: dict[str, Any] = {"_MISSING": _MISSING}
    lines = ["def dump(r):", "    out = {}"]
    for n, (name, field) in enumerate(schema.dump_fields.items()):
        attr, key = field.attribute or name, field.data_key or name
        kind = type(field)
        plain = field.dump_default is missing and "." not in attr
        at = position.get(attr)
        if plain and kind in (fields.Integer, fields.Int) and not field.as_string:
            expr = "x if (x := r[{}]) is None or x.__class__ is int else int(x)"
        elif plain and kind in (fields.String, fields.Str):
            expr = "x if (x := r[{}]) is None or x.__class__ is str else str(x)"
        elif plain and kind in (fields.Boolean, fields.Bool):
            expr = "r[{}]"
        elif plain and kind is fields.DateTime and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
            expr = "x if (x := r[{}]) is None else x.isoformat()"
        else:
            names[f"get{n}"] = _value_getter(field, attr)
            lines += [f"    v = get{n}(r)", f"    if v is not _MISSING:", f"        out[{key!r}] = v"]
            continue
        if at is not None:  # else: the row lacks it, and dumper leaves it out
            lines.append(f"    out[{key!r}] = " + expr.format(at))
    lines.append("    return out")
    exec("\n".join(lines), names)  # noqa: S102 (the source is built above from the schema's field names)
    return names["dump"]


class RowDump:
    """``schema``'s dump of rows of ``columns`` (in that order, maybe followed by more), read by
    position (row_dumper); anything else (an object, other columns) the usual way."""

    def __init__(self, schema, columns: tuple):
        self.keys = tuple(c.key for c in columns)
        self.fast, self.slow = row_dumper(schema, self.keys), dumper(schema)

    def of(self, rows: list):
        """The dump function for ``rows`` (all from one query)."""
        if rows and getattr(rows[0], "_fields", ())[:len(self.keys)] == self.keys:
            return self.fast
        return self.slow
