"""The job that fits a company's deal-choice points again on its reps' picks (backend/domain/dealpicks.py),
queued after a commit that recorded a pick; run by the job runner, in-process or by the Celery worker.
Rankings read the stored points only, so a fit (about a second for 400 picks) never delays a mail,
a page or an add-in."""
from __future__ import annotations

import logging

from .domain import dealpicks
from .models import Company
from .tasks import task

log = logging.getLogger(__name__)


@task(dealpicks.REFIT)
def refit(services, company_id: int) -> dict | None:
    """Refits when REFIT_EVERY new picks arrived since the last fit (one count query otherwise);
    returns what is stored. Two runs at once store the same points (the same picks)."""
    with services.db.session() as session:
        company = session.get(Company, company_id)
        if company is None:
            return None
        before = (company.deal_choice_fit or {}).get("picks")
        dealpicks.refresh(session, company)
        fit = company.deal_choice_fit
    if (fit or {}).get("picks") != before:
        log.info("deal-choice points of company %s fitted on %s picks", company_id, (fit or {}).get("picks", 0))
    return fit
