"""Every id-taking page route, tried with another company's ids and a colleague's private ids, shows and changes nothing.

The page counterpart of test_isolation.py: the routes come from ``app.url_map`` (every rule outside
/api/ and /static/ with an int id), each method is tried with the attacker's own valid CSRF token
and with bodies the owner's requests succeed with. A refusal must be 400/403/404, no response may
carry the victim's data, and afterwards every row of the victim's company is exactly as before.
The control test sends the very same requests as the owner and sees them succeed. The CSRF tests
send every state-changing page route without a token, with an empty one and with another
session's: 400 and no change.
"""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from backend.domain.items import MODELS
from backend.models import (Base, MailboxConnection, MailMessage, MailThread, OperatorMail, SenderAddress,
                            SentAnnouncement, ThreadLink)
from backend.models.company import ApiToken, Invitation

from ..linking.conftest import Crm
from ..web.conftest import PASSWORD, sign_in

ITEM_TYPES = ("deal", "lead", "person", "project")
VICTIM_REF = "victim-ref-1"  # the ref of the victim's announced mail (not logged)
STRING_VALUES = {"item_type": ITEM_TYPES, "provider": ("outlook", "gmail"), "ref": (VICTIM_REF,)}
REFUSED = (400, 403, 404)
# Everything a page form of the app reads, filled in: no form lacks what it needs to succeed.
EVERYTHING = {"type": "deal", "title": "hijack", "name": "hijack", "email": "hijack@evil.example", "shared": "1",
              "link_emails_to_items": "on", "default_sharing": "shared", "sender_verification": "reject",
              "domain": "hijacked.example", "role": "admin",
              # Settings > Your account: the password change succeeds for whoever sends it (their own).
              "current_password": PASSWORD, "new_password": "violet tractor umbrella",
              "new_password_again": "violet tractor umbrella"}
# Strings only the victim's data contains: no response to anyone else may carry them.
SECRETS = ("Victim deal", "Victim lead", "Victim project", "Victim Person", "Victim org", "Victim thread",
           "victim@cust.example", "v@home.example", "victim-quote.pdf", "VICTIM-SECRET-BODY", "VICTIM-PDF-BYTES",
           "Victim operator report", "Victim Member", "victim-invite@globex.example", "Victim token")
# Pages and JSON that take ids or words in the query string (the inbox's filters, the global search):
# tried with the victim's words and ids ({person} etc. filled in from the victim fixture).
QUERY_PAGES = ("/inbox?person_id={person}", "/inbox?organization_id={organization}",
               "/inbox?filter=shared_with_me", "/inbox?filter=with_attachments&q=Victim",
               "/search?q=Victim", "/search?q=%40cust.example", "/search?q=secret+body",
               "/search?q=deal%3A{deal}", "/app-api/find?q=Victim", "/app-api/find?q=victim-quote",
               "/app-api/find?q=deal%3A{deal}")
# The id routes the app has today; the test fails if it finds fewer (a broken discovery proves nothing).
KNOWN_ID_ROUTES = {
    "web.deal_view", "web.lead_view", "web.project_view", "web.person_view", "web.thread_view",
    "web.message_attachment", "web.message_body", "web.message_delete", "web.thread_create", "web.thread_link",
    "web.thread_share", "web.thread_unlink", "web.address_resend", "web.address_delete", "web.app_share",
    "web.app_link", "web.app_unlink", "web.operator_mail_raw", "web.user_role", "web.user_deactivate",
    "web.user_reactivate", "web.invitation_resend", "web.invitation_revoke", "web.account_token_revoke",
    "web.organization_view", "web.deal_edit", "web.lead_edit", "web.project_edit", "web.person_edit",
    "web.organization_edit"}
# The pages of the company's items (not private): a colleague opens and edits them.
COMPANY_ITEM_ROUTES = {"web.deal_view", "web.lead_view", "web.project_view", "web.person_view",
                       "web.organization_view", "web.deal_edit", "web.lead_edit", "web.project_edit",
                       "web.person_edit", "web.organization_edit"}
# Session endpoints: they act on the caller's own session only (their CSRF is tested below).
SESSION_ENDPOINTS = {"web.sign_in_post", "web.sign_out"}
# Needs a token from a confirmation mail; its success is tested in tests/web/test_settings_pages.py.
MAILED_TOKEN_ENDPOINTS = {"web.confirm_address", "web.invitation_accept", "web.reset_password_post"}


# ---- the routes

def page_rules(app):
    for rule in app.url_map.iter_rules():
        if not str(rule).startswith(("/api/", "/static/")):
            yield rule


def int_params(rule) -> list[str]:
    return [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]


def id_rules(app):
    return [rule for rule in page_rules(app) if int_params(rule)]


def methods(rule) -> list[str]:
    return [m for m in ("GET", "POST", "PATCH", "PUT", "DELETE") if m in rule.methods]


def order(entry) -> tuple:
    """Reads first, then writes, then what removes things: every owner request finds its target."""
    rule, method = entry
    endpoint = rule.endpoint
    if method == "GET":
        rank = 0
    elif method == "DELETE":
        rank = 2  # before the form unlinks, so the link it removes is still there
    elif "unlink" in endpoint:
        rank = 3
    elif any(word in endpoint for word in ("delete", "disconnect")):
        rank = 4
    else:
        rank = 1
    return rank, str(rule)


def requests_for(rules) -> list:
    return sorted(((rule, method) for rule in rules for method in methods(rule)), key=order)


def pattern(rule) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", r"[^/]+", str(rule))


def fill(rule, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), str(rule))


def paths(rule, candidates) -> list[str]:
    """Every combination of candidate ids (``candidates(param)``) and string values for the rule's parameters."""
    choices = []
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            choices.append([(name, value) for value in candidates(name)])
        else:
            choices.append([(name, value) for value in STRING_VALUES.get(name, ("x",))])
    return [fill(rule, dict(combo)) for combo in itertools.product(*choices)]


def is_json(path: str) -> bool:
    return path.startswith("/app-api/")


def bodies(path: str, method: str, items: dict[str, int]) -> list[dict | None]:
    """Bodies the owner's request succeeds with: each of the victim's items, and every form field."""
    if method == "GET":
        return [None]
    if is_json(path):
        return [{"item_type": t, "item_id": items[t]} for t in ITEM_TYPES] + [{"shared": True}]
    return [{"item_type": t, "item_id": str(items[t])} for t in ITEM_TYPES] + [EVERYTHING]


def send(client, method: str, path: str, body: dict | None, token: str | None):
    if method == "GET":
        return client.get(path)
    if is_json(path):
        return client.open(path, method=method, json=body, headers={"X-CSRF-Token": token} if token else {})
    data = dict(body or {})
    if token is not None:
        data["csrf_token"] = token
    return client.open(path, method=method, data=data)


def leaked_secrets(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [s for s in SECRETS if s in text]


# ---- the data

def snapshot(services, company_id: int) -> dict[str, list[tuple]]:
    """Every row of one company, table by table: what 'unchanged' is measured against."""
    rows = {}
    with services.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "company_id" in table.c:
                query = select(table).where(table.c.company_id == company_id)
            elif table.name == "companies":
                query = select(table).where(table.c.id == company_id)
            elif table.name == "operator_mail":
                # The deployment's postmaster@/abuse@ mail: no company's, and no page changes it.
                query = select(table)
            else:
                raise AssertionError(f"{table.name}: a table without company_id needs a rule here")
            rows[table.name] = sorted((tuple(r) for r in conn.execute(query)), key=repr)
    return rows


def diff(before: dict, after: dict) -> dict:
    return {name: {"before": before[name], "after": after[name]} for name in before if before[name] != after[name]}


def victim_mail(sender: str, to: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = "<victim-1@globex.example>"
    msg["Date"] = "Mon, 3 Mar 2025 10:00:00 +0000"
    msg.set_content("VICTIM-SECRET-BODY: the price is 42.")
    msg.add_alternative("<p>VICTIM-SECRET-BODY: the price is <b>42</b>.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 VICTIM-PDF-BYTES", maintype="application", subtype="pdf",
                       filename="victim-quote.pdf")
    return bytes(msg)


@pytest.fixture
def gary(make_account):
    return make_account("globex.example", "gary@globex.example", name="Gary Globex", password=PASSWORD)


@pytest.fixture
def victim(client, gary, send_mail, services, make_account) -> dict[str, int]:
    """Globex with one of everything, all of it gary's and private: a thread with a message and an
    attachment, linked to a deal and a person; a lead, project, organization, sender address, mailbox
    connection; and a mail to postmaster@, which gary reads as the admin of the only company."""
    crm = Crm(client, gary)
    person = crm.person("Victim Person", "victim@cust.example")
    deal = crm.deal("Victim deal", person["id"])
    lead = crm.post("leads", title="Victim lead", person_id=person["id"])
    project = crm.post("projects", title="Victim project", person_id=person["id"])
    org = crm.post("organizations", name="Victim org")
    send_mail(victim_mail(gary.email, "Vic <victim@cust.example>", "Victim thread"), deal["bcc_address"], gary.email)
    thread = crm.only_thread()
    assert thread["shared"] is False
    assert {("deal", deal["id"]), ("person", person["id"])} <= {(lk["item_type"], lk["item_id"]) for lk in thread["links"]}
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    attachment = next(a for a in message["attachments"] if a["filename"] == "victim-quote.pdf")
    alt = client.post("/api/v1/users/me/alternative-addresses", json={"email": "v@home.example"},
                      headers=gary.auth).json["data"]
    with services.db.session() as session:
        session.add(MailboxConnection(company_id=gary.company_id, user_id=gary.user_id, provider="outlook",
                                      account_email=gary.email, refresh_token_enc="sealed"))
        # A mail the add-in announced whose copy never came: listed as not logged on gary's home page.
        session.add(SentAnnouncement(company_id=gary.company_id, user_id=gary.user_id, ref=VICTIM_REF,
                                     address=gary.email, internet_message_id="<victim-announced@globex.example>",
                                     provider="outlook", created_at=datetime.utcnow() - timedelta(hours=2)))
    send_mail(b"From: ops@far.example\r\nSubject: Victim operator report\r\n\r\nVICTIM-SECRET-BODY\r\n",
              "postmaster@bcc.test", "ops@far.example")
    with services.db.session() as session:
        operator_mail = session.scalar(select(OperatorMail.id))
    # Settings > Users and Your account: a colleague of gary's, an invitation, a personal API token.
    member = make_account("globex.example", "victim-member@globex.example", admin=False, name="Victim Member")
    with services.db.session() as session:
        invitation = Invitation(company_id=gary.company_id, email="victim-invite@globex.example", role="member",
                                invited_by_id=gary.user_id, nonce_hash="0" * 64, sent_at=datetime.utcnow(),
                                expires_at=datetime.utcnow() + timedelta(days=7))
        token = ApiToken(company_id=gary.company_id, user_id=gary.user_id, name="Victim token", token_hash="1" * 64)
        session.add_all([invitation, token])
        session.flush()
        invitation_id, token_id = invitation.id, token.id
    return {"person": person["id"], "deal": deal["id"], "lead": lead["id"], "project": project["id"],
            "organization": org["id"], "thread": thread["id"], "message": message["id"],
            "attachment": attachment["id"], "address": alt["id"], "operator_mail": operator_mail,
            "user": member.user_id, "invitation": invitation_id, "token": token_id}


def signed_in(app, account):
    client = app.test_client()
    client.csrf = sign_in(client, account.email)
    return client


def attack(client, app, rules, candidates, items, token) -> list:
    """(method, path, body, response) of every request, ids from ``candidates(param)``."""
    results = []
    for rule, method in requests_for(rules):
        for path in paths(rule, candidates):
            for body in bodies(path, method, items):
                results.append((method, path, body, send(client, method, path, body, token)))
    return results


# ---- another company

def test_the_discovery_finds_every_id_route(app):
    found = {rule.endpoint for rule in id_rules(app)}
    assert KNOWN_ID_ROUTES <= found, KNOWN_ID_ROUTES - found
    # Only blueprints whose hooks load the session user and check CSRF serve id pages.
    assert {rule.endpoint.split(".")[0] for rule in id_rules(app)} <= {"web", "providers_web"}


def test_another_companys_ids_are_absent_from_every_page(app, services, victim, gary, make_account):
    alice = make_account("acme.example", "alice@acme.example", password=PASSWORD)
    attacker = signed_in(app, alice)
    before = snapshot(services, gary.company_id)
    ids = sorted(set(victim.values()))
    results = attack(attacker, app, id_rules(app), lambda _name: ids, victim, attacker.csrf)
    tried = {(m, p) for m, p, _b, _r in results}
    assert all(any(m == method and re.fullmatch(pattern(rule), p) for m, p in tried)
               for rule, method in requests_for(id_rules(app)))
    wrong = [f"{m} {p} {b} -> {r.status_code}" for m, p, b, r in results if r.status_code not in REFUSED]
    assert wrong == []
    shown = [f"{m} {p} {b}: {leaked_secrets(r)}" for m, p, b, r in results if leaked_secrets(r)]
    assert shown == []
    for page in QUERY_PAGES:
        response = attacker.get(page.format(**victim))
        assert response.status_code in (200, 400) and not leaked_secrets(response), page
    # The routes without an id act on the attacker's own user and company only.
    for rule, method in requests_for(r for r in page_rules(app) if not int_params(r)):
        if method == "GET" or rule.endpoint in SESSION_ENDPOINTS:
            continue
        for path in paths(rule, lambda _name: ids):
            response = send(attacker, method, path, EVERYTHING, attacker.csrf)
            assert response.status_code < 500 and not leaked_secrets(response), (path, response.status_code)
    assert diff(before, snapshot(services, gary.company_id)) == {}


def test_the_victims_items_in_a_form_do_not_link_the_attackers_own_thread(app, services, victim, gary, make_account,
                                                                          send_mail):
    alice = make_account("acme.example", "alice@acme.example", password=PASSWORD)
    crm = Crm(app.test_client(), alice)
    own_person = crm.person("Own Customer", "own@cust.example")
    own_deal = crm.deal("Own deal", own_person["id"])
    raw = victim_mail(alice.email, "own@cust.example", "Own thread").replace(b"victim-1@globex", b"own-1@acme")
    send_mail(raw.replace(b"VICTIM", b"OWN").replace(b"victim-quote", b"own-quote"), own_deal["bcc_address"], alice.email)
    own_thread = crm.only_thread()["id"]
    victim_items = {(t, victim[t]) for t in ITEM_TYPES}
    with services.db.session() as session:
        own_items = {(t, i) for t, model in MODELS.items()
                     for i in session.scalars(select(model.id).where(model.company_id == alice.company_id))}
    assert ("deal", own_deal["id"]) in own_items and not own_items & victim_items
    # Every victim id as every item type, except where that names one of the attacker's own items
    # (ids of different tables do coincide): linking those is the attacker's right.
    pairs = sorted({(t, i) for t in ITEM_TYPES for i in victim.values()} - own_items)
    assert victim_items <= set(pairs)
    attacker = signed_in(app, alice)
    before = snapshot(services, gary.company_id)
    thread_rules = [r for r in id_rules(app) if "thread_id" in int_params(r) and "GET" not in r.methods]
    assert {r.endpoint for r in thread_rules} >= {"web.thread_link", "web.thread_unlink", "web.app_link", "web.app_unlink"}
    for rule, method in requests_for(thread_rules):
        if {"item_type", "item_id"} <= set(rule.arguments):
            requests = [(fill(rule, {"thread_id": own_thread, "item_type": t, "item_id": i}), None) for t, i in pairs]
        else:
            path = fill(rule, {"thread_id": own_thread})
            requests = [(path, {"item_type": t, "item_id": i if is_json(path) else str(i)}) for t, i in pairs]
        for path, body in requests:
            response = send(attacker, method, path, body, attacker.csrf)
            where = f"{method} {path} {body} -> {response.status_code}"
            assert not leaked_secrets(response), where
            if is_json(path):
                assert response.status_code in REFUSED, where
                continue
            assert response.status_code in REFUSED + (302,), where
            if response.status_code == 302:
                # Followed at once, so each page shows the flash of its own request only.
                page = attacker.get(response.headers["Location"]).get_data(as_text=True)
                if rule.endpoint in ("web.thread_link", "web.thread_unlink"):
                    # The redirect back to the thread carries the refusal, not a success.
                    assert "flash flash-error" in page and "flash flash-ok" not in page, where
    with services.db.session() as session:
        links = session.execute(select(ThreadLink.item_type, ThreadLink.item_id, ThreadLink.removed).where(
            ThreadLink.company_id == alice.company_id)).all()
    assert not {(t, i) for t, i, _removed in links} & victim_items
    # A refused deal link rolled back in full: the thread's own deal was not unlinked on the way.
    assert ("deal", own_deal["id"], False) in links
    assert diff(before, snapshot(services, gary.company_id)) == {}


# ---- a colleague

PRIVATE_PARAMS = ("thread_id", "message_id", "attachment_id", "address_id", "mail_id", "user_id", "invitation_id",
                  "token_id")


def test_a_colleagues_private_thread_message_and_addresses_are_absent(app, services, victim, gary, make_account):
    colleague = make_account("globex.example", "colleague@globex.example", admin=False, password=PASSWORD)
    client = signed_in(app, colleague)
    before = snapshot(services, gary.company_id)
    private = sorted({victim["thread"], victim["message"], victim["attachment"], victim["address"],
                      victim["operator_mail"], victim["user"], victim["invitation"], victim["token"]})
    rules = [r for r in id_rules(app) if set(int_params(r)) & set(PRIVATE_PARAMS)]
    assert {r.endpoint for r in rules} >= KNOWN_ID_ROUTES - COMPANY_ITEM_ROUTES
    # Private ids wherever a private id goes; the thread's linked items wherever an item id goes.
    results = attack(client, app, rules, lambda name: private if name in PRIVATE_PARAMS else sorted(
        {victim[t] for t in ITEM_TYPES}), victim, client.csrf)
    wrong = [f"{m} {p} {b} -> {r.status_code}" for m, p, b, r in results if r.status_code not in REFUSED]
    assert wrong == []
    assert [p for _m, p, _b, r in results if leaked_secrets(r)] == []
    # The items are the company's, so their pages open; the private thread on them does not.
    for item_type, path in (("deal", "deals"), ("person", "persons"), ("lead", "leads"), ("project", "projects")):
        page = client.get(f"/{path}/{victim[item_type]}")
        assert page.status_code == 200
        assert "Victim thread" not in page.get_data(as_text=True) and "VICTIM-SECRET" not in page.get_data(as_text=True)
    for page in ("/inbox", "/inbox?auto=1&q=Victim", "/", "/settings/smart-bcc", "/settings/connections",
                 "/settings/account", "/settings/users", *(p.format(**victim) for p in QUERY_PAGES)):
        text = client.get(page).get_data(as_text=True)
        assert "Victim thread" not in text and "v@home.example" not in text, page
    assert diff(before, snapshot(services, gary.company_id)) == {}
    # The search does work for them (the company's records) and for the thread's owner (the thread).
    assert "Victim deal" in client.get("/search?q=Victim").get_data(as_text=True)
    assert "Victim thread" in signed_in(app, gary).get("/search?q=Victim").get_data(as_text=True)


def test_a_shared_thread_is_visible_to_a_colleague_but_only_its_owner_shares_or_deletes(app, services, victim, gary,
                                                                                      make_account):
    owner = signed_in(app, gary)
    assert owner.post(f"/inbox/threads/{victim['thread']}/share",
                      data={"shared": "1", "csrf_token": owner.csrf}).status_code == 302
    colleague = signed_in(app, make_account("globex.example", "colleague@globex.example", admin=False,
                                            password=PASSWORD))
    assert colleague.get(f"/inbox/threads/{victim['thread']}").status_code == 200
    before = snapshot(services, gary.company_id)
    refused = [
        colleague.post(f"/inbox/threads/{victim['thread']}/share", data={"shared": "0", "csrf_token": colleague.csrf}),
        colleague.patch(f"/app-api/threads/{victim['thread']}", json={"shared": False},
                        headers={"X-CSRF-Token": colleague.csrf}),
        colleague.post(f"/inbox/messages/{victim['message']}/delete", data={"csrf_token": colleague.csrf}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert diff(before, snapshot(services, gary.company_id)) == {}


# ---- the control: the owner's identical requests succeed

def test_the_same_requests_do_reach_the_owners_data(app, services, victim, gary):
    owner = signed_in(app, gary)
    ids = sorted(set(victim.values()))
    results = attack(owner, app, id_rules(app), lambda _name: ids, victim, owner.csrf)
    rules_reached = set()
    for rule in id_rules(app):
        for method in methods(rule):
            if any(re.fullmatch(pattern(rule), p) and m == method and r.status_code < 400
                   for m, p, _b, r in results):
                rules_reached.add((rule.endpoint, method))
    missing = {(r.endpoint, m) for r in id_rules(app) for m in methods(r)} - rules_reached
    assert missing == set()
    # Pages that show the owner's data show it...
    assert any("Victim deal" in r.get_data(as_text=True) for m, p, _b, r in results if p == f"/deals/{victim['deal']}")
    attachment = f"/inbox/messages/{victim['message']}/attachments/{victim['attachment']}"
    assert any(r.status_code == 200 and b"VICTIM-PDF-BYTES" in r.data for _m, p, _b, r in results if p == attachment)
    # ...and the writes changed it: shared, deleted, removed.
    with services.db.session() as session:
        assert session.get(MailThread, victim["thread"]).shared is True
        assert session.get(MailMessage, victim["message"]).deleted_at is not None
        assert session.get(SenderAddress, victim["address"]) is None


# ---- CSRF on every state-changing page route

def _owner_values(victim) -> dict:
    return {"thread_id": victim["thread"], "message_id": victim["message"], "attachment_id": victim["attachment"],
            "address_id": victim["address"], "item_id": victim["person"], "item_type": "person",
            "provider": "outlook", "ref": VICTIM_REF, "user_id": victim["user"], "invitation_id": victim["invitation"],
            "token_id": victim["token"], "deal_id": victim["deal"], "lead_id": victim["lead"],
            "project_id": victim["project"], "person_id": victim["person"], "organization_id": victim["organization"]}


def _writes(app) -> list:
    out = []
    for rule in page_rules(app):
        for method in methods(rule):
            if method != "GET" and not str(rule).startswith("/addons/"):
                out.append((rule, method))
    return sorted(out, key=order)


def _owner_body(path: str, rule, victim, gary) -> dict:
    if rule.endpoint == "web.sign_in_post":
        return {"email": gary.email, "password": PASSWORD}
    if is_json(path):
        return {"item_type": "deal", "item_id": victim["deal"], "shared": True}
    return {**EVERYTHING, "shared": "1", "item_type": "deal", "item_id": str(victim["deal"]), "domain": "globex2.example"}


def test_every_state_changing_page_route_is_found(app):
    endpoints = {rule.endpoint for rule, _m in _writes(app)}
    assert {"web.sign_in_post", "web.sign_out", "web.settings_linking", "web.settings_sharing",
            "web.settings_verification", "web.company_domain_post", "web.address_add", "web.address_resend",
            "web.address_delete", "web.thread_link", "web.thread_unlink", "web.thread_create", "web.thread_share",
            "web.message_delete", "web.app_link", "web.app_share", "web.app_unlink",
            "providers_web.connect_disconnect", "web.confirm_address",
            "web.deal_new", "web.lead_new", "web.project_new", "web.person_new", "web.organization_new",
            "web.deal_edit", "web.lead_edit", "web.project_edit", "web.person_edit", "web.organization_edit"} <= endpoints


def test_no_token_an_empty_one_or_another_sessions_is_refused_and_changes_nothing(app, services, victim, gary,
                                                                                  make_account):
    owner = signed_in(app, gary)
    other_user = signed_in(app, make_account("acme.example", "alice@acme.example", password=PASSWORD))
    anonymous = app.test_client()
    anonymous_token = re.search(r'name="csrf-token" content="([^"]+)"',
                                anonymous.get("/sign-in").get_data(as_text=True)).group(1)
    before = snapshot(services, gary.company_id)
    values = _owner_values(victim)
    for rule, method in _writes(app):
        path = fill(rule, values)
        body = _owner_body(path, rule, victim, gary)
        for token in (None, "", other_user.csrf, anonymous_token, owner.csrf[:-1]):
            response = send(owner, method, path, body, token)
            where = f"{method} {path} token={token!r}"
            assert response.status_code == 400, f"{where} -> {response.status_code}"
            text = response.get_data(as_text=True)
            assert "did not come from this site" in text and "nothing was changed" in text, where
        # The right token in the query string does not count: URLs end up in logs and Referer headers.
        if is_json(path):
            response = owner.open(path, method=method, json=body, query_string={"csrf_token": owner.csrf})
        else:
            response = owner.open(path, method=method, data=body, query_string={"csrf_token": owner.csrf})
        assert response.status_code == 400, path
    assert diff(before, snapshot(services, gary.company_id)) == {}
    assert owner.get("/inbox").status_code == 200  # still signed in: sign-out was refused too
    assert "Gary Globex" in owner.get("/").get_data(as_text=True)  # and not switched to another account


def test_the_same_writes_with_the_sessions_token_go_through(app, services, victim, gary):
    # The control for the CSRF test: with the right token each route does its work.
    owner = signed_in(app, gary)
    values = _owner_values(victim)
    before = snapshot(services, gary.company_id)
    statuses = {}
    for rule, method in _writes(app):
        if rule.endpoint in SESSION_ENDPOINTS | MAILED_TOKEN_ENDPOINTS:
            continue
        path = fill(rule, values)
        response = send(owner, method, path, _owner_body(path, rule, victim, gary), owner.csrf)
        statuses[rule.endpoint] = response.status_code
    assert all(status < 400 for status in statuses.values()), statuses
    changed = diff(before, snapshot(services, gary.company_id))
    for table in ("users", "companies", "mail_threads", "thread_links", "mail_messages", "sender_addresses",
                  "mailbox_connections", "deals", "sent_announcements", "invitations", "api_tokens",
                  "leads", "projects", "persons", "organizations"):
        assert table in changed, table
    token = owner.csrf
    assert owner.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert owner.get("/inbox").status_code == 302
