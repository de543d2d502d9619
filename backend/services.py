"""The per-process services (settings, database, blob store, job runner) in one object."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Settings
from .db import Database

if TYPE_CHECKING:  # pragma: no cover
    from .blobs import BlobStore
    from .jobs import JobRunner


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: "BlobStore"
    jobs: "JobRunner"
    limiter: object = None

    @classmethod
    def create(cls, settings: Settings) -> "Services":
        from .blobs import BlobStore
        from .jobs import JobRunner

        load_jobs()
        db = Database(settings.database_url)
        services = cls(settings=settings, db=db, blobs=BlobStore(settings.blob_dir), jobs=None)  # type: ignore[arg-type]
        services.jobs = JobRunner(services)
        queue_jobs_after_commit(services)
        from .ratelimit import RateLimiter

        services.limiter = RateLimiter(settings.rate_limit_redis_url)
        return services

    def close(self) -> None:
        self.jobs.shutdown()
        self.db.dispose()


def queue_jobs_after_commit(services: Services) -> None:
    """Wires the jobs the domain notes during a transaction into every session of this process's
    database, whoever opens it (API, pages, CLI, demo seed, jobs), queued only after the commit (a
    rolled-back change queues nothing):

    * the history catch-up (backend/domain/history.py): each deal, lead or project noted as created
      or changed (``history.item_changed``) takes in its person's earlier conversations, by the
      ``history.catch_up`` job;
    * the deal-choice refit (backend/domain/dealpicks.py): a rep's deal pick may make the company's
      ranking points due for a fit, by the ``deal_choice.refit`` job.

    The listeners live on this database's sessionmaker, not on every Session."""
    from sqlalchemy import event

    from .domain import dealpicks, history

    def after_commit(session) -> None:
        for args in history.take_pending(session):
            services.jobs.enqueue(history.CATCH_UP, *args)
        # A rep's deal pick: the company's ranking points may be due for a fit (domain/dealpicks.py).
        for company_id in dealpicks.take_noted(session):
            services.jobs.enqueue(dealpicks.REFIT, company_id)

    def after_rollback(session) -> None:
        history.forget_pending(session)
        dealpicks.forget_noted(session)

    event.listen(services.db.sessionmaker, "after_commit", after_commit)
    event.listen(services.db.sessionmaker, "after_rollback", after_rollback)


def load_jobs() -> None:
    """Registers every job (backend.tasks) by importing the modules that define them.

    Done by whoever runs jobs: Services.create (the job runner) and the Celery worker.
    """
    from . import sender_tasks  # noqa: F401
    from . import history_tasks  # noqa: F401
    from . import dealchoice_tasks  # noqa: F401
    from .pipeline import runner  # noqa: F401
    from .providers import tasks  # noqa: F401
