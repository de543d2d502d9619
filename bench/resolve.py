#!/usr/bin/env python
"""Resolve benchmark: POST /api/v1/addin/resolve latency against a trivial authenticated endpoint.

    .venv/bin/python bench/resolve.py [--db sqlite|postgres|both] [--persons N] [--deals N]
                                      [--requests N] [--pg-url URL] [--goal-ms 20]

For each database (a fresh SQLite file in a temp dir, and/or a freshly reset and migrated
PostgreSQL schema) it seeds one company with --persons contacts (one address each), --deals
deals (70% open, the rest won/lost; some persons get two open deals), a lead for every
tenth person, and a second company with the same addresses (so company scoping is real
work), then times, in the same process and run, interleaved request by request:

  baseline  GET /api/v1/users/me         (bearer API token lookup + one row: the floor of
                                          any authenticated call)
  resolve   POST /api/v1/addin/resolve   (2 To + 1 Cc + 1 Bcc recipients, a mix of contacts
                                          with zero, one and two open deals, and strangers;
                                          every 5th request with a chosen deal)

Requests go through the Flask test client (no sockets), so the numbers are the app and the
database, not the network. It prints p50/p99 per endpoint, the SQL statements each request
ran (an engine event listener), the resolve/baseline ratio and whether resolve's p99 is under
--goal-ms. Seeding is bulk loading (COPY on PostgreSQL, see benchutil.bulk_load): 1,000,000
persons with their addresses and 200,000 deals take seconds, not hours.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchutil import QueryCounter, analyze, bulk_load, fix_sequences, fresh_database, pct  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_resolve"
MAIL_DOMAIN = "bcc.bench"


def seed(services, persons: int, deals: int, rng: random.Random) -> dict:
    """The CRM rows, bulk loaded (COPY on PostgreSQL); returns the token, the addresses and some deal ids."""
    from sqlalchemy import select

    from backend import addresses
    from backend.accounts import create_company, create_user
    from backend.models import Deal, Lead, Person, PersonEmail

    with services.db.session() as session:
        acme = create_company(session, "Acme", "acme.example").company
        globex = create_company(session, "Globex", "globex.example").company
        token = create_user(session, acme.id, "alice@acme.example", "Alice", admin=True).api_token
        create_user(session, globex.id, "gary@globex.example", "Gary")
        acme_id, globex_id = acme.id, globex.id
    emails = [f"contact{n}@customer{n % 97}.example" for n in range(persons)]
    started = time.perf_counter()
    with services.db.engine.begin() as conn:
        # Ids are assigned here: Acme's persons are 1..persons, Globex's follow.
        acme_base, next_id = 0, 0
        for company_id, count in ((acme_id, persons), (globex_id, persons // 10)):
            base = next_id
            if company_id == acme_id:
                acme_base = base
            bulk_load(conn, Person.__table__, ("id", "company_id", "name"),
                      ((base + n + 1, company_id, f"Person {n}") for n in range(count)))
            bulk_load(conn, PersonEmail.__table__, ("id", "company_id", "person_id", "email", "label", "primary"),
                      ((base + n + 1, company_id, base + n + 1, emails[n], "work", True) for n in range(count)))
            next_id = base + count
        # Deals: most persons none; some one; every 13th deal's person gets a second open one.
        deal_rows = []
        previous_pid = None
        for n in range(deals):
            pid = acme_base + 1 + rng.randrange(persons)
            if n % 13 == 0 and previous_pid is not None:
                pid = previous_pid
            previous_pid = pid
            status = "open" if rng.random() < 0.7 else rng.choice(("won", "lost"))
            deal_rows.append((n + 1, acme_id, pid, f"Deal {n}", status, addresses.new_item_token()))
        bulk_load(conn, Deal.__table__, ("id", "company_id", "person_id", "title", "status", "bcc_token"), deal_rows)
        bulk_load(conn, Lead.__table__, ("id", "company_id", "person_id", "title", "bcc_token"),
                  ((n // 10 + 1, acme_id, acme_base + 1 + n, f"Lead {n}", addresses.new_item_token())
                   for n in range(0, persons, 10)))
        fix_sequences(conn, (Person.__table__, PersonEmail.__table__, Deal.__table__, Lead.__table__))
    analyze(services.db.engine)
    seconds = time.perf_counter() - started
    with services.db.session() as session:
        open_deals = list(session.scalars(select(Deal.id).where(Deal.company_id == acme_id,
                                                                Deal.status == "open").limit(500)))
    return {"token": token, "emails": emails, "open_deals": open_deals, "seconds": seconds}


def run(kind: str, args, workdir: Path) -> dict:
    from backend.app import create_app
    from backend.config import Settings
    from backend.services import Services

    url = fresh_database(kind, workdir, args.pg_url, "resolve")
    # Thousands of requests a minute from one user is the point here, not abuse.
    os.environ["SMARTBCC_API_LIMIT_PER_USER"] = "0"
    os.environ["SMARTBCC_API_LIMIT_PER_COMPANY"] = "0"
    settings = Settings.from_env(instance_dir=workdir / kind, database_url=url, secret_key="bench",
                                 mail_domain=MAIL_DOMAIN, jobs="eager", base_url="https://crm.bench.example")
    services = Services.create(settings)
    rng = random.Random(args.seed)
    data = seed(services, args.persons, args.deals, rng)
    app = create_app(services=services)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {data['token']}"}
    emails = data["emails"]

    def body(n: int) -> dict:
        pick = lambda: emails[rng.randrange(len(emails))]  # noqa: E731
        request = {"to": [pick(), f"stranger{n}@elsewhere.example"], "cc": [pick()],
                   "bcc": [f"acme@{MAIL_DOMAIN}"]}
        if n % 5 == 0 and data["open_deals"]:
            request["item"] = {"item_type": "deal", "item_id": rng.choice(data["open_deals"])}
        return request

    timings: dict[str, list[float]] = {"baseline": [], "resolve": []}
    queries: dict[str, list[int]] = {"baseline": [], "resolve": []}
    counter = QueryCounter(services.db.engine)
    for n in range(args.warmup + args.requests):
        request = body(n)
        counter.reset()
        t0 = time.perf_counter()
        response = client.get("/api/v1/users/me", headers=auth)
        t1 = time.perf_counter()
        assert response.status_code == 200, response.get_data(as_text=True)
        q_baseline = counter.count
        counter.reset()
        t1b = time.perf_counter()
        resolved = client.post("/api/v1/addin/resolve", json=request, headers=auth)
        t2 = time.perf_counter()
        assert resolved.status_code == 200, resolved.get_data(as_text=True)
        if n >= args.warmup:
            timings["baseline"].append((t1 - t0) * 1000)
            timings["resolve"].append((t2 - t1b) * 1000)
            queries["baseline"].append(q_baseline)
            queries["resolve"].append(counter.count)
    counter.close()
    services.close()
    return {"db": kind, "seed_s": data["seconds"], **{
        name: {"p50": pct(values, 0.50), "p99": pct(values, 0.99), "mean": statistics.fmean(values),
               "queries": (min(queries[name]), max(queries[name]))}
        for name, values in timings.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--deals", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20250303)
    ap.add_argument("--goal-ms", type=float, default=20.0, help="p99 goal of resolve (default 20 ms)")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL)
    args = ap.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    workdir = Path(tempfile.mkdtemp(prefix="smartbcc-bench-resolve-"))
    try:
        results = [run(kind, args, workdir) for kind in kinds]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"resolve benchmark: {args.persons} persons, {args.deals} deals, {args.requests} requests per endpoint "
          f"(after {args.warmup} warm-up), Flask test client, Python {sys.version.split()[0]}")
    print(f"{'db':<9} {'endpoint':<22} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'queries':>8}")
    met = True
    for result in results:
        for name, label in (("baseline", "GET /users/me"), ("resolve", "POST /addin/resolve")):
            r = result[name]
            low, high = r["queries"]
            spread = f"{low}" if low == high else f"{low}-{high}"
            print(f"{result['db']:<9} {label:<22} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['mean']:>8.2f} {spread:>8}")
        ratio50 = result["resolve"]["p50"] / result["baseline"]["p50"]
        ratio99 = result["resolve"]["p99"] / result["baseline"]["p99"]
        print(f"{result['db']:<9} {'resolve / baseline':<22} {ratio50:>7.2f}x {ratio99:>7.2f}x"
              f"   (seeding took {result['seed_s']:.1f} s)")
        met = met and result["resolve"]["p99"] < args.goal_ms
    print(f"goal: resolve p99 under {args.goal_ms:g} ms: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
