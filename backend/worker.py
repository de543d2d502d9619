"""Entry point of the Celery `worker` and `beat` processes: `celery -A backend.worker worker`.

Every registered job (backend.tasks) becomes the Celery task ``smartbcc.<name>``;
it runs eagerly on this process's own services, built when a worker process starts (else at its
first task) (``process_inbound``
runs ``process_inbound_waiting``, which also claims and processes the records waiting behind its
own: backend/pipeline/runner.py). The settings
are read and validated when the module loads: a bad SMARTBCC_* value stops the
worker (and beat) at start with one ``error:`` line, before it connects to the broker.
"""
from __future__ import annotations

import logging
import threading

from celery.signals import worker_process_init

from .config import settings_or_exit
from .jobs import celery_app
from .services import Services, load_jobs
from .tasks import TASKS

SETTINGS = settings_or_exit(jobs="eager")
log = logging.getLogger(__name__)
# Task name -> the job a worker runs for it.
WORKER_JOBS = {"process_inbound": "process_inbound_waiting"}
_services: Services | None = None
_services_lock = threading.Lock()


def worker_services() -> Services:
    global _services
    if _services is None:
        with _services_lock:
            if _services is None:
                services = Services.create(SETTINGS)
                services.jobs.celery_worker = True
                _services = services
    return _services


@worker_process_init.connect
def _build_services_at_start(**_kwargs) -> None:
    """A worker process (prefork's child, after the fork) builds its services when it starts, not at
    its first task: the first mail after a start or a restart does not wait for imports and the
    database pool. A failure here is logged; the first task tries again (and records its own)."""
    try:
        worker_services()
    except Exception:  # noqa: BLE001 - e.g. the database not up yet: the first task retries
        log.exception("worker process could not build its services at start; the first task tries again")
        return
    log.info("smartbcc worker process ready: services built")


def _entry(name: str):
    job = WORKER_JOBS.get(name, name)

    def run(*args):
        TASKS[job](worker_services(), *args)
    run.__name__ = name.replace(".", "_")
    return run


def register_tasks(app):
    load_jobs()
    for name in TASKS:
        app.task(name=f"smartbcc.{name}", bind=False, typing=False)(_entry(name))
    return app


app = register_tasks(celery_app())
