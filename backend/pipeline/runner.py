"""Runs the stages over one inbound record; a failure keeps the record as `failed` for a retry."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..tasks import task
from ..models import InboundRecord
from .authorize import Authorize
from .contacts import Contacts
from .context import Context, StopPipeline
from .dedupe import Dedupe
from .links import Links
from .parse import Parse
from .participants import Participants
from .persist import Persist
from .route import Route
from .thread import Thread
from .unwrap import UnwrapForward
from .visibility import Visibility

log = logging.getLogger(__name__)

STAGES = (Parse(), Route(), Authorize(), UnwrapForward(), Dedupe(), Participants(), Thread(),
          Contacts(), Links(), Visibility(), Persist())
DONE = ("processed", "duplicate")
# Two arrivals of one message processed at once collide on the unique keys;
# the loser runs again and then finds the winner's copy.
CONFLICT_RETRIES = 3


class StageFailed(Exception):
    def __init__(self, stage: str, exc: Exception):
        super().__init__(f"stage {stage} failed: {exc.__class__.__name__}: {exc}")
        self.stage = stage


@task("process_inbound")
def process_inbound(services, record_id: int) -> str:
    """Processes one record; returns its final status. Safe to run twice."""
    for _attempt in range(CONFLICT_RETRIES):
        try:
            return _process_once(services, record_id)
        except IntegrityError:
            log.info("record %s collided with a concurrent arrival; running again", record_id)
            continue
        except Exception as exc:
            return _mark_failed(services, record_id, exc)
    return _mark_failed(services, record_id, RuntimeError("kept colliding with concurrent arrivals"))


def _process_once(services, record_id: int) -> str:
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        if record is None:
            log.warning("inbound record %s does not exist", record_id)
            return "missing"
        if record.status in DONE:
            return record.status
        if not services.blobs.exists(record.raw_sha256):
            raise FileNotFoundError(f"the raw message {record.raw_sha256[:12]} is missing from the blob store")
        # raw=None: the parse stage reads the stored file itself, in slices.
        ctx = Context(services=services, session=session, record=record, raw=None)
        status = "processed"
        for stage in STAGES:
            try:
                stage.run(ctx)
            except StopPipeline:
                status = "duplicate"
                break
            except IntegrityError:
                raise
            except Exception as exc:
                raise StageFailed(stage.name, exc) from exc
        record.decisions = _intake_decisions(record) + ctx.decisions
        record.status = status
        record.error = None
        record.attempts = (record.attempts or 0) + 1
        record.processed_at = datetime.now(timezone.utc)
    return status


def _intake_decisions(record: InboundRecord) -> list[dict]:
    return [d for d in (record.decisions or []) if d.get("stage") == "intake"]


def _mark_failed(services, record_id: int, exc: Exception) -> str:
    # Our fault, logged loudly; the message stays for `smartbcc inbound retry`.
    log.exception("processing inbound record %s failed", record_id, exc_info=exc)
    with services.db.session() as session:
        record = session.get(InboundRecord, record_id)
        if record is None:
            return "missing"
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
    from datetime import timedelta

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
