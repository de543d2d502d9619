"""backend/api/fastdump.row_dumper: rows read by position give what marshmallow's dump gives."""
from __future__ import annotations

import random
from collections import namedtuple

import pytest
from marshmallow import Schema, fields

from backend.api import mail_schemas, schemas
from backend.api.fastdump import dumper, row_dumper

from .test_fastdump import SCHEMAS, _object


def _row(schema: Schema, rng: random.Random, extra: tuple[str, ...] = ()):
    """A namedtuple row of some of the schema's attributes (shuffled, as a SELECT may order them),
    plus ``extra`` columns, and the same values as an object."""
    obj = _object(schema, rng)
    names = [n for n in vars(obj) if n.isidentifier()]
    rng.shuffle(names)
    method_reads = ("sender_email", "sender_name", "forwarded_by_email", "forwarded_by_user_id")
    keep = [n for n in names if n in method_reads or rng.random() < 0.9] + [e for e in extra if e not in names]
    Row = namedtuple("Row", keep, rename=False)
    return Row(*(getattr(obj, n, None) for n in keep)), obj


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda c: c.__name__)
def test_rows_dump_as_marshmallow_does(schema_class):
    schema = schema_class()
    rng = random.Random(schema_class.__name__ + " rows")
    for _ in range(200):
        row, _obj = _row(schema, rng, extra=("spare",))
        fast = row_dumper(schema, row._fields)(row)
        assert fast == schema.dump(row) == dumper(schema)(row)
        assert list(fast) == list(schema.dump(row))  # the same key order (the JSON text)


def test_missing_columns_left_out_and_methods_still_called():
    schema = mail_schemas.MessageSchema(exclude=("participants", "attachments"))
    Row = namedtuple("Row", "id subject sender_email sender_name forwarded_by_email forwarded_by_user_id sent_at")
    row = Row(7, 12, "a@b.example", "A", None, None, None)
    out = row_dumper(schema, Row._fields)(row)
    assert out == {"id": 7, "subject": "12", "sent_at": None, "sender": {"email": "a@b.example", "name": "A"},
                   "forwarded_by": None}
    assert out == schema.dump(row)


def test_fields_it_does_not_read_by_position_fall_back():
    class Odd(Schema):
        amount = schemas.Money()
        fallback = fields.Str(dump_default="none given")
        count = fields.Int(as_string=True)
        when = fields.DateTime(format="%Y")

    import datetime
    from decimal import Decimal
    Row = namedtuple("Row", "amount count when")
    row = Row(Decimal("1.50"), 3, datetime.datetime(2026, 5, 1))
    assert row_dumper(Odd(), Row._fields)(row) == Odd().dump(row) == {
        "amount": 1.5, "fallback": "none given", "count": "3", "when": "2026"}
