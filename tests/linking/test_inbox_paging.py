"""Paging the inbox API: newest first, every visible thread once, and the total only when asked."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.models import MailMessage, MailThread

T0 = datetime(2026, 3, 1, 9, 0)


@pytest.fixture
def inbox(services, acme, make_account):
    """Acme's rep sees: 7 own threads (one about "pricing"), 5 shared by a colleague (two about
    "pricing"); not: 4 private ones of the colleague (one about "pricing"), 2 automatic ones,
    1 emptied one, and Globex's 3."""
    colleague = make_account("acme.example", "colin@acme.example", admin=False)
    stranger = make_account("globex.example")
    plan = ([(acme, False, False, 1, "Pricing for Q3" if n == 3 else f"Own {n}") for n in range(7)]
            + [(colleague, True, False, 1, "pricing sheet" if n < 2 else f"Shared {n}") for n in range(5)]
            + [(colleague, False, False, 1, "pricing (private)" if n == 0 else f"Private {n}") for n in range(4)]
            + [(acme, False, True, 1, "Undeliverable: pricing") for _ in range(2)]
            + [(acme, False, False, 0, "Emptied")]
            + [(stranger, True, False, 1, "Pricing at Globex") for _ in range(3)])
    visible = []
    with services.db.session() as session:
        for n, (owner, shared, auto, count, subject) in enumerate(plan):
            at = T0 + timedelta(hours=n * 7 % 24, days=n)
            thread = MailThread(company_id=owner.company_id, owner_id=owner.user_id, subject=subject,
                                normalized_subject=subject.lower(), shared=shared, auto=auto, message_count=count,
                                first_message_at=at, last_message_at=at, snippet="")
            session.add(thread)
            session.flush()
            session.add(MailMessage(company_id=owner.company_id, thread_id=thread.id, owner_id=owner.user_id,
                                    dedupe_key=f"k{n}", subject=subject, sent_at=at, sender_email=owner.email,
                                    raw_sha256="0" * 64, deleted_at=None if count else at))
            if owner is acme and not auto and count or owner is colleague and shared:
                visible.append((at, thread.id, f"{subject} {owner.email}".lower()))
    return [thread_id for _at, thread_id, _s in sorted(visible, reverse=True)], visible


def _page(client, account, **params):
    response = client.get("/api/v1/mailbox/mailThreads", query_string=params, headers=account.auth)
    assert response.status_code == 200, response.json
    return response.json["data"], response.json["additional_data"]["pagination"]


def test_pages_walk_every_visible_thread_once_newest_first(client, acme, inbox):
    expected, _ = inbox
    seen, start = [], 0
    while True:
        data, pagination = _page(client, acme, start=start, limit=5, include_total=1)
        assert pagination["total"] == len(expected) == 12
        seen += [t["id"] for t in data]
        if not pagination["more_items_in_collection"]:
            assert "next_start" not in pagination
            break
        start = pagination["next_start"]
    assert seen == expected


def test_total_only_when_asked(client, acme, inbox):
    _data, pagination = _page(client, acme, limit=5)
    assert "total" not in pagination and pagination["more_items_in_collection"] is True
    _data, pagination = _page(client, acme, limit=5, include_total="true")
    assert pagination["total"] == 12


@pytest.mark.parametrize("start, limit", [(0, 100), (10, 2), (12, 5), (40, 5)])
def test_total_on_last_and_past_the_end_pages(client, acme, inbox, start, limit):
    data, pagination = _page(client, acme, start=start, limit=limit, include_total=1)
    assert pagination["total"] == 12
    assert len(data) == max(0, min(limit, 12 - start))


@pytest.mark.parametrize("start, limit, shown", [(0, 100, 3), (0, 2, 2), (2, 2, 1), (3, 2, 0), (9, 1, 0)])
def test_search_total_counts_matches_the_user_may_see(client, acme, inbox, start, limit, shown):
    data, pagination = _page(client, acme, q="PRICING", start=start, limit=limit, include_total=1)
    assert pagination["total"] == 3  # own "Pricing for Q3" and two shared "pricing sheet"
    assert len(data) == shown
    assert {t["subject"] for t in data} <= {"Pricing for Q3", "pricing sheet"}
    data, pagination = _page(client, acme, q="PRICING", start=start, limit=limit)
    assert "total" not in pagination and len(data) == shown


def test_a_colleague_counts_only_what_they_see(client, acme, inbox, make_account):
    other = make_account("acme.example", "dana@acme.example", admin=False)
    data, pagination = _page(client, other, include_total=1)
    assert pagination["total"] == len(data) == 5  # only the shared ones


@pytest.mark.parametrize("term, found", [
    ("pricing", lambda s: "pricing" in s.split()), ("own", lambda s: "own" in s.split()),
    ('"own 1"', lambda s: "own 1" in s), ("colin@acme.example", lambda s: "colin@acme.example" in s),
    ("@acme.example", lambda s: True), ("nothing like it", lambda s: False)])
def test_search_pages_walk_every_match_once_in_one_order(client, acme, inbox, term, found):
    """A search ranks its matches (backend/domain/search.py): whatever the page size, and with or
    without the total, the pages walk the same matches once, in the same order."""
    _ids, visible = inbox
    expected = {thread_id for _at, thread_id, searched in visible if found(searched)}
    everything, pagination = _page(client, acme, q=term, limit=100, include_total=1)
    ranked = [t["id"] for t in everything]
    assert set(ranked) == expected and len(ranked) == len(expected) == pagination["total"]
    for limit in (1, 2, 3):
        seen, start = [], 0
        while True:
            data, pagination = _page(client, acme, q=term, start=start, limit=limit)
            seen += [t["id"] for t in data]
            if not pagination["more_items_in_collection"]:
                break
            start = pagination["next_start"]
        assert seen == ranked, limit


def test_a_search_page_runs_without_parallel_workers_and_the_exact_total_with_them(services, acme, inbox):
    """PostgreSQL: starting parallel workers cost a search page 8-11 ms for ~1 ms of work at
    3,000,000 messages; the page turns them off for its own transaction, the exact total keeps them."""
    from sqlalchemy import text

    from backend.domain.actor import Actor
    from backend.domain.inbox import inbox_page

    actor = Actor(user_id=acme.user_id, company_id=acme.company_id, name="", email=acme.email)
    with services.db.session() as session:
        default = session.scalar(text("SHOW max_parallel_workers_per_gather")) \
            if session.get_bind().dialect.name == "postgresql" else None
    for with_total, expected in ((False, "0"), (True, default)):
        with services.db.session() as session:
            page = inbox_page(session, actor, "pricing", False, 0, 2, with_total=with_total)
            assert page.ids  # the search found the rep's "pricing" threads
            if session.get_bind().dialect.name == "postgresql":
                assert session.scalar(text("SHOW max_parallel_workers_per_gather")) == expected
            session.rollback()
        if default is not None:
            with services.db.session() as session:  # the next transaction has the server's default again
                assert session.scalar(text("SHOW max_parallel_workers_per_gather")) == default
