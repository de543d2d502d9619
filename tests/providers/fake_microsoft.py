"""A local Microsoft identity platform (v2.0 endpoints) and Microsoft Graph mail API, over HTTPS."""
from __future__ import annotations

import base64
import json
import re
import secrets
import time
from urllib.parse import urlencode

from .fakes import Answer, FakeServer, Mail, Seen, TokenBook, json_answer, parse_time, s256, unsigned_jwt

REF_PROP = "String {00020386-0000-0000-C000-000000000046} Name x-smartbcc-ref"
CLIENT_ID, CLIENT_SECRET = "ms-client-id", "ms-client-secret"


def graph_error(status: int, code: str, message: str, **headers) -> Answer:
    return json_answer(status, {"error": {"code": code, "message": message,
                                          "innerError": {"request-id": "fake"}}}, **headers)


class FakeMicrosoft(FakeServer):
    def __init__(self, tls):
        super().__init__(tls)
        self.tokens = TokenBook()
        self.account = "alice@acme.example"
        self.mail: list[Mail] = []
        self.delta_gone = False
        self.obo_assertions: set[str] = set()
        # Whether an On-Behalf-Of answer carries a refresh token (Entra ID does when offline_access is granted).
        self.obo_refresh = False
        self.page_size = 2

    # --- mailbox helpers for tests ---------------------------------------
    def add(self, raw: bytes, folder: str = "sent", received=None) -> Mail:
        from datetime import datetime, timezone

        mail = Mail("AAMk" + secrets.token_urlsafe(12) + "=", raw, folder,
                    received or datetime.now(timezone.utc))
        self.mail.append(mail)
        return mail

    # --- dispatch --------------------------------------------------------
    def handle(self, seen: Seen) -> Answer:
        path = seen.path
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            return json_answer(200, {
                "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                "issuer": f"{self.base}/{tenant}/v2.0", "jwks_uri": f"{self.base}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code"], "scopes_supported": ["openid", "profile", "offline_access"]})
        if path.endswith("/oauth2/v2.0/authorize"):
            return self.authorize(seen)
        if path.endswith("/oauth2/v2.0/token") and seen.method == "POST":
            return self.token(seen)
        if path.startswith("/v1.0/"):
            if not self.tokens.valid_bearer(seen):
                return graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            return self.graph(seen, path[len("/v1.0"):])
        return graph_error(404, "NotFound", f"no route {path}")

    # --- identity --------------------------------------------------------
    def authorize(self, seen: Seen) -> Answer:
        """Stands in for the user signing in and consenting: redirects back with a code."""
        code = "code-" + secrets.token_urlsafe(16)
        self.tokens.codes[code] = {k: seen.q(k) for k in ("nonce", "redirect_uri", "code_challenge", "scope")}
        target = seen.q("redirect_uri") + "?" + urlencode({"code": code, "state": seen.q("state"),
                                                           "session_state": "s"})
        return Answer(302, b"", {"Location": target})

    def _tokens(self, tenant: str, nonce: str | None, scope: str, account: str, refresh: str | None) -> Answer:
        now = int(time.time())
        id_token = unsigned_jwt({"iss": f"{self.base}/{tenant}/v2.0", "aud": CLIENT_ID, "sub": "sub-1",
                                 "oid": "oid-1", "tid": "tid-1", "preferred_username": account,
                                 "name": "Alice", "iat": now, "nbf": now, "exp": now + 3600,
                                 **({"nonce": nonce} if nonce else {})})
        client_info = base64.urlsafe_b64encode(json.dumps({"uid": "oid-1", "utid": "tid-1"}).encode()).decode()
        body = {"token_type": "Bearer", "scope": scope, "expires_in": 3600, "ext_expires_in": 3600,
                "access_token": self.tokens.new_access(), "id_token": id_token, "client_info": client_info}
        if refresh:
            body["refresh_token"] = refresh
        return json_answer(200, body)

    def token(self, seen: Seen) -> Answer:
        form = seen.form
        tenant = seen.path.split("/")[1]
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return json_answer(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."})
        grant = form.get("grant_type")
        scope = "https://127.0.0.1/Mail.Read openid profile offline_access"
        if grant == "authorization_code":
            record = self.tokens.codes.pop(form.get("code", ""), None)
            if record is None or record["redirect_uri"] != form.get("redirect_uri") or \
                    s256(form.get("code_verifier", "")) != record["code_challenge"]:
                return json_answer(400, {"error": "invalid_grant", "error_description": "AADSTS70000: bad code."})
            return self._tokens(tenant, record["nonce"], scope, self.account, self.tokens.new_refresh(self.account))
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt in self.tokens.revoked or rt not in self.tokens.refresh:
                return json_answer(400, {"error": "invalid_grant", "suberror": "bad_token",
                                         "error_description": "AADSTS70008: The provided authorization code or "
                                         "refresh token has expired due to inactivity."})
            account = self.tokens.refresh[rt]
            new_rt = self.tokens.new_refresh(account) if self.tokens.rotate_refresh else rt
            return self._tokens(tenant, None, scope, account, new_rt)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if form.get("requested_token_use") != "on_behalf_of" or form.get("assertion") not in self.obo_assertions:
                return json_answer(400, {"error": "invalid_grant", "suberror": "consent_required",
                                         "error_description": "AADSTS65001: The user has not consented."})
            refresh = self.tokens.new_refresh(self.account) if self.obo_refresh else None
            return self._tokens(tenant, None, scope, self.account, refresh)
        return json_answer(400, {"error": "unsupported_grant_type"})

    # --- Graph -----------------------------------------------------------
    def graph(self, seen: Seen, path: str) -> Answer:
        if path == "/$batch" and seen.method == "POST":
            return self.batch(seen)
        m = re.fullmatch(r"/me/messages/([^/]+)/\$value", path)
        if m:
            mail = next((x for x in self.mail if x.id == m.group(1)), None)
            if mail is None:
                return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            return Answer(200, mail.raw, {"Content-Type": "text/plain"})
        if path == "/me/mailFolders('sentitems')/messages/delta":
            return self.delta(seen)
        m = re.fullmatch(r"/me/mailFolders\('(sentitems|inbox)'\)/messages", path)
        if m:
            return self.listing(seen, "sent" if m.group(1) == "sentitems" else "inbox")
        return graph_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    def shape(self, mail: Mail, select: str) -> dict:
        fields = {f.strip() for f in (select or "").split(",") if f.strip()}
        out = {"id": mail.id}
        if "internetMessageId" in fields:
            out["internetMessageId"] = mail.message_id
        if "bccRecipients" in fields:
            out["bccRecipients"] = [{"emailAddress": {"address": a, "name": a}} for a in mail.addresses("Bcc")]
        if "internetMessageHeaders" in fields:
            out["internetMessageHeaders"] = [{"name": k, "value": str(v)} for k, v in mail.msg.items()
                                             if k.lower() != "bcc"]
        return out

    def listing(self, seen: Seen, folder: str) -> Answer:
        flt = seen.q("$filter") or ""
        hits = [x for x in self.mail if x.folder == folder]
        m = re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", flt)
        if m:
            wanted = m.group(1).replace("''", "'")
            hits = [x for x in hits if x.message_id == wanted]
        elif flt.startswith("singleValueExtendedProperties/any("):
            m = re.fullmatch(r"singleValueExtendedProperties/any\(ep: ep/id eq '([^']*)' and ep/value eq "
                             r"'((?:[^']|'')*)'\)", flt)
            if not m or m.group(1) != REF_PROP:
                return graph_error(400, "ErrorInvalidProperty", "bad extended property filter")
            ref = m.group(2).replace("''", "'")
            hits = [x for x in hits if (x.msg.get("X-SmartBcc-Ref") or "").strip() == ref]
        elif flt.startswith("from/emailAddress/address eq"):
            m = re.fullmatch(r"from/emailAddress/address eq '((?:[^']|'')*)' and receivedDateTime ge (\S+)", flt)
            if not m:
                return graph_error(400, "BadRequest", "bad from filter")
            sender, since = m.group(1).replace("''", "'").lower(), parse_time(m.group(2))
            hits = [x for x in hits if sender in x.addresses("From") and x.received >= since]
        elif flt:
            return graph_error(400, "BadRequest", f"unsupported filter {flt}")
        return json_answer(200, {"@odata.context": "fake", "value": [self.shape(x, seen.q("$select")) for x in hits]})

    def delta(self, seen: Seen) -> Answer:
        """Sent Items delta: pages by $skiptoken, a round ends with a deltaLink ($deltatoken)."""
        sent = [x for x in self.mail if x.folder == "sent"]
        if seen.q("$deltatoken") and self.delta_gone:
            self.delta_gone = False
            return graph_error(410, "SyncStateNotFound", "The sync state generation is not found.")
        token = seen.q("$deltatoken") or seen.q("$skiptoken")
        if token is None:
            flt = seen.q("$filter") or ""
            state = {"since": flt.split(" ge ")[1] if " ge " in flt else "", "after": 0,
                     "select": seen.q("$select"), "offset": 0, "mark": len(sent)}
        else:
            state = json.loads(base64.urlsafe_b64decode(token))
            if seen.q("$deltatoken"):  # a new round: what was added after the last one
                state = {"since": "", "after": state["mark"], "select": state["select"], "offset": 0,
                         "mark": len(sent)}
        pool = sent[state["after"]:]
        if state["since"]:
            pool = [x for x in pool if x.received >= parse_time(state["since"])]
        offset = state["offset"]
        page = pool[offset:offset + self.page_size]
        body = {"value": [self.shape(x, state["select"]) for x in page]}
        link = f"{self.base}/v1.0/me/mailFolders('sentitems')/messages/delta?"
        if offset + self.page_size >= len(pool):
            body["@odata.deltaLink"] = link + urlencode({"$deltatoken": _tok({**state, "offset": 0})})
        else:
            body["@odata.nextLink"] = link + urlencode({"$skiptoken": _tok({**state, "offset": offset + self.page_size})})
        return json_answer(200, body)

    def batch(self, seen: Seen) -> Answer:
        body = json.loads(seen.body)
        if len(body["requests"]) > 20:
            return graph_error(400, "BadRequest", "more than 20 requests in a batch")
        responses = []
        for req in body["requests"]:
            sub = Seen(req["method"], req["url"].split("?")[0], {}, seen.headers, b"")
            answer = self._injected(Seen(req["method"], "/v1.0" + sub.path, {}, seen.headers, b"")) \
                or self.graph(sub, sub.path)
            entry = {"id": req["id"], "status": answer.status, "headers": {
                k: v for k, v in answer.headers.items() if k.lower() != "content-length"}}
            if answer.headers.get("Content-Type", "").startswith("application/json"):
                entry["body"] = json.loads(answer.body or b"{}")
            else:
                entry["body"] = base64.b64encode(answer.body).decode()
            responses.append(entry)
        return json_answer(200, {"responses": responses})


def _tok(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


__all__ = ["FakeMicrosoft", "graph_error", "CLIENT_ID", "CLIENT_SECRET", "REF_PROP"]
