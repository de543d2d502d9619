"""The Procfile's processes start the programs this checkout installs, with settings that load."""
from __future__ import annotations

import gc
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _processes() -> dict[str, list[str]]:
    out = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            out[name.strip()] = shlex.split(command)
    return out


def test_the_four_processes_and_their_programs():
    processes = _processes()
    assert set(processes) == {"web", "smtp", "worker", "beat"}
    for name, argv in processes.items():
        assert (BIN / argv[0]).exists(), f"{name}: {argv[0]} is not installed in the virtualenv"


def test_the_web_command_loads_its_config_and_the_app(tmp_path):
    argv = [os.path.expandvars(arg.replace("${PORT:-5000}", "0").replace("${WEB_CONCURRENCY:-2}", "1"))
            for arg in _processes()["web"]]
    env = dict(os.environ, SMARTBCC_INSTANCE_DIR=str(tmp_path), SMARTBCC_SECRET_KEY="procfile-test",
               SMARTBCC_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    done = subprocess.run([str(BIN / argv[0]), *argv[1:], "--check-config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workers_freeze_what_they_built():
    from backend import gunicorn_conf

    before = gc.get_freeze_count()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
