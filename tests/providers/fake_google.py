"""A local Google OAuth 2 server and Gmail API (users.getProfile, messages.list/get, history.list, batch)."""
from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, message_from_string
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from .fakes import Answer, FakeServer, Mail, Seen, TokenBook, json_answer, s256

CLIENT_ID, CLIENT_SECRET = "google-client-id.apps.example", "google-client-secret"
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"


def gmail_error(status: int, reason: str, message: str, **headers) -> Answer:
    return json_answer(status, {"error": {"code": status, "message": message,
                                          "errors": [{"message": message, "domain": "global", "reason": reason}],
                                          "status": {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                                                     404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}.get(status, "")}},
                       **headers)


class FakeGoogle(FakeServer):
    def __init__(self):
        super().__init__(None)
        self.tokens = TokenBook()
        self.account = "alice@acme.example"
        self.mail: list[Mail] = []
        self.history = 1000
        self.oldest_history = 1000  # a startHistoryId below this is "too old" (404)
        self.granted_scope = f"openid https://www.googleapis.com/auth/userinfo.email {GMAIL_SCOPE}"

    def add(self, raw: bytes, folder: str = "sent", received: datetime | None = None) -> Mail:
        self.history += 1
        mail = Mail(secrets.token_hex(8), raw, folder, received or datetime.now(timezone.utc), self.history)
        self.mail.append(mail)
        return mail

    def handle(self, seen: Seen) -> Answer:
        if seen.path == "/o/oauth2/v2/auth":
            code = "4/" + secrets.token_urlsafe(16)
            self.tokens.codes[code] = {k: seen.q(k) for k in ("redirect_uri", "code_challenge", "scope")}
            target = seen.q("redirect_uri") + "?" + urlencode({"state": seen.q("state"), "code": code,
                                                               "scope": self.granted_scope})
            return Answer(302, b"", {"Location": target})
        if seen.path == "/token" and seen.method == "POST":
            return self.token(seen)
        if seen.path == "/batch/gmail/v1" and seen.method == "POST":
            return self.batch(seen)
        if seen.path.startswith("/gmail/v1/users/me/"):
            if not self.tokens.valid_bearer(seen):
                return gmail_error(401, "authError", "Request had invalid authentication credentials.")
            return self.gmail(seen, seen.path[len("/gmail/v1/users/me"):])
        return gmail_error(404, "notFound", f"no route {seen.path}")

    # --- OAuth ------------------------------------------------------------
    def token(self, seen: Seen) -> Answer:
        form = seen.form
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return json_answer(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            record = self.tokens.codes.pop(form.get("code", ""), None)
            if record is None or record["redirect_uri"] != form.get("redirect_uri") or \
                    s256(form.get("code_verifier", "")) != record["code_challenge"]:
                return json_answer(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return json_answer(200, {"access_token": self.tokens.new_access(), "expires_in": 3599,
                                     "refresh_token": self.tokens.new_refresh(self.account),
                                     "scope": self.granted_scope, "token_type": "Bearer", "id_token": "x.y.z"})
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt in self.tokens.revoked or rt not in self.tokens.refresh:
                return json_answer(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            return json_answer(200, {"access_token": self.tokens.new_access(), "expires_in": 3599,
                                     "scope": self.granted_scope, "token_type": "Bearer"})
        return json_answer(400, {"error": "unsupported_grant_type"})

    # --- Gmail ------------------------------------------------------------
    def gmail(self, seen: Seen, path: str) -> Answer:
        if path == "/profile":
            return json_answer(200, {"emailAddress": self.account, "messagesTotal": len(self.mail),
                                     "threadsTotal": len(self.mail), "historyId": str(self.history)})
        if path == "/messages":
            return self.list_messages(seen)
        m = re.fullmatch(r"/messages/([0-9a-f]+)", path)
        if m:
            return self.get_message(seen, m.group(1))
        if path == "/history":
            return self.history_list(seen)
        return gmail_error(404, "notFound", "Not Found")

    def matches(self, mail: Mail, q: str) -> bool:
        for term in q.split():
            key, _, value = term.partition(":")
            if key == "in" and value == "sent" and mail.folder != "sent":
                return False
            if key in ("bcc", "from") and value.lower() not in mail.addresses(key.capitalize()):
                return False
            if key == "rfc822msgid" and mail.message_id.strip("<>") != value.strip("<>"):
                return False
            if key == "newer_than" and mail.received < datetime.now(timezone.utc) - timedelta(days=int(value[:-1])):
                return False
            if key == "after" and mail.received.timestamp() < int(value):
                return False
        return True

    def list_messages(self, seen: Seen) -> Answer:
        q = seen.q("q") or ""
        hits = [m for m in reversed(self.mail) if self.matches(m, q)]  # newest first, like Gmail
        size = int(seen.q("maxResults") or 100)
        start = int(seen.q("pageToken") or 0)
        page = hits[start:start + size]
        body = {"messages": [{"id": m.id, "threadId": m.id} for m in page], "resultSizeEstimate": len(hits)}
        if start + size < len(hits):
            body["nextPageToken"] = str(start + size)
        if not page:
            body.pop("messages")
        return json_answer(200, body)

    def get_message(self, seen: Seen, mid: str) -> Answer:
        mail = next((m for m in self.mail if m.id == mid), None)
        if mail is None:
            return gmail_error(404, "notFound", "Requested entity was not found.")
        fmt = seen.q("format") or "full"
        labels = ["SENT"] if mail.folder == "sent" else ["INBOX", "UNREAD"]
        body = {"id": mail.id, "threadId": mail.id, "labelIds": labels, "historyId": str(mail.history_id),
                "internalDate": str(int(mail.received.timestamp() * 1000)), "sizeEstimate": len(mail.raw)}
        if fmt == "raw":
            body["raw"] = base64.urlsafe_b64encode(mail.raw).decode()
        elif fmt == "metadata":
            wanted = {h.lower() for h in seen.query.get("metadataHeaders", [])}
            body["payload"] = {"mimeType": "text/plain", "headers": [
                {"name": k, "value": str(v)} for k, v in mail.msg.items() if not wanted or k.lower() in wanted]}
        else:
            return gmail_error(400, "invalidArgument", "only raw and metadata in this fake")
        return json_answer(200, body)

    def history_list(self, seen: Seen) -> Answer:
        start = int(seen.q("startHistoryId") or 0)
        if start < self.oldest_history:
            return gmail_error(404, "notFound", "Requested entity was not found.")
        label = seen.q("labelId")
        entries = []
        for mail in self.mail:
            if mail.history_id <= start:
                continue
            labels = ["SENT"] if mail.folder == "sent" else ["INBOX"]
            if label and label not in labels:
                continue
            ref = {"id": mail.id, "threadId": mail.id, "labelIds": labels}
            entries.append({"id": str(mail.history_id), "messages": [ref], "messagesAdded": [{"message": ref}]})
        size = int(seen.q("maxResults") or 100)
        offset = int(seen.q("pageToken") or 0)
        body = {"history": entries[offset:offset + size], "historyId": str(self.history)}
        if offset + size < len(entries):
            body["nextPageToken"] = str(offset + size)
        return json_answer(200, body)

    # --- batch ------------------------------------------------------------
    def batch(self, seen: Seen) -> Answer:
        if not self.tokens.valid_bearer(seen):
            return gmail_error(401, "authError", "Request had invalid authentication credentials.")
        envelope = message_from_bytes(b"Content-Type: " + seen.headers["content-type"].encode() + b"\r\n\r\n"
                                      + seen.body)
        boundary = "batch_" + secrets.token_hex(8)
        out = []
        for part in envelope.get_payload():
            content_id = part["Content-ID"].strip("<>")
            request_line, rest = part.get_payload().split("\n", 1)
            method, target, _version = request_line.strip().split(" ")
            inner_headers = message_from_string(rest)
            split = urlsplit(target)
            sub = Seen(method, unquote(split.path), parse_qs(split.query),
                       {k.lower(): v for k, v in inner_headers.items()}, b"")
            with self.lock:
                self.requests.append(sub)
            answer = self._injected(sub) or self.handle(sub)
            extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items()
                            if k.lower() not in ("content-type", "content-length"))
            out.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{content_id}>\r\n\r\n"
                       f"HTTP/1.1 {answer.status} X\r\nContent-Type: application/json; charset=UTF-8\r\n{extra}\r\n"
                       f"{answer.body.decode()}\r\n")
        body = "".join(out) + f"--{boundary}--\r\n"
        return Answer(200, body.encode(), {"Content-Type": f"multipart/mixed; boundary={boundary}"})


__all__ = ["FakeGoogle", "gmail_error", "CLIENT_ID", "CLIENT_SECRET"]
