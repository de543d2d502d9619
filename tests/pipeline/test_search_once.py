"""Search documents written once per stored message (backend/domain/search_index.py, migration 0019):
the pipeline defers the triggers' work to the end of its batch, and what it stores is found exactly
as before; a deferral never outlives its transaction."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import insert, select, text

from backend.domain import search_index
from backend.intake.accept import accept_message
from backend.models import MailMessage, Participant
from backend.pipeline import runner


def _mail(n: int, *, attachment: str | None = None) -> bytes:
    head = ["From: Alice <alice@acme.example>", f"To: Bob Buyer <bob{n}@cust.example>",
            f"Cc: Carol Quimby{n} <carol{n}@cust.example>", f"Subject: Order {n}",
            f"Message-ID: <once-{n}@acme.example>", "Date: Mon, 3 Mar 2025 10:00:00 +0000", "MIME-Version: 1.0"]
    body = f"Hello Bob, the zanzibar{n} shipment is ready."
    if attachment is None:
        return ("\r\n".join(head) + "\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n").encode()
    data = base64.b64encode(b"%PDF-1.4 quote").decode()
    return ("\r\n".join(head) + '\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n"
            f'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="{attachment}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + data + "\r\n--b--\r\n").encode()


def _found(session, word: str) -> set[int]:
    """Ids of the messages whose search document holds ``word`` (the index itself, not the API)."""
    if session.get_bind().dialect.name == "postgresql":
        return set(session.scalars(text("SELECT id FROM mail_messages WHERE search_vector @@ "
                                         "to_tsquery('simple', :w)"), {"w": word}))
    return set(session.scalars(text("SELECT rowid FROM mail_search WHERE mail_search MATCH :w"),
                               {"w": f'"{word}"'}))


def _noted(session) -> list[int]:
    return list(session.scalars(text("SELECT message_id FROM mail_search_pending")))


@pytest.fixture
def stored(services, acme, monkeypatch):
    """Three mails through one pipeline batch; returns their message ids."""
    monkeypatch.setattr(services.jobs, "enqueue", lambda *a, **k: None)
    ids = [accept_message(services, _mail(n, attachment="quote-kestrel.pdf" if n == 2 else None),
                          source="smtp", recipients=[acme.bcc_address])[0] for n in range(3)]
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    with services.db.session() as session:
        return [session.scalar(select(MailMessage.id).where(MailMessage.subject == f"Order {n}")) for n in range(3)]


def test_what_a_batch_stores_is_found_by_every_part_of_it(services, stored):
    with services.db.session() as session:
        for n, message_id in enumerate(stored):
            assert _found(session, f"zanzibar{n}") == {message_id}      # body
            assert _found(session, f"quimby{n}") == {message_id}        # a Cc's name (written after the message)
            assert _found(session, f"carol{n}") == {message_id}         # a Cc's address
        assert _found(session, "kestrel") == {stored[2]}                # an attachment's name
        assert _noted(session) == []                                    # nothing of the deferral is left


def test_a_writer_that_does_not_defer_is_indexed_at_once(services, stored):
    with services.db.session() as session:
        session.execute(insert(Participant.__table__), [dict(
            company_id=session.get(MailMessage, stored[0]).company_id, message_id=stored[0], role="cc",
            email="dora@else.example", name="Dora Plover")])
        assert _found(session, "plover") == {stored[0]}


def test_a_rolled_back_deferral_leaves_nothing_behind(services, stored):
    company_id = None
    with pytest.raises(RuntimeError), services.db.session() as session:
        company_id = session.get(MailMessage, stored[1]).company_id
        search_index.defer(session)
        session.execute(insert(Participant.__table__), [dict(
            company_id=company_id, message_id=stored[1], role="cc", email="eve@else.example", name="Eve Heron")])
        assert _found(session, "heron") == set()    # deferred: noted, not yet written
        assert _noted(session)
        raise RuntimeError("the batch failed")
    with services.db.session() as session:
        assert _noted(session) == [] and _found(session, "heron") == set()
        # The next writer that does not defer is indexed at once (no deferral survived).
        session.execute(insert(Participant.__table__), [dict(
            company_id=company_id, message_id=stored[1], role="cc", email="fay@else.example", name="Fay Egret")])
        assert _found(session, "egret") == {stored[1]}


def test_deferred_changes_build_each_document_once(services, stored):
    """Three statements that each touch two messages: three builds of each document without the
    deferral, one with it (PostgreSQL counts the document function's calls in the transaction)."""
    with services.db.session() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        company_id = session.get(MailMessage, stored[0]).company_id
        if postgres:
            session.execute(text("SET LOCAL track_functions = 'pl'"))

        def calls() -> int:
            return session.scalar(text("SELECT coalesce(pg_stat_get_xact_function_calls("
                                       "'smartbcc_search_document(mail_messages)'::regprocedure), 0)"))

        def add(word: str) -> None:
            for i in range(3):
                session.execute(insert(Participant.__table__), [dict(
                    company_id=company_id, message_id=m, role="cc", email=f"{word}{i}@else.example",
                    name=f"{word.title()} {i}") for m in stored[:2]])

        before = calls() if postgres else 0
        add("ibis")
        assert _found(session, "ibis") == set(stored[:2])
        if postgres:
            assert calls() - before == 3 * 2
            before = calls()
        search_index.defer(session)
        add("wren")
        assert _found(session, "wren") == set()
        assert sorted(set(_noted(session)) - {0}) == sorted(stored[:2])
        search_index.build(session)
        assert _found(session, "wren") == set(stored[:2]) and _found(session, "ibis") == set(stored[:2])
        assert _noted(session) == []
        if postgres:
            assert calls() - before == 2
