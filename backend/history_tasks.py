"""The job that lets a new deal, lead or project take in its person's earlier conversations
(backend/domain/history.py), queued after the commit that created or changed the item; run by the
job runner, in-process or by the Celery worker."""
from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from .domain import history
from .tasks import task

log = logging.getLogger(__name__)


@task(history.CATCH_UP)
def catch_up(services, company_id: int, item_type: str, item_id: int, event: str = "created") -> dict:
    """One transaction: every link and suggestion of the run, or none. Two runs at once for the
    same item (a creation and a quick edit) may both try a link: the one that loses the race
    runs again and finds it made."""
    for attempt in (1, 2):
        try:
            with services.db.session() as session:
                result = history.catch_up(session, company_id, item_type, item_id, event)
            break
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("history catch-up for %s %s met a concurrent run; running again", item_type, item_id)
    log.info("history catch-up for %s %s (%s): %d linked, %d suggested, %d left%s", item_type, item_id, event,
             len(result.linked), len(result.suggested), len(result.skipped),
             f" ({result.note})" if result.note else "")
    return result.as_json()
