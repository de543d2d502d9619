"""Local HTTP servers that speak the documented Microsoft identity, Graph, Google OAuth and Gmail endpoints."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_answer(status: int, data, **headers) -> Answer:
    return Answer(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


class FakeServer:
    """A threaded local server; ``handle(seen) -> Answer`` is the API, every request is recorded."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[Seen] = []
        # path regex -> list of Answers served (once each) before the normal handler.
        self.injected: list[tuple[re.Pattern, Answer]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(self.command, unquote(parts.path), parse_qs(parts.query, keep_blank_values=True),
                            {k.lower(): v for k, v in self.headers.items()}, body)
                if "application/x-www-form-urlencoded" in seen.headers.get("content-type", ""):
                    seen.form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with outer.lock:
                    outer.requests.append(seen)
                    outer.in_flight += 1
                    outer.peak_in_flight = max(outer.peak_in_flight, outer.in_flight)
                try:
                    answer = outer._injected(seen) or outer.handle(seen)
                except Exception as exc:  # a bug in the fake shows up as a 500 with its text
                    answer = json_answer(500, {"error": {"code": "FakeBug", "message": repr(exc)}})
                finally:
                    with outer.lock:
                        outer.in_flight -= 1
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, path_regex: str, answer: Answer, times: int = 1) -> None:
        for _ in range(times):
            self.injected.append((re.compile(path_regex), answer))

    def _injected(self, seen: Seen) -> Answer | None:
        with self.lock:
            for i, (pattern, answer) in enumerate(self.injected):
                if pattern.search(seen.path):
                    del self.injected[i]
                    return answer
        return None

    def seen(self, path_regex: str, method: str | None = None) -> list[Seen]:
        pattern = re.compile(path_regex)
        return [s for s in self.requests if pattern.search(s.path) and (method is None or s.method == method)]

    def handle(self, seen: Seen) -> Answer:  # pragma: no cover - overridden
        return json_answer(404, {})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims: dict) -> str:
    head = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64url(json.dumps(claims).encode())}.sig"


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


@dataclass
class Mail:
    """One message in a fake mailbox."""

    id: str
    raw: bytes
    folder: str  # "sent" or "inbox"
    received: datetime
    history_id: int = 0

    @property
    def msg(self):
        return message_from_bytes(self.raw)

    @property
    def message_id(self) -> str:
        return (self.msg.get("Message-ID") or "").strip()

    def addresses(self, header: str) -> list[str]:
        return [a.lower() for _n, a in getaddresses(self.msg.get_all(header) or []) if a]


class TokenBook:
    """Codes, refresh and access tokens an identity server issued, and which are revoked."""

    def __init__(self):
        self.codes: dict[str, dict] = {}
        self.refresh: dict[str, str] = {}  # refresh token -> account
        self.access: dict[str, float] = {}  # access token -> expiry (epoch)
        self.revoked: set[str] = set()
        self.issued: list[str] = []  # every token value handed out (for the no-secrets-in-logs test)
        self.rotate_refresh = False

    def new_access(self, lifetime: int = 3600) -> str:
        token = "at-" + secrets.token_urlsafe(24)
        self.access[token] = time.time() + lifetime
        self.issued.append(token)
        return token

    def new_refresh(self, account: str) -> str:
        token = "rt-" + secrets.token_urlsafe(24)
        self.refresh[token] = account
        self.issued.append(token)
        return token

    def valid_bearer(self, seen: Seen) -> bool:
        header = seen.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        return self.access.get(token, 0) > time.time()

    def expire_all_access(self) -> None:
        for token in self.access:
            self.access[token] = 0


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
