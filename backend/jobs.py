"""Background jobs: run in-process on the embedded default, or through Celery in production.

Jobs are looked up by name in the registry (backend.tasks); this module never
imports the modules that define them (backend.services.load_jobs does).

On the embedded default (``SMARTBCC_JOBS=inline``) the pipeline (``process_inbound``) runs in one
separate process, spawned by the process that receives mail (``smartbcc serve``, ``smtpd``) and
fed through a pipe: a job starts the moment its record is committed and queued, with no wait of
any kind, and it never takes the receiver's GIL. The other jobs (periodic sweeps, provider
fetches, confirmation mails) run in a small thread pool, also at once.

Why a process (issue 18; bench/latency.py and bench/ingest.py, SQLite, 2 cores). The pipeline
costs several times what acceptance does, and in one process they share one GIL and SQLite's
write lock, whose busy handler waits by sleeping. Measured:

* jobs held until SMTP had been quiet for 0.2 s (at most 10 s; the runner before): acceptance
  0.87 of a bare aiosmtpd receiver, but at a steady 10 msg/s every mail waited: 250 -> listed by
  the API p50 12 s, p90 18 s;
* jobs at once in the 2-thread pool: acceptance fell to 0.19 of bare (every commit waited
  behind a pipeline transaction); 1 thread: 0.42;
* one pipeline process woken through a pipe: acceptance 0.7-0.8 of bare, processing 34-39
  msg/s (28 in-process), and the latencies in bench/README.md.

A record sent to the process and not finished when it died is sent again to a new one, except
the one it was working on: ``resume_pending`` (every minute) picks that one up, so a mail that
kills the process cannot kill the next one too.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import threading
import time
from collections import deque
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

# Jobs the embedded default runs in its pipeline process rather than in the thread pool.
PIPELINE_JOBS = frozenset({"process_inbound"})
# There, the process_inbound jobs already waiting in the pipe when one is read run together, as one
# process_inbound_batch job (a few records per transaction: backend/pipeline/runner.py). Nothing
# waits for a batch to fill: one mail alone is processed at once, as before.
BATCHED_JOBS = {"process_inbound": "process_inbound_batch"}
MAX_BATCH = 50
START_TIMEOUT = 60.0  # seconds a new pipeline process may take to import and connect


class JobRunner:
    """Sends a job to where this deployment runs jobs."""

    def __init__(self, services: "Services"):
        self.services = services
        self.mode = services.settings.jobs
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._pipeline: PipelineProcess | None = None
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
        elif name in PIPELINE_JOBS and self._spawns():
            self.pipeline().submit(name, args)
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

    def _run(self, name: str, *args) -> None:
        try:
            TASKS[name](self.services, *args)
        except Exception:  # a job records its own failure; this is the last net
            log.exception("job %s%r failed", name, args)

    def pipeline(self) -> "PipelineProcess":
        """The embedded default's pipeline process, started if it is not running."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = PipelineProcess(type(self.services).create, self.services.settings)
        return self._pipeline

    def start_pipeline(self) -> None:
        """Mail will arrive here (the SMTP receiver starts): have the pipeline process running and
        ready before the first message, so none waits for it to import."""
        if self.mode == "inline" and self._spawns():
            self.pipeline().start(wait=True)

    def _spawns(self) -> bool:
        """A pipeline process needs a way to build its own services (a bare namespace in tests has none)."""
        return callable(getattr(type(self.services), "create", None))

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until queued in-process jobs are done (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for future in list(self._pending):
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        if self._pipeline is not None:
            self._pipeline.wait_idle(max(0.0, deadline - time.monotonic()))

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
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None


class PipelineProcess:
    """One spawned process running pipeline jobs in the order queued, woken through a pipe.

    ``submit`` never blocks: a feeder thread writes to the pipe, a reader thread takes the
    process's acknowledgements (and sees it exit). Both threads belong to one generation of the
    process; a new process gets new ones."""

    def __init__(self, factory, settings):
        self._factory, self._settings = factory, settings
        self._cond = threading.Condition()
        self._queue: deque = deque()     # queued, not sent yet
        self._inflight: deque = deque()  # sent, not acknowledged (the process works in order)
        self._proc = self._conn = None
        self._ready = False
        self._closing = False
        self.submitted = self.finished = 0  # jobs queued, and jobs over (done, or lost with a process)

    def submit(self, name: str, args: tuple) -> int:
        """Queues a job; returns its number (``wait_done`` waits for it)."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the pipeline process is shutting down")
            self._queue.append((name, tuple(args)))
            self.submitted += 1
            if self._proc is None:
                self._spawn()
            self._cond.notify_all()
            return self.submitted

    def wait_done(self, number: int, timeout: float) -> bool:
        """Waits until job ``number`` (and every one before it) is over; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.finished >= number, timeout)

    def start(self, wait: bool = True) -> None:
        with self._cond:
            if self._proc is None and not self._closing:
                self._spawn()
            if wait and not self._cond.wait_for(lambda: self._ready or self._proc is None, START_TIMEOUT):
                log.error("the pipeline process did not start within %.0f s", START_TIMEOUT)

    def _spawn(self) -> None:  # holding self._cond
        ctx = multiprocessing.get_context("spawn")
        jobs_in, jobs_out = ctx.Pipe(duplex=False)
        acks_in, acks_out = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_pipeline_main, name="smartbcc-pipeline", daemon=True,
                           args=(self._factory, self._settings, jobs_in, acks_out, logging.getLogger().level))
        proc.start()
        jobs_in.close()
        acks_out.close()
        self._proc, self._conn, self._ready = proc, jobs_out, False
        threading.Thread(target=self._feed, args=(proc, jobs_out), name="smartbcc-pipeline-feed",
                         daemon=True).start()
        threading.Thread(target=self._read, args=(proc, acks_in, jobs_out), name="smartbcc-pipeline-acks",
                         daemon=True).start()

    def _feed(self, proc, conn) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._proc is not proc)
                if self._proc is not proc:
                    return
                item = self._queue.popleft()
                self._inflight.append(item)
            try:
                conn.send(item)
            except Exception:  # noqa: BLE001 - closed or broken: either way this generation is over
                return  # the process is gone: the reader sends what it had again

    def _read(self, proc, conn, jobs_conn) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            with self._cond:
                if message == "ready":
                    self._ready = True
                elif self._inflight:
                    self._inflight.popleft()
                    self.finished += 1
                self._cond.notify_all()
        with self._cond:
            if self._proc is not proc:
                return  # closed on purpose: close() reaps the process
        proc.join(5)
        jobs_conn.close()
        with self._cond:
            if self._proc is not proc:
                return
            was_ready, self._proc = self._ready, None
            lost = list(self._inflight)
            self._inflight.clear()
            log.error("the pipeline process exited (code %s)%s", proc.exitcode,
                      f"; record job {lost[0]} is left for resume_pending, {len(lost) - 1} sent again"
                      if lost else "")
            # It may have been working on several at once (a batch): those sent again run one at a
            # time, so a mail that kills the process takes no other with it a second time.
            self._queue.extendleft(reversed([(name, args, ALONE) for name, args, *_ in lost[1:]]))
            self.finished += 1 if lost else 0
            if was_ready and self._queue and not self._closing:
                self._spawn()  # it had worked: a new one takes over (one that cannot start is not retried here)
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: not (self._queue or self._inflight) or self._proc is None,
                                       timeout):
                raise TimeoutError(f"pipeline jobs still queued after {timeout:.0f} s")

    def close(self, timeout: float = 30.0) -> None:
        """Finishes what was queued (up to ``timeout``), then lets the process exit."""
        try:
            self.wait_idle(timeout)
        except TimeoutError:
            log.warning("stopping the pipeline process with jobs queued; resume_pending takes them up")
        with self._cond:
            self._closing = True
            proc, conn, self._proc = self._proc, self._conn, None
            self._cond.notify_all()  # the feeder returns
        if proc is not None:
            conn.close()  # the process reads the end of the pipe and exits
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


def _pipeline_main(factory, settings, jobs_conn, acks_conn, log_level: int) -> None:
    """The pipeline process: builds its own services (jobs it queues run at once, in it) and runs
    the jobs it reads until the pipe closes (the parent stopped or died)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which closes the pipe
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s[pipeline]: %(message)s")
    services = factory(dataclasses.replace(settings, jobs="eager"))
    acks_conn.send("ready")
    try:
        _serve(services, jobs_conn, acks_conn)
    finally:
        services.close()


def _serve(services, jobs_conn, acks_conn) -> None:
    """Runs the jobs read from ``jobs_conn`` until it closes, acknowledging each on ``acks_conn``."""
    held = None  # a job read while gathering a batch that cannot join it
    while True:
        try:
            item = held if held is not None else jobs_conn.recv()
        except (EOFError, OSError):
            break
        held = None
        name, args = item[0], item[1]
        batch = [args]
        if name in BATCHED_JOBS and not _alone(item):
            while len(batch) < MAX_BATCH and jobs_conn.poll():
                try:
                    more = jobs_conn.recv()
                except (EOFError, OSError):
                    break
                if more[0] != name or _alone(more):
                    held = more
                    break
                batch.append(more[1])
        try:
            if len(batch) > 1:
                TASKS[BATCHED_JOBS[name]](services, [a[0] for a in batch])
            else:
                TASKS[name](services, *args)
        except Exception:  # a job records its own failure; this is the last net
            log.exception("job %s%r failed", name, batch if len(batch) > 1 else args)
        for _ in batch:
            acks_conn.send("done")


ALONE = "alone"


def _alone(item: tuple) -> bool:
    return len(item) > 2 and item[2] == ALONE


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
