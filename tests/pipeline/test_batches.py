"""Several records in one transaction (runner.process_batch): the same outcome as one at a time, in
fewer statements, and one bad mail still fails alone and is kept."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.intake.accept import accept_message
from backend.models import InboundRecord, MailMessage, Participant, Person, PersonEmail
from backend.pipeline import runner
from backend.pipeline.parse import Parse
from backend.pipeline.thread import Thread


def _mail(n: int, *, subject: str | None = None, to: str = "Bob Buyer <bob@cust.example>",
          cc: str | None = "Carol <carol@cust.example>", msgid: str | None = None) -> bytes:
    lines = ["From: Alice <alice@acme.example>", f"To: {to}"]
    if cc:
        lines.append(f"Cc: {cc}")
    lines += [f"Subject: {subject or f'Order {n}'}", f"Message-ID: <{msgid or f'batch-{n}@acme.example'}>",
              f"Date: Mon, 3 Mar 2025 10:{n % 60:02d}:00 +0000"]
    return ("\r\n".join(lines) + f"\r\n\r\nHello Bob, about order {n}.\r\n").encode()


@pytest.fixture
def accept(services, acme, monkeypatch):
    """accept(raw) -> record id, left `received` (nothing queued: the test runs the pipeline)."""
    monkeypatch.setattr(services.jobs, "enqueue", lambda *a, **k: None)

    def run(raw: bytes) -> int:
        (record_id,) = accept_message(services, raw, source="smtp", recipients=[acme.bcc_address])
        return record_id
    return run


def _records(services, ids) -> dict[int, InboundRecord]:
    with services.db.session() as session:
        return {r.id: r for r in session.scalars(select(InboundRecord).where(InboundRecord.id.in_(ids)))}


def _count(services, model) -> int:
    with services.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_batch_ends_like_one_at_a_time(services, acme, accept):
    alone = [accept(_mail(n)) for n in range(3)]
    together = [accept(_mail(n, msgid=f"other-{n}@acme.example", subject=f"Other {n}",
                             to="Dave <dave@cust.example>", cc="Erin <erin@cust.example>")) for n in range(3)]
    for record_id in alone:
        assert runner.process_inbound(services, record_id) == "processed"
    assert runner.process_batch(services, together) == {i: "processed" for i in together}

    records = _records(services, alone + together)
    for one, other in zip(alone, together):
        a, b = records[one], records[other]
        assert b.status == "processed" and b.error is None and b.attempts == 1 and b.message_id
        # The same decisions, stage for stage, in the pipeline's order.
        assert [(d["stage"], d["outcome"]) for d in a.decisions] == [(d["stage"], d["outcome"]) for d in b.decisions]
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Participant)) == 6 * 3
        # Each customer became a contact once, whichever way their mails came.
        assert sorted(session.scalars(select(PersonEmail.email))) == [
            "bob@cust.example", "carol@cust.example", "dave@cust.example", "erin@cust.example"]
        people = dict(session.execute(select(Participant.email, Participant.person_id)
                                      .where(Participant.email.like("%cust.example"))).all())
        assert all(people.values())


def test_contacts_made_by_one_mail_of_a_batch_serve_the_next(services, accept):
    ids = [accept(_mail(n, to=f"New Customer <new{n % 2}@cust.example>", cc=None)) for n in range(4)]
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    assert _count(services, Person) == 2
    records = _records(services, ids)
    created = [next(d for d in records[i].decisions if d["stage"] == "contacts")["outcome"] for i in ids]
    assert created == ["created", "created", "none", "none"]


def test_two_copies_in_one_batch_are_stored_once(services, accept):
    ids = [accept(_mail(1)), accept(_mail(1)), accept(_mail(2))]
    assert runner.process_batch(services, ids) == {ids[0]: "processed", ids[1]: "duplicate", ids[2]: "processed"}
    assert _count(services, MailMessage) == 2
    records = _records(services, ids)
    assert records[ids[1]].message_id == records[ids[0]].message_id


def test_a_batch_takes_fewer_statements_per_mail(services, accept, sql_statements):
    alone = [accept(_mail(n)) for n in range(6)]
    together = [accept(_mail(n, msgid=f"b-{n}@acme.example", subject=f"B {n}")) for n in range(6)]
    sql_statements.clear()
    for record_id in alone:
        runner.process_inbound(services, record_id)
    one_at_a_time = len(sql_statements)
    sql_statements.clear()
    runner.process_batch(services, together)
    batched = len(sql_statements)
    assert batched <= one_at_a_time - 3 * len(together), (one_at_a_time, batched)
    # The batch's messages, threads and participants are written after its last thread lookup, in
    # one INSERT per table (PostgreSQL; SQLite's driver sends the ORM's rows one by one).
    writes = [i for i, s in enumerate(sql_statements) if s.startswith("INSERT INTO mail_messages ")]
    assert not [s for s in sql_statements[writes[0]:] if s.startswith("SELECT mail_threads.")]
    assert len([s for s in sql_statements if s.startswith("INSERT INTO participants ")]) == 1
    if not services.db.is_sqlite:
        for table in ("mail_messages", "mail_threads", "thread_links"):
            assert len([s for s in sql_statements if s.startswith(f"INSERT INTO {table} ")]) == 1, table


def _fail_for(monkeypatch, stage_cls, subject: str, message: str):
    original = stage_cls.run

    def run(self, ctx):
        if (ctx.parsed.subject if ctx.parsed else "") == subject:
            raise RuntimeError(message)
        return original(self, ctx)
    monkeypatch.setattr(stage_cls, "run", run)


@pytest.mark.parametrize("stage_cls,name", [(Parse, "parse"), (Thread, "thread")])
def test_one_bad_mail_fails_alone_and_is_kept(services, accept, monkeypatch, stage_cls, name):
    """Parse fails before the batch writes; thread fails after earlier mails of the batch wrote (the
    batch is rolled back, the bad mail runs alone, the others again without it)."""
    ids = [accept(_mail(n)) for n in range(5)]
    if stage_cls is Parse:
        original = Parse.run

        def run(self, ctx):
            if ctx.record.id == ids[2]:
                raise RuntimeError("cannot read this one")
            return original(self, ctx)
        monkeypatch.setattr(Parse, "run", run)
    else:
        _fail_for(monkeypatch, Thread, "Order 2", "cannot read this one")
    results = runner.process_batch(services, ids)
    assert results == {**{i: "processed" for i in ids}, ids[2]: "failed"}
    records = _records(services, ids)
    bad = records[ids[2]]
    assert bad.error == f"stage {name} failed: RuntimeError: cannot read this one"
    assert bad.attempts == 1 and bad.message_id is None
    assert [d["stage"] for d in bad.decisions] == ["intake", "pipeline"]
    assert all(records[i].attempts == 1 and records[i].error is None for i in ids if i != ids[2])
    assert _count(services, MailMessage) == 4
    monkeypatch.undo()
    assert runner.retry_failed(services) == {ids[2]: "processed"}


def test_a_missing_file_fails_its_record_only(services, accept):
    ids = [accept(_mail(n)) for n in range(3)]
    with services.db.session() as session:
        session.get(InboundRecord, ids[1]).raw_sha256 = "0" * 64
    assert runner.process_batch(services, ids) == {ids[0]: "processed", ids[1]: "failed", ids[2]: "processed"}
    assert "missing from the blob store" in _records(services, [ids[1]])[ids[1]].error


def test_a_collision_in_a_batch_is_retried_alone(services, accept, monkeypatch):
    """Another worker stores the same mail while the batch runs: the unique key stops the batch,
    and the record, run again alone, finds the other copy."""
    from sqlalchemy.exc import IntegrityError

    ids = [accept(_mail(n)) for n in range(3)]
    original = Thread.run
    raised = []

    def run(self, ctx):
        if ctx.record.id == ids[1] and not raised:
            raised.append(1)
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return original(self, ctx)
    monkeypatch.setattr(Thread, "run", run)
    assert runner.process_batch(services, ids) == {i: "processed" for i in ids}
    assert raised == [1]


def test_records_done_or_missing_are_left_as_they_are(services, accept):
    ids = [accept(_mail(n)) for n in range(2)]
    assert runner.process_inbound(services, ids[0]) == "processed"
    assert runner.process_batch(services, [ids[0], ids[1], 999_999]) == {
        ids[0]: "processed", ids[1]: "processed", 999_999: "missing"}
    assert _records(services, [ids[0]])[ids[0]].attempts == 1


def test_batches_are_cut_to_the_batch_size(services, accept, monkeypatch, sql_statements):
    monkeypatch.setattr(runner, "BATCH_SIZE", 2)
    ids = [accept(_mail(n)) for n in range(5)]
    sql_statements.clear()
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    loads = [s for s in sql_statements if s.startswith("SELECT inbound_records.id")]
    assert len(loads) == 3  # 2 + 2 + 1


def test_a_batch_reads_its_contacts_names_and_items_once(services, acme, accept, sql_statements):
    """The contacts' names and their leads/projects/open deals: one read for the batch, not per mail;
    a contact the batch creates needs no read at all."""
    from backend.addresses import new_item_token
    from backend.models import Deal

    with services.db.session() as session:
        bob = Person(company_id=acme.company_id, name="Bob Buyer", owner_id=acme.user_id)
        bob.emails.append(PersonEmail(company_id=acme.company_id, email="bob@cust.example", primary=True))
        session.add(bob)
        session.flush()
        session.add(Deal(company_id=acme.company_id, title="Bob's order", person_id=bob.id, status="open",
                         owner_id=acme.user_id, bcc_token=new_item_token()))
    ids = [accept(_mail(n)) for n in range(4)]
    sql_statements.clear()
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    names = [s for s in sql_statements if s.startswith("SELECT persons.id, persons.name")]
    items = [s for s in sql_statements if "AS kind" in s and "FROM leads" in s]
    assert (len(names), len(items)) == (1, 1), sql_statements
    # What was read once still links every mail of the batch: Bob's only open deal.
    records = _records(services, ids)
    for record_id in ids:
        link = next(d for d in records[record_id].decisions if d["stage"] == "links" and d.get("item_type"))
        assert link["item_type"] == "deal"


def test_a_new_conversation_is_written_in_one_insert(services, accept, sql_statements):
    """A new thread goes out once, with its links, visibility and summary: no UPDATE after its INSERT."""
    ids = [accept(_mail(n, subject=f"Fresh {n}")) for n in range(3)]
    sql_statements.clear()
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    assert len([s for s in sql_statements if s.startswith("INSERT INTO mail_threads")]) == (
        3 if services.db.is_sqlite else 1)  # (SQLite's driver: row by row)
    assert [s for s in sql_statements if s.startswith("UPDATE mail_threads")] == []
    with services.db.session() as session:
        from backend.models import MailThread
        threads = session.scalars(select(MailThread).order_by(MailThread.id)).all()
        assert [(t.message_count, bool(t.snippet), t.first_message_at is not None) for t in threads] == [
            (1, True, True)] * 3


def _conversation(tag: str) -> list[bytes]:
    """A mail, a reply to it, a mail with the same subject to the same customer, a second copy of
    the first, and an unrelated mail: each but the last finds what an earlier one of them wrote."""
    first = _mail(1, subject=f"Quote {tag}", msgid=f"{tag}-1@acme.example")
    reply = _mail(2, subject=f"Re: Quote {tag}", msgid=f"{tag}-2@acme.example").replace(
        b"\r\n\r\n", f"\r\nIn-Reply-To: <{tag}-1@acme.example>\r\n\r\n".encode(), 1)
    same_subject = _mail(3, subject=f"Quote {tag}", msgid=f"{tag}-3@acme.example", cc=None)
    return [first, reply, same_subject, first, _mail(4, subject=f"Other {tag}", msgid=f"{tag}-4@acme.example")]


def _outcome(services, ids) -> list[tuple]:
    """Per record: its status, its decisions (stage, outcome), and which of the mails' threads it is in."""
    records = _records(services, ids)
    with services.db.session() as session:
        thread_of = dict(session.execute(select(MailMessage.id, MailMessage.thread_id)).all())
    first_seen: dict[int, int] = {}
    out = []
    for record_id in ids:
        r = records[record_id]
        thread = thread_of[r.message_id]
        # (contacts: the first run made the customers contacts, the second finds them)
        out.append((r.status, [(d["stage"], d["outcome"]) for d in r.decisions if d["stage"] != "contacts"],
                    first_seen.setdefault(thread, len(first_seen))))
        persist = [d for d in r.decisions if d["stage"] == "persist"]
        assert all(d["message_id"] == r.message_id and d["thread_id"] == thread for d in persist)
    return out


def test_a_batch_finds_what_its_own_earlier_mails_wrote(services, accept):
    """Persist leaves a batch's messages unwritten until its end; a reply, a mail with the same subject
    and a second copy later in the same batch still find them, as one at a time they would."""
    alone = [accept(raw) for raw in _conversation("alone")]
    for record_id in alone:
        runner.process_inbound(services, record_id)
    together = [accept(raw) for raw in _conversation("batch")]
    assert runner.process_batch(services, together) == dict(zip(together, [
        "processed", "processed", "processed", "duplicate", "processed"]))
    expected = _outcome(services, alone)
    assert [thread for *_rest, thread in expected] == [0, 0, 0, 0, 1]
    assert _outcome(services, together) == expected
    with services.db.session() as session:
        counts = dict(session.execute(select(MailMessage.thread_id, func.count()).group_by(MailMessage.thread_id)).all())
    assert sorted(counts.values()) == [1, 1, 3, 3]


def test_a_batch_joins_conversations_stored_before_it(services, accept, sql_statements):
    """The batch asks once which of its subjects and Message-IDs are stored: a reply and a mail with
    a known subject join their conversations, the new ones start theirs without a lookup each."""
    earlier = accept(_mail(1, subject="Quote old", msgid="old-1@acme.example"))
    assert runner.process_inbound(services, earlier) == "processed"
    reply = _mail(2, subject="Re: something else", msgid="old-2@acme.example").replace(
        b"\r\n\r\n", b"\r\nReferences: <old-1@acme.example>\r\n\r\n", 1)
    ids = [accept(reply), accept(_mail(3, subject="Quote old", msgid="old-3@acme.example", cc=None))]
    ids += [accept(_mail(n, subject=f"New {n}", msgid=f"new-{n}@acme.example")) for n in range(4, 8)]
    sql_statements.clear()
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    records = _records(services, [earlier, *ids])
    threads = [next(d for d in records[i].decisions if d["stage"] == "thread") for i in ids]
    assert [t["outcome"] for t in threads] == ["references", "subject", "new", "new", "new", "new"]
    with services.db.session() as session:
        first_thread = session.get(MailMessage, records[earlier].message_id).thread_id
        assert [session.get(MailMessage, records[i].message_id).thread_id for i in ids[:2]] == [first_thread] * 2
    # Two lookups for the two that join; none for the four new ones (one question for the batch).
    assert len([s for s in sql_statements if s.startswith("SELECT mail_threads.id")]) == 2


def test_a_mail_written_at_once_is_still_found_by_the_next_of_its_batch(services, acme, accept):
    """A rep with announced mail waiting: persist writes that mail at once (its announcement is settled
    with its id); a later mail of the batch with the same subject still joins its conversation."""
    from backend.models import SentAnnouncement

    with services.db.session() as session:
        session.add(SentAnnouncement(company_id=acme.company_id, user_id=acme.user_id, ref="waiting",
                                     address=acme.bcc_address, status="pending"))
    ids = [accept(_mail(1, subject="Quote announced", msgid="ann-1@acme.example")),
           accept(_mail(2, subject="Quote announced", msgid="ann-2@acme.example", cc=None))]
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    records = _records(services, ids)
    assert [next(d for d in records[i].decisions if d["stage"] == "thread")["outcome"] for i in ids] == [
        "new", "subject"]


def test_mails_without_a_subject_are_written_together(services, accept, sql_statements):
    """An empty subject never joins a conversation by subject: a batch of such mails is not written
    early for it (one INSERT of participants for the batch), and each starts its own conversation."""
    ids = [accept(_mail(n, subject=" ", msgid=f"nosubject-{n}@acme.example")) for n in range(3)]
    sql_statements.clear()
    assert set(runner.process_batch(services, ids).values()) == {"processed"}
    assert len([s for s in sql_statements if s.startswith("INSERT INTO participants ")]) == 1
    records = _records(services, ids)
    assert [next(d for d in records[i].decisions if d["stage"] == "thread")["outcome"] for i in ids] == ["new"] * 3
