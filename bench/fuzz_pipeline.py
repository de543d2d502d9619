"""Fuzz the whole pipeline for many cases and print the figures (cases, failures, worst time and memory).

    .venv/bin/python bench/fuzz_pipeline.py [--cases 20000] [--seed 1]

Inputs come from tests/security/fuzz_inputs.py (corpus mutations, random bytes,
nesting bombs, header floods, huge lines). Every case is delivered as an accepted
arrival and processed; a case counts as a failure when processing ends other
than "processed"/"duplicate", raises, or exceeds the time bound.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings as hsettings  # noqa: E402

from backend.accounts import create_company, create_user  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.intake.checks import read_headers  # noqa: E402
from backend.mail.mime import parse_message  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models import InboundRecord  # noqa: E402
from backend.pipeline.runner import process_inbound  # noqa: E402
from backend.services import Services  # noqa: E402
from tests.security.fuzz_inputs import hostile  # noqa: E402

TIME_BOUND = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-every", type=int, default=50, help="trace parse memory every Nth case")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="smartbcc-fuzz-"))
    settings = Settings.from_env(instance_dir=tmp, jobs="eager", mail_domain="bcc.test", secret_key="fuzz")
    upgrade(settings.database_url)
    services = Services.create(settings)
    with services.db.session() as session:
        company = create_company(session, "Fuzz", "fuzz.example").company
        user = create_user(session, company.id, "rep@fuzz.example", "Rep").user
        company_id, user_id = company.id, user.id
    stats = {"cases": 0, "failures": [], "max_seconds": 0.0, "max_bytes": 0, "max_peak_ratio": 0.0,
             "statuses": {}}
    rng = random.Random(args.seed)

    @hsettings(max_examples=args.cases, deadline=None, database=None, derandomize=True,
               suppress_health_check=list(HealthCheck))
    @given(raw=hostile())
    def run(raw: bytes) -> None:
        stats["cases"] += 1
        try:
            read_headers(raw)
            digest = services.blobs.put(raw)
            with services.db.session() as session:
                record = InboundRecord(company_id=company_id, user_id=user_id, source="http",
                                       recipients=[{"address": "fuzz@bcc.test", "kind": "company", "item_id": None}],
                                       raw_sha256=digest, raw_size=len(raw), status="received", decisions=[])
                session.add(record)
                session.flush()
                record_id = record.id
            started = time.monotonic()
            status = process_inbound(services, record_id)
            elapsed = time.monotonic() - started
        except Exception as exc:  # a failure of the harness or the pipeline: both count
            stats["failures"].append(f"{exc.__class__.__name__}: {exc}"[:200])
            import traceback

            print("  failure:", "".join(traceback.format_exception(exc)[-4:]), flush=True)
            return
        stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
        stats["max_seconds"] = max(stats["max_seconds"], elapsed)
        stats["max_bytes"] = max(stats["max_bytes"], len(raw))
        if status not in ("processed", "duplicate") or elapsed > TIME_BOUND:
            with services.db.session() as session:
                error = session.get(InboundRecord, record_id).error
            stats["failures"].append(f"status {status} in {elapsed:.1f}s for {len(raw)} bytes: {error}"[:300])
            print("  failure:", stats["failures"][-1], flush=True)
        if rng.randrange(args.trace_every) == 0:
            tracemalloc.start()
            parse_message(raw)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            stats["max_peak_ratio"] = max(stats["max_peak_ratio"], peak / max(len(raw), 1024))
        if stats["cases"] % 1000 == 0:
            print(f"  {stats['cases']} cases, {len(stats['failures'])} failures", flush=True)

    started = time.monotonic()
    run()
    total = time.monotonic() - started
    services.close()
    print(f"cases tried:          {stats['cases']}")
    print(f"outcomes:             {stats['statuses']}")
    print(f"failures:             {len(stats['failures'])}")
    for failure in stats["failures"][:10]:
        print(f"  - {failure}")
    print(f"largest input:        {stats['max_bytes']} bytes")
    print(f"slowest case:         {stats['max_seconds']:.2f} s (bound {TIME_BOUND} s)")
    print(f"parse peak / size:    {stats['max_peak_ratio']:.1f}x (sampled 1 in {args.trace_every})")
    print(f"total:                {total:.0f} s, {stats['cases'] / total:.1f} cases/s")
    return 1 if stats["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
