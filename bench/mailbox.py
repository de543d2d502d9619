#!/usr/bin/env python
"""Mailbox benchmark: inbox and deal-view API latency at a million messages, against a trivial authenticated endpoint.

    .venv/bin/python bench/mailbox.py [--db postgres|sqlite|both] [--threads N] [--messages N]
                                      [--requests N] [--pg-url URL] [--goal-ms 20] [--explain]
    .venv/bin/python bench/mailbox.py --sizes 100000,1000000,3000000 [--reuse STATE]

--sizes runs the whole benchmark at each size (threads, persons and deals in the default
proportions, the busy deal always --busy-deal-threads threads), then prints how each row grows
with the table: its p50 and p99 per size, its work (p50 minus the same run's baseline p50) as a
multiple of the smallest size's, the exponent k of that growth (work ~ size^k) and whether it
grows about linearly (k >= 0.7).

It seeds one company (Acme) with five users, --threads threads holding --messages messages
(1 to ~60 per thread, skewed; ids and dates in arrival order, so a thread's messages are spread
over the table as in real life), participants, an inbound record ("arrival") per message and a
few attachments for a realistic subset (--detail-share of the messages, plus every message of the
busy deal's threads), thread links to persons, deals, leads and projects (some removed), about
3% automatic threads, 1% deleted messages, and a mix of private and shared threads; plus a
second company a tenth the size (so company scoping is real work). Then, as Bob (a member: he
sees his own threads and the shared ones, not his colleagues' private ones), it times, in the
same process and run, interleaved request by request:

  baseline     GET /api/v1/users/me                       (token lookup + one row)
  inbox        GET /api/v1/mailbox/mailThreads            (first page of 100)
  inbox total  GET /api/v1/mailbox/mailThreads?include_total=1  (the same, with the exact total)
  deep page    GET /api/v1/mailbox/mailThreads?start=5000
  search       GET /api/v1/mailbox/mailThreads?q=...      (full-text search, rotating: a topic word,
                                                           a rare word, a "phrase", a word in a third
                                                           of the mails, a customer domain, one
                                                           contact's address, from:<address>,
                                                           has:attachment, no match; each also timed
                                                           through the LIKE search it replaced, SQL
                                                           only, as the baseline)
  thread       GET /api/v1/mailbox/mailThreads/{id}/mailMessages   (a random visible thread)
  deal view    GET /api/v1/deals/{id}/mailMessages        (first page of a deal linked to
                                                           --busy-deal-threads threads)

Requests go through the Flask test client (no sockets), so the numbers are the app and the
database. Before timing, each endpoint's answer is checked once: nobody else's private thread
or message appears, and the inbox total equals the count computed from the generated data. It
prints p50/p99/mean per endpoint, the ratio to the baseline, the SQL statements per request (an
engine event listener) and whether p99 is under --goal-ms; --explain also prints PostgreSQL's
EXPLAIN ANALYZE of each endpoint's statements, once.

**The PostgreSQL database's public schema is dropped and recreated.** Give it a database you
don't need.
"""
from __future__ import annotations

import argparse
import gc
from urllib.parse import unquote
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchutil import QueryCounter, analyze, bulk_load, fix_sequences, fresh_database, indexes_deferred, pct  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_mailbox"
MAIL_DOMAIN = "bcc.bench"
EPOCH = datetime(2024, 1, 1)
SPAN_DAYS = 730
TOPICS = ("quote", "proposal", "invoice", "renewal", "pricing", "contract", "demo", "onboarding", "support",
          "meeting", "follow-up", "order", "delivery", "discount", "trial", "licence", "upgrade", "feedback",
          "workshop", "introduction", "shipment", "payment", "schedule", "questions", "agreement", "samples",
          "training", "integration", "roadmap", "budget", "forecast", "references", "security review",
          "purchase order", "statement of work", "kick-off", "handover", "pilot", "evaluation", "offer")
WORDS = ("thanks", "please", "attached", "find", "the", "updated", "version", "let", "me", "know", "if", "you",
         "have", "any", "questions", "regarding", "our", "call", "next", "week", "we", "can", "schedule",
         "a", "time", "that", "works", "for", "both", "team", "looking", "forward", "to", "hearing", "from",
         "best", "regards", "as", "discussed", "here", "is", "summary", "of", "points", "price", "terms")
USERS = (("alice", "Alice Admin", True, "shared"), ("bob", "Bob Member", False, "shared"),
         ("carol", "Carol Rep", False, "private"), ("dave", "Dave Rep", False, "private"),
         ("erin", "Erin Rep", False, "shared"))
MEASURED_USER = "bob"
# Words each in about 1 message in 100,000 (written into bodies): the "rare word" search.
RARE_WORDS = tuple(f"zircon{n}" for n in range(20))


class Ids:
    """Explicit ids for every table, so rows can reference each other before they are loaded."""

    def __init__(self):
        self.next: dict[str, int] = {}

    def take(self, table: str, count: int = 1) -> int:
        first = self.next.get(table, 1)
        self.next[table] = first + count
        return first


def _pool(rng: random.Random, size: int, words: int) -> list[str]:
    """Random texts to pick from (drawing 80 words per message would make seeding slow)."""
    return [" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(size)]


def seed_company(conn, ids: Ids, rng: random.Random, company_id: int, domain: str, users: list[dict],
                 threads: int, messages: int, persons: int, deals: int, detail_share: float,
                 busy_deal_threads: int) -> dict:
    """One company's CRM and mail, bulk loaded; returns what the checks and requests need."""
    from backend import addresses
    from backend.models import (Attachment, Deal, InboundRecord, Lead, MailMessage, MailThread, Participant,
                                Person, PersonEmail, Project, ThreadLink)

    # CRM: persons with one address each at one of a few thousand customer domains.
    person_base = ids.take("persons", persons)
    customers = max(1, persons // 25)
    person_email = [f"contact{n}@customer{n % customers}.example" for n in range(persons)]
    bulk_load(conn, Person.__table__, ("id", "company_id", "name"),
              ((person_base + n, company_id, f"Person {n}") for n in range(persons)))
    email_base = ids.take("person_emails", persons)
    bulk_load(conn, PersonEmail.__table__, ("id", "company_id", "person_id", "email", "label", "primary"),
              ((email_base + n, company_id, person_base + n, person_email[n], "work", True)
               for n in range(persons)))
    deal_base = ids.take("deals", deals)
    deal_person = [rng.randrange(persons) for _ in range(deals)]
    bulk_load(conn, Deal.__table__, ("id", "company_id", "person_id", "title", "status", "bcc_token"),
              ((deal_base + n, company_id, person_base + deal_person[n], f"Deal {n}",
                "open" if rng.random() < 0.7 else "won", addresses.new_item_token()) for n in range(deals)))
    deals_of: dict[int, list[int]] = {}
    for n, p in enumerate(deal_person):
        deals_of.setdefault(p, []).append(deal_base + n)
    lead_count, project_count = max(1, deals // 4), max(1, deals // 20)
    lead_base, project_base = ids.take("leads", lead_count), ids.take("projects", project_count)
    bulk_load(conn, Lead.__table__, ("id", "company_id", "person_id", "title", "bcc_token"),
              ((lead_base + n, company_id, person_base + rng.randrange(persons), f"Lead {n}",
                addresses.new_item_token()) for n in range(lead_count)))
    bulk_load(conn, Project.__table__, ("id", "company_id", "person_id", "title"),
              ((project_base + n, company_id, person_base + rng.randrange(persons), f"Project {n}")
               for n in range(project_count)))

    # Threads: owner, sharing, customer, size (skewed, summing to `messages`), start and gaps.
    sizes = [1 + int(rng.expovariate(1 / max(0.01, messages / threads - 1))) for _ in range(threads)]
    sizes = [min(s, 60) for s in sizes]
    diff = messages - sum(sizes)
    while diff:
        t = rng.randrange(threads)
        if diff > 0 and sizes[t] < 60:
            sizes[t] += 1
            diff -= 1
        elif diff < 0 and sizes[t] > 1:
            sizes[t] -= 1
            diff += 1
    plan = []  # per thread: (first_time_s, owner index, shared, customer person n or -1, auto)
    for t in range(threads):
        owner = rng.randrange(len(users))
        shared = rng.random() < (0.7 if users[owner]["sharing"] == "shared" else 0.1)
        customer = rng.randrange(persons) if rng.random() < 0.9 else -1
        plan.append((rng.random() * SPAN_DAYS * 86400, owner, shared, customer, rng.random() < 0.03))
    # Thread ids in order of their first message, message ids in order of arrival.
    order = sorted(range(threads), key=lambda t: plan[t][0])
    thread_base = ids.take("mail_threads", threads)
    thread_id = [0] * threads
    for rank, t in enumerate(order):
        thread_id[t] = thread_base + rank
    arrivals = []
    for t in range(threads):
        clock = plan[t][0]
        for k in range(sizes[t]):
            arrivals.append((clock, t, k))
            clock += rng.expovariate(1 / 86400)  # about a day between messages
    arrivals.sort()
    busy_deal = deal_base
    conversations = [t for t in range(threads) if not plan[t][4]]
    busy = set(rng.sample(conversations, min(busy_deal_threads, len(conversations))))
    snippets, bodies = _pool(rng, 4096, 20), _pool(rng, 1024, 60)

    message_base = ids.take("mail_messages", messages)
    detail_cut = int(detail_share * 1000)
    thread_stats = [[0, None, None, ""] for _ in range(threads)]  # live count, first, last, snippet
    participants, records, attachments = [], [], []
    visible_threads = set()

    def message_rows():
        for n, (clock, t, k) in enumerate(arrivals):
            mid = message_base + n
            _first, owner, _shared, customer, auto = plan[t]
            user = users[owner]
            sent = EPOCH + timedelta(seconds=clock)
            topic = TOPICS[t % len(TOPICS)]
            customer_email = person_email[customer] if customer >= 0 else f"someone{t}@elsewhere.example"
            customer_name = f"Person {customer}" if customer >= 0 else f"Someone {t}"
            subject = ("Re: " if k else "") + f"{topic.title()} for {customer_email.split('@')[1]}"
            if auto and k == 0:
                subject = "Undeliverable: " + subject
            from_rep = k % 2 == 0
            sender_email, sender_name = (user["email"], user["name"]) if from_rep else (customer_email, customer_name)
            snippet = f"{topic}: {snippets[rng.randrange(4096)]}"[:200]
            deleted = sent + timedelta(days=1) if rng.random() < 0.01 else None
            stats = thread_stats[t]
            if deleted is None:
                stats[0] += 1
            if stats[1] is None:
                stats[1] = sent
            stats[2], stats[3] = sent, snippet
            if rng.randrange(1000) < detail_cut or t in busy:
                to_email, to_name = (customer_email, customer_name) if from_rep else (user["email"], user["name"])
                pid = person_base + customer if customer >= 0 else None
                base = ids.take("participants", 3)
                participants.append((base, company_id, mid, "from", sender_email, sender_name,
                                     None if from_rep else pid, user["id"] if from_rep else None))
                participants.append((base + 1, company_id, mid, "to", to_email, to_name,
                                     pid if from_rep else None, None if from_rep else user["id"]))
                if rng.random() < 0.3:
                    cc = rng.randrange(persons)
                    participants.append((base + 2, company_id, mid, "cc", person_email[cc], f"Person {cc}",
                                         person_base + cc, None))
                records.append((ids.take("inbound_records"), company_id, user["id"], "smtp", user["email"],
                                [f"{domain.split('.')[0]}@{MAIL_DOMAIN}"], sender_email,
                                hashlib.sha256(b"%d" % mid).hexdigest(), 20_000, "processed",
                                [{"stage": "persist", "outcome": "stored", "reason": f"message {mid}"}],
                                1, sent, sent, mid))
                if rng.random() < 0.05:
                    attachments.append((ids.take("attachments"), company_id, mid, f"{topic}.pdf",
                                        "application/pdf", 120_000, hashlib.sha256(b"a%d" % mid).hexdigest()))
            rare_word = RARE_WORDS[mid % len(RARE_WORDS)] if rng.random() < 0.0002 else None
            yield (mid, company_id, thread_id[t], user["id"], f"mid:<{mid}.{t}@{domain}>", f"<{mid}.{t}@{domain}>",
                   subject[:998], sent, sender_email, sender_name, snippet,
                   f"{snippet} {bodies[rng.randrange(1024)]}" + (f" {rare_word}" if rare_word else ""),
                   hashlib.sha256(b"r%d" % mid).hexdigest(), deleted,
                   "bounce" if auto and k == 0 else None, sent)

    bulk_load(conn, MailMessage.__table__,
              ("id", "company_id", "thread_id", "owner_id", "dedupe_key", "message_id_header", "subject", "sent_at",
               "sender_email", "sender_name", "snippet", "body_text", "raw_sha256", "deleted_at", "auto_kind",
               "created_at"), message_rows())

    def thread_rows():
        for t in range(threads):
            first, owner, shared, customer, auto = plan[t]
            live, first_at, last_at, snippet = thread_stats[t]
            topic = TOPICS[t % len(TOPICS)]
            customer_domain = person_email[customer].split("@")[1] if customer >= 0 else "elsewhere.example"
            subject = f"{topic.title()} for {customer_domain}"
            if auto:
                subject = "Undeliverable: " + subject
            yield (thread_id[t], company_id, users[owner]["id"], subject, subject.lower(), shared,
                   rng.random() < 0.02, snippet, auto, live, first_at, last_at, first_at)

    bulk_load(conn, MailThread.__table__,
              ("id", "company_id", "owner_id", "subject", "normalized_subject", "shared", "needs_deal_choice",
               "snippet", "auto", "message_count", "first_message_at", "last_message_at", "created_at"),
              thread_rows())

    links = []
    for t in range(threads):
        first, owner, shared, customer, auto = plan[t]
        if auto:
            continue
        made = EPOCH + timedelta(seconds=first)
        linked = set()

        def link(item_type, item_id, origin, reason, removed=False):
            if (item_type, item_id) not in linked:
                linked.add((item_type, item_id))
                links.append((ids.take("thread_links"), company_id, thread_id[t], item_type, item_id, origin, reason,
                              removed, made))
        if t in busy:
            link("deal", busy_deal, "address", "sent to the deal's address")
        if customer >= 0 and rng.random() < 0.8:
            link("person", person_base + customer, "auto", "participant's contact")
            own_deals = [d for d in deals_of.get(customer, []) if d != busy_deal]  # the busy deal: its own threads only
            if own_deals and rng.random() < 0.6:
                link("deal", own_deals[0], "auto", "the contact's only open deal", removed=rng.random() < 0.03)
        if rng.random() < 0.03:
            link("lead", lead_base + rng.randrange(lead_count), "manual", "linked by a rep")
        if rng.random() < 0.01:
            link("project", project_base + rng.randrange(project_count), "manual", "linked by a rep")
    bulk_load(conn, ThreadLink.__table__,
              ("id", "company_id", "thread_id", "item_type", "item_id", "origin", "reason", "removed", "created_at"),
              links)
    bulk_load(conn, Participant.__table__,
              ("id", "company_id", "message_id", "role", "email", "name", "person_id", "user_id"), participants)
    bulk_load(conn, InboundRecord.__table__,
              ("id", "company_id", "user_id", "source", "envelope_from", "recipients", "header_from", "raw_sha256",
               "raw_size", "status", "decisions", "attempts", "received_at", "processed_at", "message_id"),
              records)
    bulk_load(conn, Attachment.__table__,
              ("id", "company_id", "message_id", "filename", "content_type", "size", "sha256"), attachments)

    # What a member sees, from the generated data: the expected answers of the checks.
    measured = next(i for i, u in enumerate(users) if u["login"] == MEASURED_USER)
    for t in range(threads):
        _first, owner, shared, _customer, auto = plan[t]
        if owner == measured or shared:
            visible_threads.add(t)
    inbox_total = sum(1 for t in visible_threads if not plan[t][4] and thread_stats[t][0] > 0)
    visible_ids = [thread_id[t] for t in visible_threads if thread_stats[t][0] > 0]
    return {
        "busy_deal": busy_deal, "inbox_total": inbox_total, "visible_thread_ids": visible_ids,
        "busy_visible": sum(1 for t in busy if t in visible_threads), "busy_threads": len(busy),
        "participants": len(participants), "records": len(records), "attachments": len(attachments),
        "links": len(links), "customers": customers, "person_emails": person_email,
    }


def seed(services, args, rng: random.Random) -> dict:
    from backend.accounts import create_company, create_user
    from backend.models import (Attachment, Deal, InboundRecord, Lead, MailMessage, MailThread, Participant, Person,
                                PersonEmail, Project, ThreadLink)

    companies = []
    with services.db.session() as session:
        for name, domain, scale in (("Acme", "acme.example", 1.0), ("Globex", "globex.example", 0.1)):
            company = create_company(session, name, domain).company
            users = []
            for login, full, admin, sharing in (USERS if scale == 1.0 else USERS[:2]):
                made = create_user(session, company.id, f"{login}@{domain}", full, admin=admin)
                users.append({"login": login, "id": made.user.id, "email": made.user.email, "name": full,
                              "sharing": sharing, "token": made.api_token})
            companies.append({"id": company.id, "domain": domain, "users": users, "scale": scale})
    ids = Ids()
    started = time.perf_counter()
    data = []
    tables = [m.__table__ for m in (Person, PersonEmail, Deal, Lead, Project, MailThread, MailMessage, ThreadLink,
                                    Participant, InboundRecord, Attachment)]
    with services.db.engine.begin() as conn:
        with indexes_deferred(conn, tables):
            for company in companies:
                scale = company["scale"]
                data.append(seed_company(
                    conn, ids, rng, company["id"], company["domain"], company["users"],
                    threads=max(1, int(args.threads * scale)), messages=max(1, int(args.messages * scale)),
                    persons=max(10, int(args.persons * scale)), deals=max(2, int(args.deals * scale)),
                    detail_share=args.detail_share, busy_deal_threads=int(args.busy_deal_threads * scale)))
            if conn.dialect.name == "postgresql":
                # COPY ran with triggers off (benchutil.bulk_load): the search documents are written
                # now, as migration 0011's backfill does, before the GIN index is built. Each document
                # reads its message's participants and attachments: their message_id indexes were
                # dropped for the load, and without them every row scans both tables (hours at 1M).
                for table in ("participants", "attachments"):
                    conn.exec_driver_sql(f"CREATE INDEX bench_seed_{table}_message ON {table} (message_id)")
                    conn.exec_driver_sql(f"ANALYZE {table}")
                conn.exec_driver_sql("UPDATE mail_messages SET search_vector = NULL WHERE deleted_at IS NULL")
                for table in ("participants", "attachments"):
                    conn.exec_driver_sql(f"DROP INDEX bench_seed_{table}_message")
                # The baseline's trigram indexes (dropped by 0011 with the LIKE search).
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                for column in LIKE_COLUMNS:
                    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS bench_{column}_trgm ON mail_messages "
                                         f"USING gin (lower({column}) gin_trgm_ops)")
            load_s = time.perf_counter() - started
        fix_sequences(conn, tables)
    analyze(services.db.engine)
    acme = companies[0]
    user = next(u for u in acme["users"] if u["login"] == MEASURED_USER)
    return {"token": user["token"], "user_id": user["id"], "acme": data[0], "other": data[1],
            "load_s": load_s, "seconds": time.perf_counter() - started}


ENDPOINTS = (
    ("baseline", "GET /users/me (baseline)"),
    ("inbox", "GET mailThreads (page 1)"),
    ("inbox_total", "GET mailThreads?include_total=1"),
    ("deep", "GET mailThreads?start=5000"),
    ("search", "GET mailThreads?q=..."),
    ("thread", "GET mailThreads/{id}/mailMessages"),
    ("deal", "GET deals/{id}/mailMessages"),
    ("page_home", "page / (home)"),
    ("page_inbox", "page /inbox (25 threads)"),
    ("page_search", "page /inbox?q=<a word in 1/3>"),
    ("page_deal", "page /deals/{id} (25 of its threads)"),
)
# The rows the --goal-ms applies to: what a user opens all day (issue 18 part 4 names inbox page 1,
# a deep page, a thread, a deal with 500 threads, and the /inbox and deal pages). The total
# (opt-in) and the search are reported against the same baseline, without this goal: a total
# counts every visible thread, and search has its own (50 ms, bench/README.md).
GOAL_ROWS = ("inbox", "deep", "thread", "deal", "page_home", "page_inbox", "page_deal")
# The search row split by the kind of term (an equal share of its requests each); not goals of
# their own: the goal for them (p99 under 50 ms) is printed separately (SEARCH_GOAL_MS).
SEARCH_KINDS = (("search topic", "  q= a topic word"), ("search rare", "  q= a rare word (1 in 100,000)"),
                ("search phrase", '  q= "a phrase"'), ("search common", "  q= a word in 1/3 of mails"),
                ("search domain", "  q= a customer's domain"), ("search address", "  q= one contact's address"),
                ("search from", "  q= from:<a contact's address>"), ("search attachment", "  q= has:attachment"),
                ("search none", "  q= nothing matches"))
SEARCH_GOAL_MS = 50.0
# Topic words that are not also body words or part of another topic: each in ~2.5 % of messages.
RARE_TOPICS = [t for t in TOPICS if t not in WORDS and not any(t in other for other in TOPICS if other != t)
               and " " not in t and "-" not in t]
PHRASES = [t for t in TOPICS if " " in t]
COMMON_WORDS = ("thanks", "please", "regards", "schedule")  # each in about a third of the snippets


def search_term(kind: str, acme: dict, rng: random.Random, n: int) -> str:
    emails = acme["person_emails"]
    if kind == "search topic":
        return RARE_TOPICS[rng.randrange(len(RARE_TOPICS))]
    if kind == "search rare":
        return RARE_WORDS[rng.randrange(len(RARE_WORDS))]
    if kind == "search phrase":
        return f'"{PHRASES[rng.randrange(len(PHRASES))]}"'
    if kind == "search common":
        return COMMON_WORDS[rng.randrange(len(COMMON_WORDS))]
    if kind == "search domain":
        return f"customer{rng.randrange(acme['customers'])}.example"
    if kind == "search address":
        return emails[rng.randrange(len(emails))]
    if kind == "search from":
        return f"from:{emails[rng.randrange(len(emails))]}"
    if kind == "search attachment":
        return "has:attachment"
    return f"nothingmatches{n}"


def like_search(session, actor, term: str, limit: int = 100) -> list[int]:
    """The baseline: the first page of the search before full-text search (issue 18, part 3):
    ``lower(column) LIKE '%term%'`` over subject, snippet and sender, matches first, newest first
    (on PostgreSQL through the trigram indexes this run creates for it)."""
    from sqlalchemy import bindparam, func, or_, select

    from backend.domain.inbox import escape_like, inbox_threads
    from backend.models import MailMessage, MailThread

    like = bindparam("search_pattern", f"%{escape_like(term.lower())}%", literal_execute=True)
    matching = select(MailMessage.thread_id).where(
        MailMessage.company_id == actor.company_id, MailMessage.deleted_at.is_(None),
        or_(*(func.lower(getattr(MailMessage, c)).like(like, escape="\\") for c in LIKE_COLUMNS))
    ).cte("search_matches").prefix_with("MATERIALIZED", dialect="postgresql")
    query = inbox_threads(actor).where(MailThread.id.in_(select(matching.c.thread_id)))
    return list(session.scalars(query.with_only_columns(MailThread.id).limit(limit + 1)))


LIKE_COLUMNS = ("subject", "snippet", "sender_email", "sender_name")


def like_term(term: str) -> str | None:
    """What the LIKE search looked for, given a full-text query (None: it had no such search)."""
    if term == "has:attachment":
        return None
    return term.removeprefix("from:").strip('"')


def requests_for(seeded: dict, rng: random.Random):
    """A function n -> {endpoint: URL} for round n (search terms and threads rotate)."""
    from urllib.parse import quote

    acme = seeded["acme"]
    visible = acme["visible_thread_ids"]

    def urls(n: int) -> dict[str, str]:
        term = search_term(SEARCH_KINDS[n % len(SEARCH_KINDS)][0], acme, rng, n)
        return {
            "baseline": "/api/v1/users/me",
            "inbox": "/api/v1/mailbox/mailThreads",
            "inbox_total": "/api/v1/mailbox/mailThreads?include_total=1",
            "deep": "/api/v1/mailbox/mailThreads?start=5000",
            "search": f"/api/v1/mailbox/mailThreads?q={quote(term)}",
            "thread": f"/api/v1/mailbox/mailThreads/{visible[rng.randrange(len(visible))]}/mailMessages",
            "deal": f"/api/v1/deals/{acme['busy_deal']}/mailMessages",
            "page_home": "/",
            "page_inbox": "/inbox",
            "page_search": f"/inbox?q={COMMON_WORDS[n % len(COMMON_WORDS)]}",
            "page_deal": f"/deals/{acme['busy_deal']}",
        }
    return urls


def signed_in_pages(app, services, user_id: int):
    """A test client signed in to the pages as the measured user, through the sign-in form."""
    import re

    from backend.models import User
    from backend.security import hash_password

    password = "bench-password-not-secret"
    with services.db.session() as session:
        user = session.get(User, user_id)
        user.password_hash = hash_password(password)
        email = user.email
        session.commit()
    pages = app.test_client()
    form = pages.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', form).group(1)
    answer = pages.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return pages


def check_answers(client, auth, seeded: dict, search: bool = True) -> list[str]:
    """Each endpoint once: only visible threads and messages, and the inbox total as generated
    (``search``: also that a search pages the same with and without its total)."""
    user_id = seeded["user_id"]
    acme = seeded["acme"]
    problems = []

    def visible(thread: dict) -> bool:
        return thread["owner_id"] == user_id or thread["shared"]

    first = client.get("/api/v1/mailbox/mailThreads?include_total=1", headers=auth).get_json()
    total = first["additional_data"]["pagination"]["total"]
    if total != acme["inbox_total"]:
        problems.append(f"inbox total {total}, generated data says {acme['inbox_total']}")
    if not all(visible(t) for t in first["data"]) or len(first["data"]) != 100:
        problems.append("inbox page 1 has a thread Bob may not see, or not 100 threads")
    if any(not t["last_sender"] for t in first["data"]):
        problems.append("inbox page 1 has a thread without last sender")
    deep = client.get("/api/v1/mailbox/mailThreads?start=5000", headers=auth).get_json()
    if not all(visible(t) for t in deep["data"]):
        problems.append("inbox deep page has a thread Bob may not see")
    stamps = [t["last_message_at"] for t in first["data"] + deep["data"]]
    if stamps != sorted(stamps, reverse=True):
        problems.append("inbox is not newest first")
    # A search answers from the newest threads when they fill the page, else from all matches; asking
    # for the total always takes the second way: the pages must be the same.
    for term in (COMMON_WORDS[:2] + tuple(RARE_TOPICS[:2])) if search else ():
        for start in (0, 300):
            url = f"/api/v1/mailbox/mailThreads?q={term}&start={start}"
            quick = [t["id"] for t in client.get(url, headers=auth).get_json()["data"]]
            full = [t["id"] for t in client.get(url + "&include_total=1", headers=auth).get_json()["data"]]
            if quick != full:
                problems.append(f"search {term!r} from {start}: {len(quick)} threads, all matches give {len(full)} "
                                f"(or another order)")
    deal = client.get(f"/api/v1/deals/{acme['busy_deal']}/mailMessages?limit=500", headers=auth).get_json()
    thread_ids = {m["thread_id"] for m in deal["data"]}
    shown = {t: client.get(f"/api/v1/mailbox/mailThreads/{t}", headers=auth).status_code for t in thread_ids}
    if any(code != 200 for code in shown.values()):
        problems.append("deal view shows a message of a thread Bob may not open")
    if len(thread_ids) > acme["busy_visible"]:
        problems.append(f"deal view spans {len(thread_ids)} threads, Bob sees only {acme['busy_visible']}")
    return problems


def explain(services, client, auth, urls, pages=None, only=None) -> None:
    """EXPLAIN ANALYZE of every statement one request of each endpoint runs (PostgreSQL); the
    pages through ``pages`` (a client signed in to them)."""
    from sqlalchemy import event

    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(services.db.engine, "before_cursor_execute", grab)
    plans = {}
    try:
        for name, label in ENDPOINTS:
            if only is not None and name not in only:
                continue
            if name.startswith("page_"):
                if pages is None:
                    continue
                captured.clear()
                pages.get(urls[name])
            else:
                captured.clear()
                client.get(urls[name], headers=auth)
            plans[label] = list(captured)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", grab)
    raw = services.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for label, statements in plans.items():
            print(f"\n=== {label}: {len(statements)} statements; slowest plans first ===")
            timed = []
            seen = set()
            for statement, parameters in statements:
                shape = statement
                if shape in seen:
                    continue
                seen.add(shape)
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                lines = [row[0] for row in cur.fetchall()]
                ms = next((float(line.split(":")[1].split()[0]) for line in lines
                           if line.startswith("Execution Time")), 0.0)
                timed.append((ms, statement, lines))
            timed.sort(key=lambda x: -x[0])
            for ms, statement, lines in timed[:3]:
                print(f"--- {ms:.2f} ms: {' '.join(statement.split())[:300]}")
                print("\n".join(lines))
        raw.rollback()
    finally:
        raw.close()


def pages_read(services, client, auth, urls, pages, only) -> dict[str, int]:
    """PostgreSQL: the buffers (8 KB pages, from the cache or not) one request of each endpoint
    reads, summed over its statements (EXPLAIN (ANALYZE, BUFFERS)): unlike the timings, this does
    not move with the machine's load, so it shows best what grows with the table."""
    from sqlalchemy import event

    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    found: dict[str, list] = {}
    event.listen(services.db.engine, "before_cursor_execute", grab)
    try:
        for name, _label in ENDPOINTS:
            if name not in only or name == "search":
                continue
            captured.clear()
            if name.startswith("page_"):
                pages.get(urls[name])
            else:
                client.get(urls[name], headers=auth)
            found[name] = list(captured)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", grab)
    raw = services.db.engine.raw_connection()
    out = {}
    try:
        cur = raw.cursor()
        for name, statements in found.items():
            total = 0
            for statement, parameters in statements:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
                plan = cur.fetchone()[0][0]
                top = plan["Plan"]
                total += sum(top.get(f"Shared {kind} Blocks", 0) for kind in ("Hit", "Read"))
            out[name] = total
        raw.rollback()
    finally:
        raw.close()
    return out


def run(kind: str, args, workdir: Path) -> dict:
    from backend.app import create_app
    from backend.config import Settings
    from backend.services import Services

    state = Path(args.reuse) if args.reuse and kind == "postgres" else None
    key = {name: getattr(args, name) for name in ("threads", "messages", "persons", "deals", "detail_share",
                                                  "busy_deal_threads", "seed", "pg_url")}
    saved = json.loads(state.read_text()) if state and state.exists() else None
    reused = bool(saved and saved["key"] == key)
    url = args.pg_url if reused else fresh_database(kind, workdir, args.pg_url, "mailbox")
    os.environ["SMARTBCC_API_LIMIT_PER_USER"] = "0"
    os.environ["SMARTBCC_API_LIMIT_PER_COMPANY"] = "0"
    settings = Settings.from_env(instance_dir=workdir / kind, database_url=url, secret_key="bench",
                                 mail_domain=MAIL_DOMAIN, jobs="eager", base_url="https://crm.bench.example")
    services = Services.create(settings)
    rng = random.Random(args.seed)
    if reused:
        from backend.migrate import upgrade

        upgrade(url)  # data seeded by an older checkout gets this one's indexes
        seeded = saved["seeded"]
        print(f"{kind}: reusing the data seeded earlier ({state})")
    else:
        seeded = seed(services, args, rng)
        if state:
            state.write_text(json.dumps({"key": key, "seeded": seeded}))
    app = create_app(services=services)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {seeded['token']}"}
    pages = signed_in_pages(app, services, seeded["user_id"])
    problems = check_answers(client, auth, seeded, search="search" in args.endpoints)
    urls = requests_for(seeded, random.Random(args.seed + 1))
    if args.explain and kind == "postgres":
        explain(services, client, auth, urls(3), pages, args.endpoints)
    buffers = pages_read(services, client, auth, urls(3), pages, args.endpoints) if kind == "postgres" else {}
    # As a production web worker does once it has built the app (backend/gunicorn_conf.py): what was
    # built so far, here including the seed data kept for the requests, stays out of full collections.
    gc.collect()
    gc.freeze()
    from backend.domain.actor import Actor
    from backend.models import User

    with services.db.session() as session:
        bob = Actor.of(session.get(User, seeded["user_id"]))
    names = [name for name, _ in ENDPOINTS + SEARCH_KINDS] + [f"{name} like" for name, _ in SEARCH_KINDS]
    timings: dict[str, list[float]] = {name: [] for name in names}
    queries: dict[str, list[int]] = {name: [] for name in names}
    rows: dict[str, list[int]] = {name: [] for name in names}
    counter = QueryCounter(services.db.engine)
    for n in range(args.warmup + args.requests):
        for name, target in urls(n).items():
            if name not in args.endpoints:
                continue
            counter.reset()
            t0 = time.perf_counter()
            page = name.startswith("page_")
            response = pages.get(target) if page else client.get(target, headers=auth)
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (target, response.get_data(as_text=True)[:500])
            if n >= args.warmup:
                data = [None] if page else response.get_json()["data"]
                for key in (name, SEARCH_KINDS[n % len(SEARCH_KINDS)][0]) if name == "search" else (name,):
                    timings[key].append(elapsed)
                    queries[key].append(counter.count)
                    rows[key].append(len(data) if isinstance(data, list) else 1)
            if name == "search" and n >= args.warmup:
                # The baseline: the same term through the LIKE search it replaced (its SQL only).
                term = like_term(unquote(target.split("q=", 1)[1]))
                if term is not None:
                    key = SEARCH_KINDS[n % len(SEARCH_KINDS)][0] + " like"
                    counter.reset()
                    t0 = time.perf_counter()
                    with services.db.session() as session:
                        found = like_search(session, bob, term)
                    timings[key].append((time.perf_counter() - t0) * 1000)
                    queries[key].append(counter.count)
                    rows[key].append(min(len(found), 100))
    counter.close()
    services.close()
    return {"db": kind, "seeded": seeded, "problems": problems, **{
        name: {"p50": pct(values, 0.50), "p99": pct(values, 0.99), "mean": statistics.fmean(values),
               "queries": (min(queries[name]), max(queries[name])), "rows": statistics.fmean(rows[name]),
               "buffers": buffers.get(name)}
        for name, values in timings.items() if values}}


def size_label(messages: int) -> str:
    """100000 -> "100k", 1000000 -> "1m", 2500000 -> "2500k"."""
    if messages % 1_000_000 == 0:
        return f"{messages // 1_000_000}m"
    if messages % 1_000 == 0:
        return f"{messages // 1_000}k"
    return str(messages)


def sized(args, messages: int):
    """The options of one --sizes run: ``messages`` messages, threads, persons and deals in the
    defaults' proportions (1/5, 1/20, 1/100), the busy deal as given; on PostgreSQL a database
    of its own (the --pg-url name + "_<size>") and, with --reuse, a state file of its own."""
    from sqlalchemy.engine import make_url

    one = argparse.Namespace(**vars(args))
    one.messages, one.threads = messages, max(1, messages // 5)
    one.persons, one.deals = max(10, messages // 20), max(2, messages // 100)
    url = make_url(args.pg_url)
    one.pg_url = url.set(database=f"{url.database}_{size_label(messages)}").render_as_string(hide_password=False)
    if args.reuse:
        one.reuse = f"{args.reuse}.{size_label(messages)}"
    return one


def print_result(result: dict, args) -> bool:
    """One run's table; whether its goal rows met --goal-ms and its checks passed."""
    met = True
    s, acme = result["seeded"], result["seeded"]["acme"]
    after = ", then indexes, VACUUM ANALYZE" if result["db"] == "postgres" else ""
    print(f"{result['db']}: {args.threads} threads, {args.messages} messages; seeded in {s['seconds']:.0f} s "
          f"(bulk load {s['load_s']:.0f} s{after}): "
          f"{acme['participants']} participants, {acme['records']} arrivals, {acme['attachments']} attachments, "
          f"{acme['links']} links; the member sees {acme['inbox_total']} inbox threads; the deal has "
          f"{acme['busy_threads']} threads, {acme['busy_visible']} visible to the member")
    for problem in result["problems"]:
        print(f"  CHECK FAILED: {problem}")
    print(f"{'db':<9} {'endpoint':<34} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'x base p50':>10} "
          f"{'x base p99':>10} {'queries':>8} {'rows':>6} {'pages':>7}")
    base = result["baseline"]
    for name, label in row_order():
        if name not in result:
            continue
        r = result[name]
        low, high = r["queries"]
        spread = f"{low}" if low == high else f"{low}-{high}"
        print(f"{result['db']:<9} {label:<34} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['mean']:>8.2f} "
              f"{r['p50'] / base['p50']:>9.1f}x {r['p99'] / base['p99']:>9.1f}x {spread:>8} {r['rows']:>6.0f} "
              f"{r['buffers'] if r.get('buffers') is not None else '-':>7}")
        if name in GOAL_ROWS and r["p99"] >= args.goal_ms:
            met = False
            print(f"{'':<9}   ^ p99 not under {args.goal_ms:g} ms")
        if name.startswith("search ") and not name.endswith(" like") and r["p99"] >= SEARCH_GOAL_MS:
            print(f"{'':<9}   ^ p99 not under the search goal of {SEARCH_GOAL_MS:g} ms")
    return met and not result["problems"]


def row_order() -> list[tuple[str, str]]:
    kinds = [row for kind, label in SEARCH_KINDS
             for row in ((kind, label), (f"{kind} like", "    old LIKE search, SQL only"))]
    return [row for name, label in ENDPOINTS
            for row in ([(name, label)] + kinds if name == "search" else [(name, label)])]


# Growth exponent k (the work grows as size^k) from which a row counts as growing with the table.
LINEAR_K, GROWING_K = 0.7, 0.3


def growth(sizes: list[int], results: list[dict]) -> tuple[list[str], list[str]]:
    """How each row's figures grow with the table, as printed lines; and the rows that grow
    about linearly. Work is a row's p50 minus the same run's baseline p50 (the fixed cost of a
    request: auth, Flask, the session), so a linear part is not hidden under the fixed one; k is
    the exponent of the work's growth from the smallest size to the largest."""
    import math

    cols = [size_label(n) for n in sizes]
    lines = [f"{'endpoint':<34} " + " ".join(f"{'p50 ' + c:>9}" for c in cols) + " "
             + " ".join(f"{'p99 ' + c:>9}" for c in cols) + " "
             + " ".join(f"{'work x' + c:>9}" for c in cols[1:]) + f" {'statements':>14} {'k':>5} "
             + " ".join(f"{'pages ' + c:>9}" for c in cols) + f" {'added':>8} {'k pages':>6}  growth"]
    linear = []
    ratio = sizes[-1] / sizes[0]
    for name, label in row_order():
        if not all(name in r for r in results):
            continue
        p50 = [r[name]["p50"] for r in results]
        p99 = [r[name]["p99"] for r in results]
        work = [max(0.05, r[name]["p50"] - (0 if name == "baseline" else r["baseline"]["p50"])) for r in results]
        grows = [w / work[0] for w in work]
        statements = [r[name]["queries"][1] for r in results]
        k = math.log(grows[-1]) / math.log(ratio) if ratio > 1 else 0.0
        read = [r[name].get("buffers") for r in results]
        kb = None
        if all(read) and ratio > 1:
            kb = math.log(read[-1] / read[0]) / math.log(ratio)
        verdict = "flat"
        if statements[-1] > statements[0]:
            verdict = "MORE STATEMENTS"
        # Judged on the pages read where known (PostgreSQL), else on the time.
        judged = kb if kb is not None else k
        if judged >= LINEAR_K:
            verdict = "LINEAR"
            linear.append(name)
        elif judged >= GROWING_K:
            verdict = "grows (sub-linear)"
        spread = "→".join(str(q) for q in dict.fromkeys(statements))
        lines.append(f"{label:<34} " + " ".join(f"{v:>9.2f}" for v in p50) + " "
                     + " ".join(f"{v:>9.2f}" for v in p99) + " "
                     + " ".join(f"{g:>8.1f}x" for g in grows[1:]) + f" {spread:>14} {k:>5.2f} "
                     + (" ".join(f"{b:>9}" for b in read) + f" {read[-1] - read[0]:>+8} {kb:>6.2f}"
                        if kb is not None else " ".join(f"{'-':>9}" for _ in read) + f" {'-':>8} {'-':>6}")
                     + f"  {verdict}")
    return lines, linear


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="postgres")
    ap.add_argument("--threads", type=int, default=200_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--persons", type=int, default=50_000)
    ap.add_argument("--deals", type=int, default=10_000)
    ap.add_argument("--sizes", metavar="N,N,...",
                    help="run at each of these message counts (threads, persons and deals scaled with it: 1/5, "
                         "1/20, 1/100), smallest first, then print how each figure grows; PostgreSQL: one "
                         "database per size, the --pg-url name + _<size> (e.g. bench_mailbox_1m)")
    ap.add_argument("--endpoints", default=",".join(name for name, _ in ENDPOINTS),
                    help="the rows to time, by name (default all: %(default)s); baseline is always timed")
    ap.add_argument("--detail-share", type=float, default=0.3,
                    help="share of messages with participants, an inbound record and maybe an attachment")
    ap.add_argument("--busy-deal-threads", type=int, default=500, help="threads linked to the measured deal")
    ap.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20250808)
    ap.add_argument("--goal-ms", type=float, default=20.0, help="p99 goal of the rows in GOAL_ROWS")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each endpoint's queries")
    ap.add_argument("--reuse", metavar="STATE",
                    help="PostgreSQL: keep the seeded database between runs; STATE is a JSON file describing it "
                         "(written after seeding; when it matches these options, seeding is skipped; with "
                         "--sizes, STATE.<size> per size)")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL)
    args = ap.parse_args(argv)
    known = {name for name, _ in ENDPOINTS}
    args.endpoints = {"baseline"} | {name.strip() for name in args.endpoints.split(",") if name.strip()}
    if args.endpoints - known:
        ap.error(f"--endpoints: unknown {', '.join(sorted(args.endpoints - known))}; choose from {', '.join(known)}")
    sizes = []
    if args.sizes:
        try:
            sizes = sorted({int(n.replace("_", "")) for n in args.sizes.split(",") if n.strip()})
        except ValueError:
            ap.error(f"--sizes must be message counts separated by commas, e.g. 100000,1000000; got {args.sizes!r}")
        if not sizes or sizes[0] < 5:
            ap.error("--sizes: each size must be at least 5 messages")
    elif args.messages < args.threads:
        ap.error("--messages must be at least --threads")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    runs = [sized(args, n) for n in sizes] if sizes else [args]
    workdir = Path(tempfile.mkdtemp(prefix="smartbcc-bench-mailbox-"))
    results: dict[str, list[tuple[object, dict]]] = {kind: [] for kind in kinds}
    met = True
    try:
        for one in runs:
            for kind in kinds:
                here = workdir / size_label(one.messages) if sizes else workdir  # a SQLite file per size
                here.mkdir(exist_ok=True)
                result = run(kind, one, here)
                results[kind].append((one, result))
                if sizes:  # each size's table as soon as it is measured: the largest takes long
                    print()
                    met = print_result(result, one) and met
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nmailbox benchmark: as a member user; {args.requests} requests per endpoint (after {args.warmup} "
          f"warm-up), Flask test client, Python {sys.version.split()[0]}")
    if not sizes:
        for kind in kinds:
            for one, result in results[kind]:
                met = print_result(result, one) and met
    else:
        for kind in kinds:
            lines, linear = growth(sizes, [result for _one, result in results[kind]])
            print(f"\n{kind}: growth from {sizes[0]:,} to " + ", ".join(f"{n:,}" for n in sizes[1:])
                  + " messages (ms; work = p50 minus the same run's baseline p50, as a multiple of the "
                  f"smallest size's; k: work grows as size^k; pages: 8 KB buffers one request reads "
                  f"(PostgreSQL, EXPLAIN BUFFERS), k pages likewise; growth judged on k pages where known, "
                  f"{LINEAR_K} or more is LINEAR)")
            print("\n".join(lines))
            if linear:
                met = False
                print(f"{kind}: growing about linearly with the table: {', '.join(linear)}")
            else:
                print(f"{kind}: nothing grows linearly with the table")
    print(f"goal: p99 under {args.goal_ms:g} ms for {', '.join(GOAL_ROWS)}, checks pass"
          + (", nothing grows linearly" if sizes else "") + f": {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
