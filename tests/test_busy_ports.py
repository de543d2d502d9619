"""`make run` while Smart Bcc already runs: one line naming the busy port and its variable, at
once, and the running demo's credentials stay valid."""
from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from backend.models import User
from backend.security import check_password, hash_token

from .reliability.procs import stop, wait_for_port
from .test_cli import _assert_one_line_error, _demo_banner, cli, migrated  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _busy_line(port: int | str, variable: str) -> str:
    return (f"error: port {port} ({variable}) is in use — is Smart Bcc already running? "
            f"Stop it, or set {variable} to another port.")


@pytest.fixture
def listening():
    """A socket listening on a free local port, as another server would; yields the port."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("command", ["serve", "demo", "check-ports"])
def test_a_busy_http_port_is_one_line_naming_its_variable(migrated, listening, command):  # noqa: F811
    result = migrated(command, extra_env={"SMARTBCC_HTTP_PORT": str(listening)})
    assert _assert_one_line_error(result) == _busy_line(listening, "SMARTBCC_HTTP_PORT")
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["serve", "smtpd", "demo"])
def test_a_busy_smtp_port_is_one_line_naming_its_variable(migrated, listening, command):  # noqa: F811
    result = migrated(command, extra_env={"SMARTBCC_SMTP_PORT": str(listening)})
    assert _assert_one_line_error(result) == _busy_line(listening, "SMARTBCC_SMTP_PORT")


def test_smtpd_ignores_the_http_port(migrated, listening):  # noqa: F811
    # Only the SMTP receiver runs in `smtpd`: a busy HTTP port is none of its business.
    proc = subprocess.Popen([str(BIN / "smartbcc"), "smtpd"], env=_env_of(migrated, SMARTBCC_HTTP_PORT=str(listening)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(int(migrated.ports["SMARTBCC_SMTP_PORT"]), proc=proc)
    finally:
        stop(proc)


def test_demo_prints_the_same_credentials_every_time(migrated):  # noqa: F811
    first = _demo_banner(migrated("demo"))
    second = _demo_banner(migrated("demo"))
    assert (first["password"], first["token"]) == (second["password"], second["token"])


def _env_of(cli_fixture, **extra) -> dict:
    """The environment the cli fixture runs the executable with."""
    return cli_fixture.env(extra_env=extra)


def _make_run_commands() -> list[list[str]]:
    """The recipe of the Makefile's `run` target, with $(BIN) this virtualenv's bin."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(shlex.split(line.strip().lstrip("@-").replace("$(BIN)", str(BIN))))
    assert recipe and recipe[-1][-1] == "serve", recipe
    return recipe


def _stored_credentials(database_url: str) -> dict:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {row.email: (row.password_hash, row.api_token_hash) for row in conn.execute(select(User))}
    finally:
        engine.dispose()


def test_make_run_twice_stops_at_once_and_keeps_the_running_demo_credentials(migrated):  # noqa: F811
    env = _env_of(migrated)
    http_port = int(env["SMARTBCC_HTTP_PORT"])
    *setup, serve = _make_run_commands()
    outputs = []
    for argv in setup:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    banner = _demo_banner(subprocess.CompletedProcess([], 0, "".join(outputs), ""))
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        wait_for_port(http_port, proc=server)
        wait_for_port(int(env["SMARTBCC_SMTP_PORT"]), proc=server)
        stored = _stored_credentials(env["SMARTBCC_DATABASE_URL"])

        # The second `make run`: make stops at the first command that fails.
        failed = None
        for argv in setup + [serve]:
            try:
                done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{' '.join(argv)} did not stop although Smart Bcc already runs")
            if done.returncode != 0:
                failed = done
                break
            assert "API token" not in done.stdout, "credentials printed for a start that cannot succeed"
        assert failed is not None, "the second `make run` did not fail"
        line = _assert_one_line_error(failed)
        assert "SMARTBCC_HTTP_PORT" in line and "SMARTBCC_SMTP_PORT" in line, line
        assert line.startswith(f"error: ports {http_port} (SMARTBCC_HTTP_PORT) and ") and "in use" in line, line

        # Nothing was rotated: the first run's password and token still work on the running server.
        assert _stored_credentials(env["SMARTBCC_DATABASE_URL"]) == stored
        admin_hash, token_hash = stored[banner["email"]]
        assert check_password(admin_hash, banner["password"]) and token_hash == hash_token(banner["token"])
        request = urllib.request.Request(f"http://127.0.0.1:{http_port}/api/v1/users/me",
                                         headers={"Authorization": f"Bearer {banner['token']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["data"]["email"] == banner["email"]
    finally:
        stop(server)
    assert "Traceback" not in server.stderr.read()


def test_check_ports_passes_when_they_are_free(migrated):  # noqa: F811
    result = migrated("check-ports")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_error_names_the_host_variable_for_an_address_not_on_this_machine(migrated):  # noqa: F811
    line = _assert_one_line_error(migrated("serve", extra_env={"SMARTBCC_HTTP_HOST": "192.0.2.1"}))
    assert "SMARTBCC_HTTP_HOST" in line and "192.0.2.1" in line, line

