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
        from .ratelimit import RateLimiter

        services.limiter = RateLimiter(settings.rate_limit_redis_url)
        return services

    def close(self) -> None:
        self.jobs.shutdown()
        self.db.dispose()


def load_jobs() -> None:
    """Registers every job (backend.tasks) by importing the modules that define them.

    Done by whoever runs jobs: Services.create (the job runner) and the Celery worker.
    """
    from . import sender_tasks  # noqa: F401
    from . import history_tasks  # noqa: F401
    from .pipeline import runner  # noqa: F401
    from .providers import tasks  # noqa: F401
