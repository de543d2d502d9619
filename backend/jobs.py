"""Background jobs: run in-process on the embedded default, or through Celery in production.

Jobs are looked up by name in the registry (backend.tasks); this module never
imports the modules that define them (backend.services.load_jobs does).
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .tasks import TASKS

if TYPE_CHECKING:  # pragma: no cover
    from .services import Services

log = logging.getLogger(__name__)

# (seconds, job name, args): run periodically — by a timer thread in the
# embedded default, by Celery beat in production.
PERIODIC: list[tuple[float, str, tuple]] = [
    (60.0, "resume_pending", (60,)),
    # Mailbox syncs and announced-message looks that are due (backend/providers/tasks.py).
    (30.0, "providers.tick", ()),
]


INTAKE_QUIET = 0.2  # seconds without arriving mail before an in-process job starts
INTAKE_YIELD_MAX = 10.0  # ...but never held back longer than this


class JobRunner:
    """Sends a job to where this deployment runs jobs."""

    def __init__(self, services: "Services"):
        self.services = services
        self.mode = services.settings.jobs
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        # True in a Celery worker (backend.worker): its own jobs run eagerly, fan-out goes to the broker.
        self.celery_worker = False
        if self.mode == "celery":
            celery_app()  # build it once, before any thread sends

    def enqueue(self, name: str, *args) -> None:
        if name not in TASKS:
            raise KeyError(f"unknown job {name!r}")
        if self.mode == "eager":
            self._run(name, *args)
        elif self.mode == "celery":
            celery_app().send_task(f"smartbcc.{name}", args=list(args))
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="smartbcc-job")
                future = self._pool.submit(self._run, name, *args)
                self._pending.add(future)
            future.add_done_callback(self._pending.discard)

    def enqueue_in(self, seconds: float, name: str, *args) -> None:
        """Queues a job to run after ``seconds`` (a retry): Celery's ``countdown`` in production, a
        timer thread in-process (a retry pending when the process stops is lost; the job that
        asked for it must leave a state the user can act on), at once in eager mode (tests)."""
        if name not in TASKS:
            raise KeyError(f"unknown job {name!r}")
        if self.mode == "eager" or seconds <= 0:
            self.enqueue(name, *args)
        elif self.mode == "celery":
            celery_app().send_task(f"smartbcc.{name}", args=list(args), countdown=seconds)
        else:
            timer = threading.Timer(seconds, self.enqueue, args=(name, *args))
            timer.daemon = True
            timer.start()

    def fan_out(self, name: str, *args) -> None:
        """Queues a job for every worker to share: through the broker from a Celery worker
        (whose own jobs run eagerly, in the task that asked), else like ``enqueue``."""
        if self.celery_worker:
            celery_app().send_task(f"smartbcc.{name}", args=list(args))
        else:
            self.enqueue(name, *args)

    def note_intake(self) -> None:
        """Mail is arriving: in-process jobs step aside so acceptance keeps its pace."""
        self._last_intake = time.monotonic()

    def _yield_to_intake(self) -> None:
        # In the embedded default the pipeline shares the process (and SQLite's write
        # lock) with the SMTP receiver; acknowledging mail quickly matters more than
        # processing it at once (bench/ingest.py: acceptance 0.2x -> 0.5x of a bare
        # receiver). Bounded, so a steady stream cannot starve processing.
        if self.mode != "inline":
            return
        deadline = time.monotonic() + INTAKE_YIELD_MAX
        while time.monotonic() - getattr(self, "_last_intake", 0.0) < INTAKE_QUIET and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self, name: str, *args) -> None:
        self._yield_to_intake()
        try:
            TASKS[name](self.services, *args)
        except Exception:  # a job records its own failure; this is the last net
            log.exception("job %s%r failed", name, args)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until queued in-process jobs are done (tests, shutdown)."""
        for future in list(self._pending):
            future.result(timeout=timeout)

    def start_periodic(self) -> None:
        """In-process schedule for the embedded default (no beat, no Redis)."""
        if self.mode != "inline" or getattr(self, "_timer", None) is not None:
            return
        self._stop = threading.Event()

        def loop():
            start = time.monotonic()
            next_run = {i: start + interval for i, (interval, _n, _a) in enumerate(PERIODIC)}
            while not self._stop.wait(1.0):
                now = time.monotonic()
                for i, (interval, name, args) in enumerate(PERIODIC):
                    if now >= next_run[i]:
                        next_run[i] = now + interval
                        self.enqueue(name, *args)

        self._timer = threading.Thread(target=loop, name="smartbcc-periodic", daemon=True)
        self._timer.start()
        # Mail acknowledged just before a crash must not wait for the first sweep.
        self.enqueue("resume_pending", 0)

    def shutdown(self) -> None:
        if getattr(self, "_timer", None) is not None:
            self._stop.set()
            self._timer.join(timeout=5)
            self._timer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


_celery = None
_celery_lock = threading.Lock()


def celery_app():
    """The Celery application: broker, options and beat schedule (all a sender needs).

    The `worker` and `beat` processes load it through backend.worker, which adds the tasks.
    """
    global _celery
    if _celery is not None:
        return _celery
    # Celery's lazy module attributes are not safe to import from several
    # threads at once (the SMTP handler's executor does exactly that).
    with _celery_lock:
        if _celery is None:
            _celery = _make_celery()
    return _celery


def _make_celery():
    from celery import Celery

    from .config import Settings

    settings = Settings.from_env()
    app = Celery("smartbcc", broker=settings.broker_url)
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                    worker_prefetch_multiplier=1, task_default_queue="smartbcc")
    app.conf.beat_schedule = {
        f"{name}-every-{int(interval)}s": {"task": f"smartbcc.{name}", "schedule": interval, "args": args}
        for interval, name, args in PERIODIC
    }
    return app
