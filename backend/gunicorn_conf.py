"""gunicorn settings of the web process (``gunicorn -c python:backend.gunicorn_conf``, see Procfile).

Command-line options still apply on top (bind, workers, threads)."""
from __future__ import annotations

import gc


def post_worker_init(worker) -> None:
    """Once a worker has imported and built the app, those objects live as long as the process.
    Freezing them keeps them out of Python's full garbage collections, whose pauses otherwise
    grow with them: at a million messages, full collections were the slowest 1 % of mailbox API
    requests (bench/mailbox.py: 80 ms pauses against a 16 ms median)."""
    gc.freeze()


def on_starting(server) -> None:
    """In the master, before any worker: a bad SMARTBCC_* setting is one `error:` line and exit
    status 2, not a traceback from every worker that fails to boot."""
    from backend.config import settings_or_exit

    settings_or_exit()
