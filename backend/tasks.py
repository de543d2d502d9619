"""The job registry: job name -> function(services, *args).

The modules that define jobs register them here with ``@task``. The job runner
(backend.jobs) and the Celery worker (backend.worker) run them by name; neither
this module nor backend.jobs imports the modules that define them:
``backend.services.load_jobs`` does, for whoever builds a job runner.
"""
from __future__ import annotations

from typing import Callable

TASKS: dict[str, Callable] = {}


def task(name: str):
    def register(fn):
        TASKS[name] = fn
        return fn
    return register
