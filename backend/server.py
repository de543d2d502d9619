"""The embedded default: web and SMTP in one process (`smartbcc serve`)."""
from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import make_server

from .app import create_app

log = logging.getLogger(__name__)


def serve_all(services) -> None:
    from .intake.smtp import start_controller

    settings = services.settings
    app = create_app(services=services)
    smtp = start_controller(services)
    services.jobs.start_periodic()  # also resumes mail accepted before a crash
    web = make_server(settings.http_host, settings.http_port, app, threaded=True)
    stop = threading.Event()

    def _stop(*_args):
        stop.set()
        threading.Thread(target=web.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("web on http://%s:%s, SMTP on %s:%s", settings.http_host, settings.http_port,
             settings.smtp_host, settings.smtp_port)
    try:
        web.serve_forever()
    finally:
        smtp.stop()
        services.close()
        log.info("stopped")
