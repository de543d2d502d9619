"""Runs the stages over one inbound record; a failure keeps the record as `failed` for a retry.

Celery workers (issue 18, the Procfile topology): a `process_inbound` task runs
``process_waiting``, which takes its record *and the others waiting* (status ``received``,
oldest first, up to BATCH_SIZE in all) and runs them through ``process_batch``, so a backlog
drains ten records per transaction instead of one commit per message. Why: one record per task
costs ~45 ms p50 on PostgreSQL, and two worker processes sharing 2 cores with web and SMTP fall
behind at 30 msg/s, after which every mail waits behind the backlog. Measured (PostgreSQL, 200
records each way, in-process): one record per transaction 24 ms CPU, 52 ms wall and 17 statements
a record; claimed batches (counting the tasks that find their record done) 18 ms, 45 ms and 12.
bench/latency.py --topology procfile, 250 -> listed by the API, p99 ms, four rounds alternating
old/new on a machine loaded by other jobs (load 6-11 on 2 cores; the sender reached only 13-23 of
the 30 msg/s): at 30 msg/s old 24353, 21961, 31173, 17374, new 3931, 3832, 9818, 6475; at 10 msg/s
(noisier) old 8829, 2394, 7402, 1255, new 2171, 3493, 2921, 2543.

Claiming. The records are claimed inside the transaction that processes them, with row locks:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint records
without waiting for each other's (two batches may still wait on a row both write, such as a new
contact both create; the second then collides and runs its record again). A record locked by
another worker is left to it (its status here is ``claimed``): the other commits it, or rolls back
and runs it again itself (one bad mail alone, exactly as ``process_batch`` isolates it), or dies,
which releases the lock and leaves the record ``received`` for ``resume_pending`` (every minute).
A mail that kills the worker process must not kill every batch it is claimed into: only records
received within CLAIM_FRESH (60 s) are claimed as waiting ones, and a task whose own record is
older runs it alone, so after at most a minute such a mail only ever takes itself down (as the
embedded pipeline process isolates the record it was working on, backend/jobs.py).
No claim column: a lock needs no cleanup and no migration. The task of a record another worker's
batch already processed (or failed) ends at once, after one SELECT. On SQLite (no row locks; Celery
there is not a production topology) a task processes its own record only, as before: serialising
claimers by taking the write lock before reading meant holding it while a whole batch is parsed,
and the other writers starved (tests/reliability/test_scale_out.py on SQLite: web requests timed
out in 4 runs of 5, in none of 3 before; 3 of 3 pass with this fallback). The embedded pipeline
process does not claim: it alone runs the pipeline and already batches what waits in its pipe
(backend/jobs.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from ..tasks import task
from ..domain import search_index
from ..models import InboundRecord
from .authorize import Authorize
from .contacts import Contacts
from .batch import BatchLookups
from .context import Context, StopPipeline
from .dedupe import Dedupe, dedupe_key
from .links import Links
from .parse import Parse
from .participants import Participants, list_participants
from . import persist
from .persist import Persist
from .route import Route
from .thread import Thread, lookup_keys
from .unwrap import UnwrapForward
from .visibility import Visibility

log = logging.getLogger(__name__)

STAGES = (Parse(), Route(), Authorize(), UnwrapForward(), Dedupe(), Participants(), Thread(),
          Contacts(), Links(), Visibility(), Persist())
DONE = ("processed", "duplicate")
# Two arrivals of one message processed at once collide on the unique keys;
# the loser runs again and then finds the winner's copy.
CONFLICT_RETRIES = 3
# Records processed in one transaction by process_batch (the embedded pipeline process hands it
# what has queued up). Bigger batches mean fewer commits, but on SQLite a longer hold of the write
# lock that acceptance also needs (bench/ingest.py measures both).
BATCH_SIZE = 10
# Celery workers claim into a batch only records received this recently (resume_pending's period):
# a record older than that was left by a batch that did not finish, and runs alone (process_waiting).
CLAIM_FRESH = timedelta(seconds=60)
# Stages that only read the stored mail (no database): run for a whole batch before it writes.
EARLY = tuple(s for s in STAGES if s.name in ("parse", "unwrap_forward"))
LATE = tuple(s for s in STAGES if s not in EARLY)
_ORDER = {s.name: i for i, s in enumerate(STAGES)}


class StageFailed(Exception):
    def __init__(self, stage: str, exc: Exception):
        super().__init__(f"stage {stage} failed: {exc.__class__.__name__}: {exc}")
        self.stage = stage


@task("process_inbound")
def process_inbound(services, record_id: int, claim: bool = False) -> str:
    """Processes one record; returns its final status. Safe to run twice.

    ``claim``: lock the record first; if another worker holds it, leave it (``claimed``)."""
    for _attempt in range(CONFLICT_RETRIES):
        try:
            done, alone = _process_together(services, [record_id], claim=claim)
            if alone:
                raise alone[0][1]
            return done[record_id]
        except _RecordFailed as failed:
            exc = failed.exc
        except Exception as other:  # noqa: BLE001 - e.g. the commit itself
            exc = other
        if isinstance(exc, IntegrityError):
            log.info("record %s collided with a concurrent arrival; running again", record_id)
            continue
        return _mark_failed(services, record_id, exc, claim=claim)
    return _mark_failed(services, record_id, RuntimeError("kept colliding with concurrent arrivals"),
                        claim=claim)


@task("process_inbound_waiting")
def process_waiting(services, record_id: int) -> str:
    """A Celery worker's ``process_inbound``: the record and those waiting behind it, claimed and
    processed together (module docstring); returns the record's status (``claimed`` if another
    worker holds it). On SQLite: ``process_inbound`` (module docstring)."""
    if services.db.is_sqlite:
        return process_inbound(services, record_id)
    with services.db.session() as session:
        row = session.execute(select(InboundRecord.status, InboundRecord.received_at)
                              .where(InboundRecord.id == record_id)).first()
    if row is None:
        log.warning("inbound record %s does not exist", record_id)
        return "missing"
    if row.status != "received":  # done (or failed) in another worker's batch: nothing to do
        return row.status
    # A record left waiting longer than CLAIM_FRESH (its batch's worker died, or it waited for
    # resume_pending) runs alone, with no others: a mail that kills the worker takes none with it.
    fresh = row.received_at >= datetime.now(timezone.utc) - CLAIM_FRESH
    return process_batch(services, [record_id], claim=True, take_waiting=fresh)[record_id]


@task("process_inbound_batch")
def process_batch(services, record_ids: list[int], claim: bool = False,
                  take_waiting: bool = False) -> dict[int, str]:
    """Processes several records, up to BATCH_SIZE per transaction; returns id -> final status.

    Each record ends exactly as ``process_inbound`` would leave it: one that fails is run
    again alone (a collision with a concurrent arrival is retried there, anything else is kept
    as ``failed`` with its error) and the others of its batch are processed without it.
    ``claim`` (Celery workers): lock each record, leaving those another worker holds
    (``claimed``); ``take_waiting``: the first transaction also claims the records waiting,
    oldest first, up to BATCH_SIZE (they are in the result too)."""
    pending = list(dict.fromkeys(record_ids))
    results: dict[int, str] = {}
    while pending:
        batch, pending = pending[:BATCH_SIZE], pending[BATCH_SIZE:]
        while batch:
            fill, take_waiting = (BATCH_SIZE if take_waiting else 0), False
            if len(batch) == 1 and not fill:
                results[batch[0]] = process_inbound(services, batch[0], claim=claim)
                break
            taken = list(batch)  # and the waiting records claimed with them
            try:
                done, alone = _process_together(services, taken, claim=claim, fill=fill)
            except _RecordFailed as failed:
                # Rolled back: that record alone, then the rest of the batch again without it.
                results[failed.record_id] = process_inbound(services, failed.record_id, claim=claim)
                batch = [i for i in taken if i != failed.record_id]
                continue
            except Exception:  # noqa: BLE001 - the commit failed: no record to blame, each runs alone
                log.info("a batch of %d records failed to commit; running each alone", len(taken))
                for record_id in taken:
                    results[record_id] = process_inbound(services, record_id, claim=claim)
                break
            results.update(done)
            for record_id, _exc in alone:
                results[record_id] = process_inbound(services, record_id, claim=claim)
            # Records after one that had to be committed at once (see Context.commit_now).
            batch = [i for i in taken if i not in results]
    return results


class _RecordFailed(Exception):
    """One record of a batch failed after the batch had written: everything is rolled back."""

    def __init__(self, record_id: int, exc: Exception):
        super().__init__(f"record {record_id}: {exc}")
        self.record_id, self.exc = record_id, exc


def _process_together(services, record_ids: list[int], claim: bool = False,
                      fill: int = 0) -> tuple[dict[int, str], list[tuple[int, Exception]]]:
    """Runs the stages over ``record_ids`` in one session and one transaction.

    Returns the statuses of the records done, and the records that failed before the
    batch wrote anything (left untouched, to be run alone). A failure once the batch has
    written raises ``_RecordFailed`` (the transaction is rolled back). Stops after a record
    that must be committed at once; the records after it are neither done nor failed.
    ``claim``: the records are locked first, those another worker holds are ``claimed``;
    ``fill``: other ``received`` records are claimed too until ``fill`` records are to be processed;
    they are appended to ``record_ids`` (the caller's list) before anything can fail."""
    done: dict[int, str] = {}
    alone: list[tuple[int, Exception]] = []
    with services.db.session() as session:
        lookups = BatchLookups()
        records = _claim(session, record_ids, fill, done) if claim else {
            r.id: r for r in session.scalars(select(InboundRecord).where(InboundRecord.id.in_(record_ids)))}
        # 1. Reading the stored mail (parse, forward unwrapping): no database, so done for every
        #    record before the batch writes anything (on SQLite the write lock is not held meanwhile).
        ready: list[Context] = []
        for record_id in record_ids:
            if record_id in done:  # claimed by another worker
                continue
            record = records.get(record_id)
            if record is None:
                log.warning("inbound record %s does not exist", record_id)
                done[record_id] = "missing"
                continue
            if record.status in DONE:
                done[record_id] = record.status
                continue
            # raw=None: the parse stage reads the stored file itself, in slices.
            ctx = Context(services=services, session=session, record=record, raw=None, lookups=lookups)
            try:
                if not services.blobs.exists(record.raw_sha256):
                    raise FileNotFoundError(
                        f"the raw message {record.raw_sha256[:12]} is missing from the blob store")
                if not _run_stages(ctx, EARLY):
                    raise RuntimeError("an early stage ended the pipeline")  # none does
            except Exception as exc:  # noqa: BLE001 - run alone: it fails (and is kept) by itself
                alone.append((record_id, exc))
                continue
            ready.append(ctx)
        # 2. What the batch will ask about, asked once.
        _prefetch(session, ready)
        # 3. The stages that read and write the database, record after record; each stored
        #    message's search document is built once, at the end (backend/domain/search_index.py).
        #    The records' own updates wait for the end: one UPDATE for the batch, not one per record
        #    (a later record's first query would flush each on its own).
        if ready:
            search_index.defer(session)
        # Persist leaves each message in the session: the batch's messages, threads, links and
        # participants go out together after the last record (persist.written), one INSERT per table.
        lookups.defer_writes = True
        finished: list[tuple[Context, str, dict]] = []
        for ctx in ready:
            try:
                status = "processed" if _run_stages(ctx, LATE) else "duplicate"
            except Exception as exc:
                raise _RecordFailed(ctx.record.id, exc) from exc
            finished.append((ctx, status, _hold_changes(session, ctx.record)))
            done[ctx.record.id] = status
            if ctx.commit_now:
                break
        unwritten = lookups.take_unwritten()
        if unwritten:  # a failure here has no record to blame: process_batch runs each alone
            persist.written(session, unwritten)
        for ctx, status, held in finished:
            _finish(ctx, status, held)
        if ready:
            search_index.build(session)
    return done, alone


def _claim(session, record_ids: list[int], fill: int, done: dict[int, str]) -> dict:
    """Locks ``record_ids``, then other ``received`` records (oldest first) until ``fill`` are to be
    processed, skipping rows another transaction holds; returns id -> record of those claimed.
    PostgreSQL only: SQLite has no row locks (process_waiting does not claim there)."""
    records = {r.id: r for r in session.scalars(
        select(InboundRecord).where(InboundRecord.id.in_(record_ids))
        .with_for_update(skip_locked=True))}
    absent = [i for i in record_ids if i not in records]
    if absent:  # missing (reported as such later), or held by another worker
        for record_id in session.scalars(select(InboundRecord.id).where(InboundRecord.id.in_(absent))):
            done[record_id] = "claimed"
    waiting = fill - sum(1 for r in records.values() if r.status not in DONE)
    if waiting > 0:
        for record in session.scalars(
                select(InboundRecord)
                .where(InboundRecord.status == "received", InboundRecord.id.not_in(record_ids),
                       # Only records that arrived lately: one left over from a batch whose worker
                       # died is not taken into another batch (process_waiting runs it alone).
                       InboundRecord.received_at >= datetime.now(timezone.utc) - CLAIM_FRESH)
                .order_by(InboundRecord.id).limit(waiting).with_for_update(skip_locked=True)):
            records[record.id] = record
            record_ids.append(record.id)
    return records


def _run_stages(ctx: Context, stages) -> bool:
    """Runs ``stages`` in order; False when one ended the pipeline (a duplicate)."""
    for stage in stages:
        try:
            stage.run(ctx)
        except StopPipeline:
            return False
        except IntegrityError:
            raise
        except Exception as exc:
            raise StageFailed(stage.name, exc) from exc
    return True


def _prefetch(session, contexts: list[Context]) -> None:
    """The batch's participants (company users, contacts), dedupe keys and the conversations its
    mails could join (by subject or Message-ID), in a few queries."""
    by_company: dict[int, list[Context]] = {}
    for ctx in contexts:
        by_company.setdefault(ctx.company_id, []).append(ctx)
    for company_id, group in by_company.items():
        emails = {p.address.key for ctx in group
                  for p in list_participants(ctx.view, ctx.settings.mail_domain)[0]}
        group[0].lookups.prefetch_people(session, company_id, emails)
        group[0].lookups.prefetch_messages(session, company_id, (dedupe_key(ctx) for ctx in group))
        keys = [lookup_keys(ctx.view) for ctx in group]
        group[0].lookups.prefetch_threads(session, company_id, (subject for subject, _ids in keys),
                                          (i for _subject, ids in keys for i in ids))


def _hold_changes(session, record: InboundRecord) -> dict:
    """What the stages changed on the record (persist's message_id), taken back until ``_finish``
    sets it again with the status: then the batch's records go out in one UPDATE at its end."""
    state = inspect(record)
    changed = {attr.key: attr.value for attr in state.attrs if attr.history.has_changes()}
    if changed:
        session.expire(record, list(changed))  # drops the pending change; nothing reads it meanwhile
    return changed


def _finish(ctx: Context, status: str, held: dict | None = None) -> None:
    record = ctx.record
    for key, value in (held or {}).items():
        setattr(record, key, value)
    # The stages ran early ones first: their decisions are listed in the pipeline's order.
    decisions = sorted(ctx.decisions, key=lambda d: _ORDER.get(d.get("stage"), len(_ORDER)))
    record.decisions = _intake_decisions(record) + decisions
    record.status = status
    record.error = None
    record.attempts = (record.attempts or 0) + 1
    record.processed_at = datetime.now(timezone.utc)


def _intake_decisions(record: InboundRecord) -> list[dict]:
    return [d for d in (record.decisions or []) if d.get("stage") == "intake"]


def _mark_failed(services, record_id: int, exc: Exception, claim: bool = False) -> str:
    # Our fault, logged loudly; the message stays for `smartbcc inbound retry`.
    log.exception("processing inbound record %s failed", record_id, exc_info=exc)
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id, with_for_update=claim)
        if record is None:
            return "missing"
        if claim and record.status in DONE:  # another worker processed it meanwhile
            return record.status
        message = str(exc)[:2000] if isinstance(exc, StageFailed) else f"{exc.__class__.__name__}: {exc}"[:2000]
        record.status = "failed"
        record.error = message
        record.attempts = (record.attempts or 0) + 1
        record.decisions = _intake_decisions(record) + [
            {"stage": "pipeline", "outcome": "failed", "reason": message}]
    return "failed"


def retry_failed(services, record_ids: list[int] | None = None) -> dict[int, str]:
    """Runs failed records again (all, or the given ones); returns id -> new status."""
    with services.db.session() as session:
        query = select(InboundRecord.id).where(InboundRecord.status == "failed")
        if record_ids:
            query = query.where(InboundRecord.id.in_(record_ids))
        ids = list(session.scalars(query.order_by(InboundRecord.id)))
    results = {}
    for record_id in ids:
        with services.db.session() as session:
            session.get(InboundRecord, record_id).status = "received"
        results[record_id] = process_inbound(services, record_id)
    return results


@task("resume_pending")
def resume_pending(services, older_than_seconds: float = 0) -> int:
    """Queues records accepted but never processed (a crash between 250 and processing)."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_seconds)
    with services.db.session() as session:
        ids = list(session.scalars(select(InboundRecord.id).where(
            InboundRecord.status == "received", InboundRecord.received_at <= cutoff)
            .order_by(InboundRecord.id)))
    for record_id in ids:
        services.jobs.enqueue("process_inbound", record_id)
    if ids:
        log.info("resumed %d inbound record(s) left unprocessed", len(ids))
    return len(ids)
