"""backend/api/fastdump.py gives exactly what marshmallow's ``schema.dump`` gives."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields

from backend.api import mail_schemas, schemas
from backend.api.fastdump import dumper

SCHEMAS = [cls for module in (schemas, mail_schemas) for cls in vars(module).values()
           if isinstance(cls, type) and issubclass(cls, Schema) and cls is not Schema]
assert len(SCHEMAS) >= 10, SCHEMAS  # every schema the API dumps; an empty list would test nothing


def _value(field: fields.Field, rng: random.Random, depth: int = 0):
    """A value of the kind the field dumps, or None now and then."""
    if rng.random() < 0.15:
        return None
    if isinstance(field, fields.List):
        return [_value(field.inner, rng, depth + 1) for _ in range(rng.randrange(4))]
    if isinstance(field, fields.Nested):
        return _object(field.schema, rng, depth + 1)
    if isinstance(field, fields.DateTime):
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(10**8))
    if isinstance(field, fields.Date):
        return date(2026, 1, 1) + timedelta(days=rng.randrange(4000))
    if isinstance(field, fields.Decimal):
        return Decimal(rng.randrange(10**6)) / 100
    if isinstance(field, fields.Boolean):
        return rng.random() < 0.5
    if isinstance(field, fields.Integer):
        return rng.choice([rng.randrange(1, 2**40), True, 7])
    return rng.choice(["plain", "Ünïcødé ✓", "", "x" * 300, 12])  # 12: Str dumps str(12)


def _object(schema: Schema, rng: random.Random, depth: int = 0) -> SimpleNamespace:
    """An object with most of the schema's attributes (some left out, which dump omits)."""
    obj = SimpleNamespace()
    for name, field in schema.dump_fields.items():
        if rng.random() < 0.1 or depth > 2:
            continue
        setattr(obj, field.attribute or name, _value(field, rng, depth))
    # Attributes the Method fields of the mail schemas read.
    for name in ("sender_email", "sender_name", "forwarded_by_email", "forwarded_by_user_id"):
        setattr(obj, name, rng.choice([None, "rep@acme.example", 5]))
    return obj


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda c: c.__name__)
def test_same_output_as_marshmallow(schema_class):
    schema = schema_class()
    fast = dumper(schema)
    rng = random.Random(schema_class.__name__)
    for _ in range(300):
        obj = _object(schema, rng)
        assert fast(obj) == schema.dump(obj)


def test_keys_in_schema_order_and_data_keys():
    schema = mail_schemas.MessageSchema()
    obj = _object(schema, random.Random(3))
    for name in schema.dump_fields:
        setattr(obj, schema.dump_fields[name].attribute or name, None)
    out = dumper(schema)(obj)
    assert list(out) == list(schema.dump(obj))
    assert "message_id" in out and "message_id_header" not in out


def test_fields_it_does_not_know_fall_back_to_marshmallow():
    class Odd(Schema):
        tags = fields.Dict()
        amount = schemas.Money()
        upper = fields.Function(lambda obj: obj.name.upper())
        fallback = fields.Str(dump_default="none given")
        nested_path = fields.Int(attribute="inner.value")

    schema = Odd()
    obj = SimpleNamespace(tags={"a": 1}, amount=Decimal("12.50"), name="acme", inner=SimpleNamespace(value="3"))
    assert dumper(schema)(obj) == schema.dump(obj) == {
        "tags": {"a": 1}, "amount": 12.5, "upper": "ACME", "fallback": "none given", "nested_path": 3}


def test_one_dumper_per_schema_instance():
    first, second = mail_schemas.ThreadSchema(), mail_schemas.ThreadSchema()
    assert dumper(first) is dumper(first)
    assert dumper(first) is not dumper(second)
