"""Helpers for the linking tests: CRM items through the API, mail through real SMTP."""
from __future__ import annotations

import itertools

import pytest

_ids = itertools.count(1)


def mail(sender: str, to: str, subject: str, body: str = "Hello", *, cc: str | None = None,
         msgid: str | None = None, extra: str = "", date: str = "Mon, 3 Mar 2025 10:00:00 +0000") -> str:
    msgid = msgid or f"m{next(_ids)}@test.example"
    headers = f"From: {sender}\r\nTo: {to}\r\n"
    if cc:
        headers += f"Cc: {cc}\r\n"
    return (headers + f"Subject: {subject}\r\nMessage-ID: <{msgid}>\r\nDate: {date}\r\n{extra}\r\n"
            f"{body}\r\n")


class Crm:
    """Creates CRM items as one user, through the REST API."""

    def __init__(self, client, account):
        self.client, self.account = client, account

    def post(self, path, **body):
        response = self.client.post(f"/api/v1/{path}", json=body, headers=self.account.auth)
        assert response.status_code == 201, response.json
        return response.json["data"]

    def person(self, name, email):
        return self.post("persons", name=name, emails=[{"email": email}])

    def deal(self, title, person_id, status="open"):
        return self.post("deals", title=title, person_id=person_id, status=status)

    def get(self, path, **params):
        response = self.client.get(f"/api/v1/{path}", query_string=params, headers=self.account.auth)
        return response

    def threads(self, **params):
        response = self.get("mailbox/mailThreads", **params)
        assert response.status_code == 200, response.json
        return response.json["data"]

    def only_thread(self):
        threads = self.threads()
        assert len(threads) == 1, threads
        return threads[0]


def links_of(thread) -> set[tuple[str, int]]:
    return {(lk["item_type"], lk["item_id"]) for lk in thread["links"]}


@pytest.fixture
def crm(client, acme):
    return Crm(client, acme)
