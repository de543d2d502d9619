"""A small Microsoft Graph mail client: Sent Items lookups, delta, inbox search, MIME via $value and $batch."""
from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

import requests

from .limits import (GATE, AuthExpired, AuthFailed, NotFound, ProviderError, RateLimited, Transient,
                     retry_after_seconds, with_retries)
from . import limits

log = logging.getLogger(__name__)

TIMEOUT = 60
BATCH_SIZE = 20  # Graph's limit per $batch
MAX_PAGES = 50
# Custom internet headers are stored as named properties in PS_INTERNET_HEADERS.
REF_PROPERTY = "String {00020386-0000-0000-C000-000000000046} Name x-smartbcc-ref"
SENT = "/me/mailFolders('sentitems')/messages"
INBOX = "/me/mailFolders('inbox')/messages"


def odata_string(value: str) -> str:
    """A quoted OData string literal (a quote is escaped by doubling it)."""
    return "'" + value.replace("'", "''") + "'"


def odata_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def classify(status: int, headers, body: object, what: str) -> ProviderError:
    """The error a non-2xx Graph answer stands for."""
    code, message = "", ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", ""))[:80]
        message = " ".join(str(body["error"].get("message", "")).split())[:300]
    text = f"Graph {what}: HTTP {status}{' ' + code if code else ''}{': ' + message if message else ''}"
    retry_after = retry_after_seconds((headers or {}).get("Retry-After") or (headers or {}).get("retry-after"))
    if status == 429 or (status in (503, 504) and retry_after is not None):
        return RateLimited(text, retry_after, status)
    if status == 401:
        return AuthExpired(text, status)
    if status == 403:
        return AuthFailed(text + " (the mailbox no longer grants Mail.Read)", status)
    if status in (404, 410):
        return NotFound(text, status)
    if status >= 500:
        return Transient(text, status)
    return ProviderError(text, status)


class GraphClient:
    def __init__(self, graph_url: str, tokens, mailbox_key, session: requests.Session | None = None):
        self.base = graph_url.rstrip("/")
        self.tokens = tokens  # .get() and .refresh() -> access token
        self.key = mailbox_key
        self.http = session or requests.Session()

    # --- plumbing -------------------------------------------------------
    def _url(self, path: str, params: dict | None = None) -> str:
        url = path if path.startswith("http") else self.base + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, quote_via=quote, safe="$'(),/:")
        return url

    def _send(self, method: str, url: str, what: str, **kwargs) -> requests.Response:
        extra_headers = kwargs.pop("headers", None) or {}

        def once(token: str) -> requests.Response:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **extra_headers}
            try:
                with GATE.slot(self.key):
                    resp = self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise Transient(f"Graph {what}: {exc.__class__.__name__}") from exc
            if resp.status_code >= 400:
                try:
                    body = resp.json()
                except ValueError:
                    body = None
                raise classify(resp.status_code, resp.headers, body, what)
            return resp

        def attempt() -> requests.Response:
            try:
                return once(self.tokens.get())
            except AuthExpired:
                return once(self.tokens.refresh())

        return with_retries(attempt, what=f"Graph {what}")

    def _get_json(self, path: str, params: dict | None = None, what: str = "request", headers=None) -> dict:
        return self._send("GET", self._url(path, params), what, headers=headers or {}).json()

    def _pages(self, path: str, params: dict, what: str, headers=None):
        data = self._get_json(path, params, what, headers)
        for _ in range(MAX_PAGES):
            yield data
            nxt = data.get("@odata.nextLink")
            if not nxt:
                return
            data = self._get_json(nxt, None, what, headers)

    # --- lookups --------------------------------------------------------
    def sent_by_message_id(self, internet_message_id: str) -> list[dict]:
        params = {"$filter": f"internetMessageId eq {odata_string(internet_message_id)}",
                  "$select": "id,internetMessageId,bccRecipients"}
        return self._get_json(SENT, params, "sent items by Message-ID").get("value", [])

    def sent_by_ref(self, ref: str) -> list[dict]:
        flt = (f"singleValueExtendedProperties/any(ep: ep/id eq {odata_string(REF_PROPERTY)} "
               f"and ep/value eq {odata_string(ref)})")
        params = {"$filter": flt, "$select": "id,internetMessageId,bccRecipients"}
        return self._get_json(SENT, params, "sent items by X-SmartBcc-Ref").get("value", [])

    def sent_delta(self, delta_link: str | None, since: datetime) -> tuple[list[dict], str | None]:
        """New Sent Items since the stored deltaLink (or since ``since`` on a first round)."""
        headers = {"Prefer": "odata.maxpagesize=50"}
        if delta_link:
            pages = self._pages(delta_link, {}, "sent items delta", headers)
        else:
            params = {"changeType": "created", "$select": "bccRecipients,internetMessageId",
                      "$filter": f"receivedDateTime ge {odata_time(since)}"}
            pages = self._pages(SENT + "/delta", params, "sent items delta", headers)
        items, new_link = [], None
        for page in pages:
            items.extend(m for m in page.get("value", []) if "@removed" not in m)
            new_link = page.get("@odata.deltaLink") or new_link
        return items, new_link

    def inbox_from(self, address: str, since: datetime, limit: int = 25) -> list[dict]:
        params = {"$filter": f"from/emailAddress/address eq {odata_string(address)} "
                             f"and receivedDateTime ge {odata_time(since)}",
                  "$select": "id,internetMessageId,internetMessageHeaders", "$top": str(limit)}
        return self._get_json(INBOX, params, "inbox search").get("value", [])

    # --- MIME -----------------------------------------------------------
    def mime(self, message_id: str) -> bytes:
        path = f"/me/messages/{quote(message_id, safe='=-_')}/$value"
        return self._send("GET", self._url(path), "MIME download").content

    def mime_many(self, message_ids: list[str], attempts: int = 5) -> dict[str, bytes]:
        """MIME of several messages through JSON batching; 404s are left out."""
        out: dict[str, bytes] = {}
        for start in range(0, len(message_ids), BATCH_SIZE):
            pending = list(message_ids[start:start + BATCH_SIZE])
            for attempt in range(attempts):
                requests_ = [{"id": str(i), "method": "GET",
                              "url": f"/me/messages/{quote(mid, safe='=-_')}/$value"}
                             for i, mid in enumerate(pending)]
                answer = self._send("POST", self._url("/$batch"), "batch MIME download",
                                    json={"requests": requests_}).json()
                errors: dict[str, ProviderError] = {}
                for resp in answer.get("responses", []):
                    mid = pending[int(resp["id"])]
                    status = int(resp.get("status", 500))
                    if status < 300:
                        out[mid] = _batch_body(resp.get("body"))
                    else:
                        errors[mid] = classify(status, resp.get("headers"), resp.get("body"), "batch MIME download")
                retry, wait = limits.batch_round(errors, attempt, attempts, "Graph batch MIME download")
                if not retry:
                    break
                pending = retry
                limits.sleep(wait)
        return out


def _batch_body(body) -> bytes:
    # A non-JSON body (MIME from $value) comes back base64-encoded inside the batch.
    if isinstance(body, str):
        return base64.b64decode(body + "=" * (-len(body) % 4))
    raise ProviderError("Graph batch: a MIME body was not base64 text")


def bcc_addresses(message: dict) -> list[str]:
    return [(r.get("emailAddress") or {}).get("address", "") for r in message.get("bccRecipients") or []]


def header_values(message: dict, name: str) -> list[str]:
    name = name.lower()
    return [h.get("value", "") for h in message.get("internetMessageHeaders") or []
            if str(h.get("name", "")).lower() == name]
