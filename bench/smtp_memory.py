"""Peak memory of the SMTP process while it receives one ~20 MB message.

    .venv/bin/python bench/smtp_memory.py [--mb 19.5] [--jobs inline|celery]

Starts a real `smartbcc smtpd` on a fresh SQLite database, reads its resident
memory (VmRSS) before, sends one message of the given size over SMTP and reads
the high-water mark (VmHWM) afterwards. The goal is a peak increase under 4x the
message size. With --jobs inline the same process also runs the pipeline on the
message (the embedded default); with --jobs celery processing happens elsewhere,
which isolates the receiver itself.
"""
from __future__ import annotations

import argparse
import base64
import os
import random
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.procs import process_env, wait_for_port  # noqa: E402


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _message(size: int) -> bytes:
    payload = base64.encodebytes(random.Random(1).randbytes(int(size * 0.74)))
    head = (b"From: rep@acme.example\r\nTo: bob@cust.example\r\nSubject: big\r\n"
            b"Message-ID: <big@acme.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nbig one\r\n"
            b"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=big.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    return head + payload.replace(b"\n", b"\r\n") + b"--XX--\r\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=19.5)
    parser.add_argument("--jobs", default="celery", choices=("inline", "celery"))
    args = parser.parse_args()
    from backend.accounts import create_company, create_user
    from backend.config import Settings
    from backend.migrate import upgrade
    from backend.services import Services

    tmp = Path(tempfile.mkdtemp(prefix="smartbcc-mem-"))
    settings = Settings.from_env(instance_dir=tmp, mail_domain="bcc.test", secret_key="bench", jobs="eager")
    upgrade(settings.database_url)
    services = Services.create(settings)
    with services.db.session() as session:
        company = create_company(session, "Acme", "acme.example").company
        create_user(session, company.id, "rep@acme.example", "Rep")
    services.close()
    raw = _message(int(args.mb * 1024 * 1024))
    port = 20000 + os.getpid() % 20000
    env = process_env(settings, SMARTBCC_SMTP_PORT=port, SMARTBCC_JOBS=args.jobs,
                      SMARTBCC_BROKER_URL="redis://127.0.0.1:6379/12")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("smartbcc")), "smtpd"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        time.sleep(1.0)
        before = _kb(proc.pid, "VmRSS")
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            client.sendmail("rep@acme.example", ["acme@bcc.test"], raw)
        time.sleep(3.0 if args.jobs == "inline" else 0.5)  # inline: let the pipeline run too
        peak = _kb(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    size_kb = len(raw) / 1024
    print(f"message:        {len(raw) / 1048576:.1f} MB ({args.jobs} jobs)")
    print(f"RSS before:     {before / 1024:.1f} MB")
    print(f"peak (VmHWM):   {peak / 1024:.1f} MB")
    print(f"peak increase:  {(peak - before) / 1024:.1f} MB = {(peak - before) / size_kb:.2f}x the message "
          f"(goal < 4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
