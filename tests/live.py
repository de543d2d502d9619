"""The app on a real local port and one shared headless Chromium, for the browser tests."""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture
def live_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, live_port):
    # Links the app writes (confirmation mails, the add-in's server) must point at the served app.
    return settings.with_(base_url=f"http://127.0.0.1:{live_port}")


@pytest.fixture
def live_server(app, live_port):
    """The app served by werkzeug on a free port in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join(timeout=10)


def launch_chromium():
    """A generator fixture body: one Playwright and one Chromium for the whole session."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is not installed; `make test` installs it (scripts/install-system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch() gives every run a fresh temporary user-data dir; nothing is downloaded.
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
