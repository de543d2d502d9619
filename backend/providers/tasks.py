"""The provider jobs: the periodic tick (scheduled in backend.jobs.PERIODIC), one mailbox sync, one announced-message fetch."""
from __future__ import annotations

import logging

from sqlalchemy import or_, select

from ..models import MailboxConnection, SentAnnouncement
from ..tasks import task
from .connections import now_utc
from .fetch import fetch_announcement
from .sync import sync_connection

log = logging.getLogger(__name__)

@task("providers.tick")
def tick(services, now=None) -> dict:
    """Queues the syncs and announcement looks that are due; cheap when nothing is."""
    now = now or now_utc()
    with services.db.session() as session:
        conn_ids = list(session.scalars(select(MailboxConnection.id).where(
            MailboxConnection.status != "broken",
            or_(MailboxConnection.next_sync_at.is_(None), MailboxConnection.next_sync_at <= now))
            .order_by(MailboxConnection.next_sync_at)))
        ann_ids = list(session.scalars(select(SentAnnouncement.id).where(
            SentAnnouncement.status == "pending",
            or_(SentAnnouncement.next_attempt_at.is_(None), SentAnnouncement.next_attempt_at <= now))
            .order_by(SentAnnouncement.id)))
    for ann_id in ann_ids:
        _dispatch(services, "providers.fetch_sent", ann_id)
    for conn_id in conn_ids:
        _dispatch(services, "providers.sync_mailbox", conn_id)
    return {"syncs": len(conn_ids), "fetches": len(ann_ids)}


def _dispatch(services, name: str, *args) -> None:
    # A Celery worker's services run jobs eagerly (intake and processing share a
    # task); the tick's fan-out goes back to the broker so all workers share it.
    services.jobs.fan_out(name, *args)


@task("providers.sync_mailbox")
def sync_mailbox(services, connection_id: int) -> dict:
    return sync_connection(services, connection_id)


@task("providers.fetch_sent")
def fetch_sent(services, announcement_id: int) -> str:
    return fetch_announcement(services, announcement_id)

