"""Starting real `smartbcc` processes for the reliability and topology tests."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def smartbcc_exe() -> str:
    exe = Path(sys.executable).with_name("smartbcc")
    return str(exe) if exe.exists() else (shutil.which("smartbcc") or "smartbcc")


def process_env(settings, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "SMARTBCC_DATABASE_URL": settings.database_url,
        "SMARTBCC_INSTANCE_DIR": str(settings.instance_dir),
        "SMARTBCC_BLOB_DIR": str(settings.blob_dir),
        "SMARTBCC_MAIL_DOMAIN": settings.mail_domain,
        "SMARTBCC_SECRET_KEY": settings.secret_key,
        "SMARTBCC_JOBS": "inline",
        # These tests stream more mail than one sender may send per minute.
        "SMARTBCC_SMTP_LIMIT_PER_SENDER": "0",
        "SMARTBCC_SMTP_LIMIT_PER_COMPANY": "0",
        "SMARTBCC_API_LIMIT_PER_USER": "0",
        "SMARTBCC_API_LIMIT_PER_COMPANY": "0",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = Path(proc.log_path).read_text(errors="replace")[-2000:] if hasattr(proc, "log_path") else ""
            raise RuntimeError(f"process exited with {proc.returncode}: {tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def start(args: list[str], env: dict, port: int, log_dir: Path | None = None) -> subprocess.Popen:
    """Starts a process and waits for its port; its stderr goes to a log file for post-mortems."""
    log_dir = Path(log_dir or env.get("SMARTBCC_INSTANCE_DIR", "."))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{Path(args[0]).name}-{args[1] if len(args) > 1 else ''}-{port}.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    log.close()
    wait_for_port(port, proc=proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
