#!/usr/bin/env python
"""Resolve benchmark: POST /api/v1/addin/resolve latency against a trivial authenticated endpoint.

    .venv/bin/python bench/resolve.py [--db sqlite|postgres|both] [--persons N] [--deals N]
                                      [--requests N] [--pg-url URL]

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
database, not the network. It prints p50/p99 per endpoint and the resolve/baseline ratio.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test_h8"
MAIL_DOMAIN = "bcc.bench"
BATCH = 5000


def fresh_database(kind: str, workdir: Path, pg_url: str) -> str:
    from sqlalchemy import create_engine, text

    from backend.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'resolve.sqlite3'}"
    else:
        url = pg_url
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def _insert(conn, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start:start + BATCH])


def seed(services, persons: int, deals: int, rng: random.Random) -> dict:
    """The CRM rows, inserted in bulk; returns the token, the addresses and some deal ids."""
    from sqlalchemy import func, select, text

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
        for company_id, count in ((acme_id, persons), (globex_id, persons // 10)):
            base = conn.execute(select(func.coalesce(func.max(Person.id), 0))).scalar_one()
            _insert(conn, Person.__table__, [{"id": base + n + 1, "company_id": company_id,
                                              "name": f"Person {n}"} for n in range(count)])
            _insert(conn, PersonEmail.__table__, [{"company_id": company_id, "person_id": base + n + 1,
                                                   "email": emails[n], "label": "work", "primary": True}
                                                  for n in range(count)])
            if company_id == acme_id:
                acme_base = base
        # Deals: most persons none; some one; every 13th deal's person gets a second open one.
        deal_rows = []
        for n in range(deals):
            pid = acme_base + 1 + rng.randrange(persons)
            if n % 13 == 0 and deal_rows:
                pid = deal_rows[-1]["person_id"]
            status = "open" if rng.random() < 0.7 else rng.choice(("won", "lost"))
            deal_rows.append({"company_id": acme_id, "person_id": pid, "title": f"Deal {n}", "status": status,
                              "bcc_token": addresses.new_item_token()})
        _insert(conn, Deal.__table__, deal_rows)
        _insert(conn, Lead.__table__, [{"company_id": acme_id, "person_id": acme_base + 1 + n, "title": f"Lead {n}",
                                        "bcc_token": addresses.new_item_token()} for n in range(0, persons, 10)])
        if services.db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    seconds = time.perf_counter() - started
    with services.db.session() as session:
        open_deals = list(session.scalars(select(Deal.id).where(Deal.company_id == acme_id,
                                                                Deal.status == "open").limit(500)))
    return {"token": token, "emails": emails, "open_deals": open_deals, "seconds": seconds}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(kind: str, args, workdir: Path) -> dict:
    from backend.app import create_app
    from backend.config import Settings
    from backend.services import Services

    url = fresh_database(kind, workdir, args.pg_url)
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
    for n in range(args.warmup + args.requests):
        request = body(n)
        t0 = time.perf_counter()
        response = client.get("/api/v1/users/me", headers=auth)
        t1 = time.perf_counter()
        assert response.status_code == 200, response.get_data(as_text=True)
        resolved = client.post("/api/v1/addin/resolve", json=request, headers=auth)
        t2 = time.perf_counter()
        assert resolved.status_code == 200, resolved.get_data(as_text=True)
        if n >= args.warmup:
            timings["baseline"].append((t1 - t0) * 1000)
            timings["resolve"].append((t2 - t1) * 1000)
    services.close()
    return {"db": kind, "seed_s": data["seconds"], **{
        name: {"p50": pct(values, 0.50), "p99": pct(values, 0.99), "mean": statistics.fmean(values)}
        for name, values in timings.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--deals", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20250303)
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
    print(f"{'db':<9} {'endpoint':<22} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for result in results:
        for name, label in (("baseline", "GET /users/me"), ("resolve", "POST /addin/resolve")):
            r = result[name]
            print(f"{result['db']:<9} {label:<22} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['mean']:>8.2f}")
        ratio50 = result["resolve"]["p50"] / result["baseline"]["p50"]
        ratio99 = result["resolve"]["p99"] / result["baseline"]["p99"]
        print(f"{result['db']:<9} {'resolve / baseline':<22} {ratio50:>7.2f}x {ratio99:>7.2f}x"
              f"   (seeding took {result['seed_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
