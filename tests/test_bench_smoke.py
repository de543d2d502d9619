"""Every benchmark still runs, at a toy size, and its own correctness checks pass (the figures
themselves are not judged here: see bench/README.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUNS = {
    "ingest": ["bench/ingest.py", "--db", "sqlite", "--messages", "24", "--concurrency", "2",
               "--attach-every", "8", "--attach-mb", "0.1", "--variants", "inline,defer"],
    "resolve": ["bench/resolve.py", "--db", "sqlite", "--persons", "2000", "--deals", "400", "--requests", "20"],
    "mailbox": ["bench/mailbox.py", "--db", "sqlite", "--threads", "300", "--messages", "1200", "--persons", "300",
                "--deals", "60", "--busy-deal-threads", "40", "--requests", "10", "--warmup", "2"],
    # Two sizes, then the growth table (issue 18 part 5).
    "mailbox_sizes": ["bench/mailbox.py", "--db", "sqlite", "--sizes", "2000,4000", "--busy-deal-threads", "40",
                      "--requests", "10", "--warmup", "2"],
    "smtp_memory": ["bench/smtp_memory.py", "--mb", "1", "--jobs", "inline"],
    "fuzz_pipeline": ["bench/fuzz_pipeline.py", "--cases", "40"],
    "forwards": ["bench/forwards.py", "--limit", "40"],
    "dealchoice": ["bench/dealchoice.py", "--contacts", "12", "--threads", "30"],
    # Embedded default only: the Procfile topology needs Redis, PostgreSQL and Celery.
    "latency": ["bench/latency.py", "--rates", "5", "--seconds", "2", "--baseline-rates", "5"],
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_runs_and_its_checks_pass(name, tmp_path):
    done = subprocess.run([sys.executable, *RUNS[name]], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
                               "TMPDIR": str(tmp_path)})
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    for failure in ("CHECK FAILED", "check failed", "Traceback"):
        assert failure not in out, out[-3000:]
    if name == "mailbox_sizes":
        assert "sqlite: growth from 2,000 to 4,000 messages" in out, out[-3000:]
        assert "GET deals/{id}/mailMessages" in out.split("growth from", 1)[1], out[-3000:]
