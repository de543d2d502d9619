"""A small Gmail API client on google-api-python-client: search, history, metadata and raw fetches in batches."""
from __future__ import annotations

import base64
import json
import logging
import socket
from urllib.parse import urljoin

import google.oauth2.credentials
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from .limits import (GATE, AuthExpired, AuthFailed, NotFound, ProviderError, RateLimited, Transient,
                     backoff_delay, retry_after_seconds, with_retries)
from . import limits

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Gmail allows 100 per batch but recommends at most 50
MAX_PAGES = 20
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")


def classify(exc: Exception, what: str) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, RefreshError):
        # The library tried to refresh a token we gave it without refresh data: the token expired.
        return AuthExpired(f"Gmail {what}: access token expired")
    if isinstance(exc, (TransportError, httplib2.HttpLib2Error, socket.error, TimeoutError)):
        return Transient(f"Gmail {what}: {exc.__class__.__name__}")
    if not isinstance(exc, HttpError):
        return ProviderError(f"Gmail {what}: {exc.__class__.__name__}")
    status = int(exc.resp.status)
    reason, message = "", ""
    try:
        error = json.loads(exc.content.decode("utf-8", "replace")).get("error", {})
        message = " ".join(str(error.get("message", "")).split())[:300]
        reason = str((error.get("errors") or [{}])[0].get("reason", ""))
    except (ValueError, AttributeError):
        pass
    text = f"Gmail {what}: HTTP {status}{' ' + reason if reason else ''}{': ' + message if message else ''}"
    if status == 429 or (status == 403 and reason in RATE_REASONS):
        return RateLimited(text, retry_after_seconds(exc.resp.get("retry-after")), status)
    if status == 401:
        return AuthExpired(text, status)
    if status == 403:
        return AuthFailed(text + " (the mailbox no longer grants gmail.readonly)", status)
    if status == 404:
        return NotFound(text, status)
    if status >= 500:
        return Transient(text, status)
    return ProviderError(text, status)


def decode_raw(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def headers_of(message: dict) -> dict[str, list[str]]:
    """Header name (lower-case) -> values, from a format=metadata message."""
    found: dict[str, list[str]] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        found.setdefault(str(header.get("name", "")).lower(), []).append(str(header.get("value", "")))
    return found


class GmailClient:
    def __init__(self, api_url: str, tokens, mailbox_key):
        self.api_url = api_url
        self.tokens = tokens
        self.key = mailbox_key
        self._service = None
        self._token = None

    def _svc(self, token: str):
        if self._service is None or token != self._token:
            creds = google.oauth2.credentials.Credentials(token=token)
            # static_discovery: the bundled discovery document, no network;
            # api_endpoint: the configured Gmail host (tests: a local server).
            self._service = build("gmail", "v1", credentials=creds, static_discovery=True,
                                  cache_discovery=False, client_options={"api_endpoint": self.api_url})
            self._token = token
        return self._service

    def _call(self, make_request, what: str):
        """Runs one request (a function of the service), with refresh on 401 and retries."""
        def once(token):
            try:
                with GATE.slot(self.key):
                    return make_request(self._svc(token).users()).execute(num_retries=0)
            except Exception as exc:  # noqa: BLE001 - every error is classified below
                raise classify(exc, what) from exc

        def attempt():
            try:
                return once(self.tokens.get())
            except AuthExpired:
                return once(self.tokens.refresh())

        return with_retries(attempt, what=f"Gmail {what}")

    def profile(self) -> dict:
        return self._call(lambda u: u.getProfile(userId="me"), "profile")

    def search(self, q: str, limit: int = 200) -> list[str]:
        ids: list[str] = []
        token = None
        for _ in range(MAX_PAGES):
            page = self._call(lambda u, t=token: u.messages().list(userId="me", q=q, maxResults=100, pageToken=t),
                              "search")
            ids.extend(m["id"] for m in page.get("messages") or [])
            token = page.get("nextPageToken")
            if not token or len(ids) >= limit:
                break
        return ids[:limit]

    def sent_added_since(self, history_id: str) -> tuple[list[str], str | None]:
        """Ids of messages added with the SENT label since ``history_id``; NotFound when it is too old."""
        ids: list[str] = []
        token, newest = None, None
        for _ in range(MAX_PAGES * 5):
            page = self._call(lambda u, t=token: u.history().list(
                userId="me", startHistoryId=history_id, historyTypes=["messageAdded"], labelId="SENT",
                maxResults=500, pageToken=t), "history")
            for entry in page.get("history") or []:
                for added in entry.get("messagesAdded") or []:
                    mid = (added.get("message") or {}).get("id")
                    if mid and mid not in ids:
                        ids.append(mid)
            newest = page.get("historyId") or newest
            token = page.get("nextPageToken")
            if not token:
                break
        return ids, newest

    def metadata_many(self, ids: list[str], headers: list[str]) -> dict[str, dict[str, list[str]]]:
        found = self._batch_get(ids, "metadata", lambda u, i: u.messages().get(
            userId="me", id=i, format="metadata", metadataHeaders=headers))
        return {mid: headers_of(msg) for mid, msg in found.items()}

    def raw_many(self, ids: list[str]) -> dict[str, bytes]:
        found = self._batch_get(ids, "raw", lambda u, i: u.messages().get(userId="me", id=i, format="raw"))
        return {mid: decode_raw(msg["raw"]) for mid, msg in found.items() if msg.get("raw")}

    def _batch_get(self, ids: list[str], what: str, make, attempts: int = 5) -> dict[str, dict]:
        """Several messages.get in BatchHttpRequests; throttled parts are sent again after a wait."""
        out: dict[str, dict] = {}
        batch_uri = urljoin(self.api_url, "batch/gmail/v1")
        for start in range(0, len(ids), BATCH_SIZE):
            pending = list(ids[start:start + BATCH_SIZE])
            refreshed = False
            for attempt in range(attempts):
                errors: dict[str, ProviderError] = {}

                def collect(request_id, response, exception):
                    if exception is None:
                        out[request_id] = response
                    else:
                        errors[request_id] = classify(exception, f"batch {what}")

                token = self.tokens.get()
                users = self._svc(token).users()
                batch = BatchHttpRequest(callback=collect, batch_uri=batch_uri)
                for mid in pending:
                    batch.add(make(users, mid), request_id=mid)
                try:
                    with GATE.slot(self.key):
                        batch.execute()
                except Exception as exc:  # noqa: BLE001
                    error = classify(exc, f"batch {what}")
                    if isinstance(error, AuthExpired) and not refreshed:
                        self.tokens.refresh()
                        refreshed = True
                        continue
                    if isinstance(error, (RateLimited, Transient)) and attempt + 1 < attempts:
                        limits.sleep(getattr(error, "retry_after", None) or backoff_delay(attempt))
                        continue
                    raise error from exc
                retry, wait = limits.batch_round(errors, attempt, attempts, f"Gmail batch {what}",
                                                 retry_expired=not refreshed)
                if not retry:
                    break
                if any(isinstance(errors[m], AuthExpired) for m in retry):
                    self.tokens.refresh()
                    refreshed = True
                pending = retry
                if wait:
                    limits.sleep(wait)
        return out
