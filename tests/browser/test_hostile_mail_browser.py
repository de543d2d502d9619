"""In Chromium: a hostile mail neither runs script nor loads remote images, even past the sanitizer."""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def tracker():
    """A tiny local HTTP server standing in for a remote image host; records every request."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a")

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", hits
    server.shutdown()
    thread.join(timeout=10)


def _hostile_html(host: str) -> str:
    return f"""<html><head><script>console.log("XSS-MARKER-head"); alert("head")</script>
<link rel="stylesheet" href="{host}/style.css"></head>
<body onload="console.log('XSS-MARKER-onload')">
<p>Dear customer, <b>see the offer</b>.</p>
<script>console.log("XSS-MARKER-script"); window.parent.document.title = "PWNED"; alert("script")</script>
<img src="x" onerror="console.log('XSS-MARKER-onerror'); alert('onerror')">
<img src="{host}/pixel.gif?remote-image" width="1" height="1">
<div style="background-image:url({host}/background.gif)">styled</div>
<a href="javascript:console.log('XSS-MARKER-link')">click me</a>
<svg><script>console.log("XSS-MARKER-svg")</script></svg>
<iframe src="{host}/frame.html"></iframe>
<form action="{host}/steal"><input name="password"><button>Send</button></form>
</body></html>"""


def _assert_nothing_ran(s, hits):
    # Give any stray load or handler time to happen before looking.
    time.sleep(1.0)
    assert not s.dialogs, s.dialogs
    assert not [m for m in s.console if "XSS-MARKER" in m], s.console
    assert hits == [], hits
    assert s.page.title() != "PWNED"


def test_hostile_mail_runs_no_script_and_loads_nothing(open_session, alice, thread_of, tracker):
    host, hits = tracker
    thread_id = thread_of(alice, "Special offer", html=_hostile_html(host))
    s = open_session(alice.email)
    s.page.goto(f"/inbox/threads/{thread_id}")
    s.page.wait_for_load_state("networkidle")
    body = s.page.evaluate("document.querySelector('iframe.mail-frame').contentDocument.body.innerHTML")
    assert "see the offer" in body
    assert "<script" not in body and "onerror" not in body and "127.0.0.1" not in body
    assert s.page.get_by_text("image from the web is hidden").count() == 1
    s.shot("thread-hostile-desktop")
    _assert_nothing_ran(s, hits)
    # "Show images" allows https images for that one view; the plain-http tracker still gets nothing.
    s.page.get_by_role("link", name="Show images").click()
    s.page.wait_for_load_state("networkidle")
    _assert_nothing_ran(s, hits)


def test_frame_policy_stops_what_a_sanitizer_bug_would_let_through(open_session, alice, thread_of, tracker,
                                                                   monkeypatch):
    """Defence in depth: with the sanitizer switched off, the sandbox and the frame's CSP still hold."""
    from backend.web import inbox
    from backend.web.sanitize import Sanitized

    host, hits = tracker
    monkeypatch.setattr(inbox, "sanitize_mail_html", lambda html, **_kw: Sanitized(html or "", 0))
    thread_id = thread_of(alice, "Unsanitized offer", html=_hostile_html(host))
    s = open_session(alice.email)
    s.page.goto(f"/inbox/threads/{thread_id}")
    s.page.wait_for_load_state("networkidle")
    body = s.page.evaluate("document.querySelector('iframe.mail-frame').contentDocument.body.innerHTML")
    assert "<script" in body and "pixel.gif" in body  # the raw mail really reached the frame
    _assert_nothing_ran(s, hits)
