"""The order of a search's results (backend/domain/search.py): relevance then recency, window by
window of the newest matches; every page follows it, whether it is read from the newest matches
(the default) or from all matches ranked at once (include_total=1), and nothing is lost or shown
twice across pages."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.domain import inbox, search
from backend.models import MailMessage, MailThread

DAY0 = datetime(2026, 3, 1, 9, 0)


@pytest.fixture
def threads(services, acme):
    """Six threads of Acme's rep that mention "renewal", by name. Messages are stored in this
    order (ids rising), each on its own day:

        1 T1 "Renewal" (subject)       5 T5 "Notes", body mentions it
        2 T2 "Notes", body mentions it 6 T6 "Renewal" (subject)
        3 T3 "Renewal" (subject)       7 T1 "Lunch", no match: T1's last message, not a match
        4 T4 "Notes", body mentions it 8 T2 "Notes", body mentions it: T2's newest match

    Newest match first: T2 (8), T6, T5, T4, T3, T1 (1)."""
    plan = [("T1", "Renewal", "See you then."), ("T2", "Notes", "About the renewal."),
            ("T3", "Renewal", "See you then."), ("T4", "Notes", "About the renewal."),
            ("T5", "Notes", "About the renewal."), ("T6", "Renewal", "See you then."),
            ("T1", "Lunch", "See you then."), ("T2", "Notes", "About the renewal.")]
    ids = {}
    with services.db.session() as session:
        for n, (name, subject, body) in enumerate(plan, start=1):
            at = DAY0 + timedelta(days=n)
            thread = session.get(MailThread, ids[name]) if name in ids else None
            if thread is None:
                thread = MailThread(company_id=acme.company_id, owner_id=acme.user_id, subject=subject,
                                    normalized_subject=subject.lower(), first_message_at=at, snippet="")
                session.add(thread)
                session.flush()
                ids[name] = thread.id
            thread.message_count = (thread.message_count or 0) + 1
            thread.last_message_at = at
            session.add(MailMessage(company_id=acme.company_id, thread_id=thread.id, owner_id=acme.user_id,
                                    dedupe_key=f"order{n}", subject=subject, body_text=body, snippet=body,
                                    sent_at=at, sender_email=acme.email, raw_sha256="0" * 64))
            session.flush()
        session.commit()
    return ids


def _page(client, account, **params):
    response = client.get("/api/v1/mailbox/mailThreads", query_string=params, headers=account.auth)
    assert response.status_code == 200, response.json
    return [t["id"] for t in response.json["data"]], response.json["additional_data"]["pagination"]


def _walk(client, account, q: str, limit: int) -> list[int]:
    seen, start = [], 0
    while True:
        ids, pagination = _page(client, account, q=q, start=start, limit=limit)
        seen += ids
        if not pagination["more_items_in_collection"]:
            return seen
        start = pagination["next_start"]


def test_when_few_threads_match_it_is_relevance_then_the_last_message(client, acme, threads):
    # Subject matches first (T1's last message is the newest of them), then the body matches.
    expected = [threads[n] for n in ("T1", "T6", "T3", "T2", "T5", "T4")]
    assert _page(client, acme, q="renewal")[0] == expected
    assert _page(client, acme, q="renewal", include_total=1)[0] == expected


# span: message ids read at first (then as many as the threads found so far say the page needs); PostgreSQL
# ranks all matches at once instead when they number at most ``few`` (judged from the ids read) or the page
# is not filled after ``reads`` ranges.
@pytest.mark.parametrize("span, few, reads", [(1, 0, 1_000), (3, 0, 1_000), (4096, 0, 1_000), (1, 2_000, 1_000),
                                              (1, 0, 2)])
def test_windows_of_the_newest_matches_are_ranked_one_after_the_other(client, acme, threads, monkeypatch, span, few,
                                                                      reads):
    monkeypatch.setattr(search, "WINDOW", 2)
    monkeypatch.setattr(inbox, "FIRST_SPAN", span)
    monkeypatch.setattr(inbox, "FEW_MATCHES", few)
    monkeypatch.setattr(inbox, "MAX_READS", reads)
    # Windows by newest match: {T2, T6}, {T5, T4}, {T3, T1}; in each, the subject match first, then
    # the thread whose last message is newer (T5 before T4, T1 before T3).
    expected = [threads[n] for n in ("T6", "T2", "T5", "T4", "T1", "T3")]
    everything, pagination = _page(client, acme, q="renewal", include_total=1)
    assert everything == expected and pagination["total"] == 6
    assert _page(client, acme, q="renewal")[0] == expected
    for limit in (1, 2, 3, 4, 5):
        assert _walk(client, acme, "renewal", limit) == expected, limit
        for start in range(7):
            quick, pagination = _page(client, acme, q="renewal", start=start, limit=limit)
            full, _ = _page(client, acme, q="renewal", start=start, limit=limit, include_total=1)
            assert quick == full == expected[start:start + limit], (start, limit)
            assert pagination["more_items_in_collection"] is (start + limit < 6)


def test_a_page_past_the_newest_matches_ranks_all_of_them_in_the_same_order(client, acme, threads, monkeypatch):
    monkeypatch.setattr(search, "WINDOW", 2)
    monkeypatch.setattr(inbox, "QUICK_THREADS", 2)  # from the second window on: every match ranked
    expected = [threads[n] for n in ("T6", "T2", "T5", "T4", "T1", "T3")]
    for limit in (1, 2, 4):
        assert _walk(client, acme, "renewal", limit) == expected, limit


@pytest.mark.parametrize("span, most", [(2, 2), (2, 49_152), (4096, 49_152)])
def test_page_one_of_a_common_word_is_the_first_page_of_the_full_ranking(client, acme, services, monkeypatch, span,
                                                                          most):
    """Many threads, few windows read: the first pages equal those of all matches ranked."""
    monkeypatch.setattr(search, "WINDOW", 5)
    monkeypatch.setattr(inbox, "FIRST_SPAN", span)
    monkeypatch.setattr(inbox, "MAX_SPAN", most)  # the widest range read at once
    monkeypatch.setattr(inbox, "FEW_MATCHES", 0)  # PostgreSQL: read from the newest matches, however few,
    monkeypatch.setattr(inbox, "MAX_READS", 1_000)  # in however many ranges
    with services.db.session() as session:
        for n in range(40):
            at = DAY0 + timedelta(hours=n * 7 % 40, days=n % 9)
            subject = "Thanks for the order" if n % 7 == 0 else f"Order {n}"
            thread = MailThread(company_id=acme.company_id, owner_id=acme.user_id, subject=subject,
                                normalized_subject=subject.lower(), first_message_at=at, last_message_at=at,
                                message_count=1, snippet="")
            session.add(thread)
            session.flush()
            body = "thanks " * (1 + n % 3) if n % 4 else "Nothing here."
            session.add(MailMessage(company_id=acme.company_id, thread_id=thread.id, owner_id=acme.user_id,
                                    dedupe_key=f"common{n}", subject=subject, body_text=body, snippet=body,
                                    sent_at=at, sender_email=acme.email, raw_sha256="0" * 64))
        session.commit()
    everything, pagination = _page(client, acme, q="thanks", include_total=1, limit=100)
    matching = sum(1 for n in range(40) if n % 4 or n % 7 == 0)  # in the body or the subject
    assert pagination["total"] == len(everything) == len(set(everything)) == matching == 32
    for start, limit in ((0, 3), (0, 5), (0, 12), (4, 3), (13, 9), (28, 5)):
        assert _page(client, acme, q="thanks", start=start, limit=limit)[0] == everything[start:start + limit]
    assert _walk(client, acme, "thanks", 4) == everything
