"""Every real-world mail of the shared corpus goes through the whole pipeline without being lost."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from backend.models import InboundRecord, MailMessage
from backend.pipeline.runner import process_inbound

from ..corpus import corpus_files

FILES = [p for p in corpus_files() if p.suffix in (".eml", ".txt", ".msg", "") or p.parent.name == "cpython"]


def _deliver(services, account, raw: bytes) -> int:
    """Stores ``raw`` as an accepted arrival for ``account`` (as intake would) and returns the record id."""
    digest = services.blobs.put(raw)
    with services.db.session() as session:
        record = InboundRecord(company_id=account.company_id, user_id=account.user_id, source="http",
                               recipients=[{"address": account.bcc_address, "kind": "company", "item_id": None}],
                               raw_sha256=digest, raw_size=len(raw), status="received", decisions=[])
        session.add(record)
        session.flush()
        return record.id


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_message_is_stored_or_explained(services, acme, path):
    raw = path.read_bytes()
    record_id = _deliver(services, acme, raw)
    status = process_inbound(services, record_id)
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        assert status in ("processed", "duplicate"), record.error
        assert record.status == status and record.error is None
        message = session.get(MailMessage, record.message_id)
        assert message is not None and message.raw_sha256 == hashlib.sha256(raw).hexdigest()
        stages = [d["stage"] for d in record.decisions]
        assert stages[0] == "parse" and "authorize" in stages


def test_bounces_are_flagged_and_kept_out_of_sales_threads(services, acme):
    from backend.models import MailThread, Person

    bounces = [p for p in corpus_files("flanker/bounce/*") if p.is_file()]
    assert bounces
    for path in bounces:
        process_inbound(services, _deliver(services, acme, path.read_bytes()))
    with services.db.session() as session:
        rows = session.execute(select(MailMessage.auto_kind, MailThread.auto).join(
            MailThread, MailThread.id == MailMessage.thread_id)).all()
        persons = session.scalars(select(Person)).all()
    assert len(rows) == len(bounces)
    flagged = [auto for kind, auto in rows if kind == "bounce"]
    # Every file in bounce/ is a delivery report of some kind.
    assert len(flagged) == len(bounces), rows
    assert all(flagged), "a bounce started a sales thread"
    assert persons == [], "a bounce created contacts"
