"""Every id-taking API endpoint, tried with another company's ids and a colleague's private ids, answers no data."""
from __future__ import annotations

import re

import pytest

from ..linking.conftest import Crm, mail

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
def bodies(candidate: int) -> list[dict | None]:
    """Bodies each endpoint would accept from its owner, so a refusal means isolation."""
    return [None, {"shared": True}, {"deal_id": candidate}, {"title": "hijack"}, {"name": "hijack"},
            {"status": "won"}, {"item_type": "deal", "item_id": candidate}, {"type": "lead"},
            {"email": "hijack@evil.example"}]


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        if not str(rule).startswith("/api/v1") or not any(
                isinstance(conv, type(app.url_map.converters["int"](app.url_map)))
                for conv in rule._converters.values()):
            continue
        yield rule


def _fill(rule, ids: dict[str, int], item_type: str = "deal") -> str:
    path = str(rule)
    path = re.sub(r"<int:(\w+)>", lambda m: str(ids.get(m.group(1), ids["default"])), path)
    return re.sub(r"<(?:string:)?(\w+)>", item_type, path)


@pytest.fixture
def victim(client, globex, send_mail):
    """A company with one of everything, none of it visible to acme."""
    crm = Crm(client, globex)
    person = crm.person("Victim Person", "victim@cust.example")
    deal = crm.deal("Victim deal", person["id"])
    lead = crm.post("leads", title="Victim lead", person_id=person["id"])
    project = crm.post("projects", title="Victim project", person_id=person["id"])
    org = crm.post("organizations", name="Victim org")
    send_mail(mail(globex.email, "victim@cust.example", "Victim thread"), deal["bcc_address"], globex.email)
    thread = crm.only_thread()
    message = crm.get(f"mailbox/mailThreads/{thread['id']}/mailMessages").json["data"][0]
    alt = client.post("/api/v1/users/me/alternative-addresses", json={"email": "v@home.example"},
                      headers=globex.auth).json["data"]
    return {"person": person["id"], "deal": deal["id"], "lead": lead["id"], "project": project["id"],
            "organization": org["id"], "thread": thread["id"], "message": message["id"], "address": alt["id"]}


def _attempt_all(client, app, auth, candidates: list[int], item_types=("deal", "lead", "person", "project")):
    leaks = []
    for rule in _id_rules(app):
        for method in METHODS:
            if method not in rule.methods:
                continue
            for candidate in candidates:
                for item_type in item_types if "<item_type>" in str(rule) else ("deal",):
                    path = _fill(rule, {"default": candidate, "item_id": candidate}, item_type)
                    for body in bodies(candidate) if method in ("POST", "PATCH", "PUT") else [None]:
                        response = client.open(path, method=method, json=body, headers=auth)
                        if 200 <= response.status_code < 300:
                            leaks.append(f"{method} {path} {body} -> {response.status_code}")
    return leaks


def test_another_companys_ids_are_absent_everywhere(app, client, acme, globex, victim):
    assert list(_id_rules(app)), "no id-taking endpoints found"
    leaks = _attempt_all(client, app, acme.auth, sorted(set(victim.values())))
    assert leaks == []
    crm = Crm(client, globex)
    assert crm.get(f"deals/{victim['deal']}").json["data"]["title"] == "Victim deal"
    assert crm.get(f"deals/{victim['deal']}").json["data"]["status"] == "open"
    assert crm.only_thread()["shared"] is False
    assert len(crm.get(f"deals/{victim['deal']}/mailMessages").json["data"]) == 1


def test_a_colleagues_private_thread_is_absent_everywhere(app, client, globex, make_account, victim):
    colleague = make_account("globex.example", "colleague@globex.example", admin=False)
    candidates = [victim["thread"], victim["message"], victim["address"]]
    for rule in _id_rules(app):
        path = str(rule)
        if "mailThreads" not in path and "mailMessages" not in path and "alternative-addresses" not in path:
            continue
        for method in METHODS:
            if method not in rule.methods:
                continue
            if "mailMessages" in path and not path.startswith("/api/v1/mailbox"):
                continue  # item views: the items are company-wide; the mail in them is checked below
            for candidate in candidates:
                for body in bodies(candidate) if method in ("POST", "PATCH", "PUT") else [None]:
                    response = client.open(_fill(rule, {"default": candidate}), method=method,
                                           json=body, headers=colleague.auth)
                    assert not 200 <= response.status_code < 300, f"{method} {path} {body} with {candidate}"
    crm = Crm(client, colleague)
    for kind in ("deal", "person", "lead", "project"):
        assert crm.get(f"{kind}s/{victim[kind]}/mailMessages").json["data"] == []


def test_the_same_attempts_do_reach_the_owners_data(app, client, globex, victim):
    # The control: with the owner's token the very same requests succeed, so the
    # absence above is isolation, not wrong ids.
    reached = _attempt_all(client, app, globex.auth, sorted(set(victim.values())))
    assert any(r.startswith("GET /api/v1/deals/") for r in reached)
    assert any(r.startswith("GET /api/v1/mailbox/mailMessages/") for r in reached)
    assert any(r.startswith("PATCH /api/v1/mailbox/mailThreads/") for r in reached)
