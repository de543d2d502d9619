"""Browser fixtures: the app on a real threaded server, the system Chromium, signed-in pages."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import live_port, live_server, settings  # noqa: F401  (fixtures used here)
from tests.web.conftest import PASSWORD, alice, bert, thread_of  # noqa: F401  (the page tests' accounts and mail)

SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


class Session:
    """One browser context signed in as one user, with what its pages reported."""

    def __init__(self, browser, base_url: str, viewport: dict, mobile: bool = False):
        self.base_url = base_url
        self.context = browser.new_context(
            base_url=base_url, viewport=viewport, is_mobile=mobile, has_touch=mobile,
            permissions=["clipboard-read", "clipboard-write"])
        self.context.set_default_timeout(15000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda msg: self.console.append(msg.text))
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def sign_in(self, email: str, password: str = PASSWORD) -> "Session":
        self.page.goto("/sign-in")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/")
        return self

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_session(browser, live_server):
    """open_session(email=None, phone=False) -> a Session (signed in when email is given)."""
    sessions: list[Session] = []

    def factory(email: str | None = None, phone: bool = False) -> Session:
        session = Session(browser, live_server, PHONE if phone else DESKTOP, mobile=phone)
        sessions.append(session)
        return session.sign_in(email) if email else session

    yield factory
    for session in sessions:
        session.close()


@pytest.fixture
def api(app):
    """api(account, method, url, json=None) -> the API's data (the bearer-token REST API)."""
    def call(account, method: str, url: str, json: dict | None = None):
        response = getattr(app.test_client(), method)(url, headers=account.auth, json=json)
        assert response.status_code < 300, response.get_json()
        return response.get_json()["data"]
    return call
