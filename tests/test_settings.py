"""Every SMARTBCC_* setting is read in one place (backend/config.py), validated when a process
starts (one `error:` line, no traceback), shown by `smartbcc config` with secrets hidden, and
documented by README's table, which is generated from the same fields."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from backend.config import ConfigError, Settings, markdown_table

from .test_cli import _assert_one_line_error, cli  # noqa: F401  (cli: the real executable, a fixture)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BAD_LIMIT = {"SMARTBCC_SMTP_LIMIT_PER_SENDER": "ten per minute"}
BAD_LIMIT_SENTENCE = "SMARTBCC_SMTP_LIMIT_PER_SENDER='ten per minute' is not a limit; write COUNT/SECONDS, e.g. 120/60"


def _exactly_one_error_line(result, expected: str) -> None:
    line = _assert_one_line_error(result)
    assert line == f"error: {expected}", line


# --- every process stops at start on a bad value ------------------------------------------------

@pytest.mark.parametrize("command", [("serve",), ("smtpd",), ("demo",), ("db", "upgrade"), ("config",)])
def test_a_bad_limit_stops_the_command_with_one_line(cli, command):  # noqa: F811
    result = cli(*command, extra_env=BAD_LIMIT)
    _exactly_one_error_line(result, BAD_LIMIT_SENTENCE)
    assert result.stdout == ""


@pytest.mark.parametrize("variable, value, hint", [
    ("SMARTBCC_HTTP_PORT", "http", "is not a port; write a number from 1 to 65535, e.g. 5000"),
    ("SMARTBCC_SMTP_PORT", "99999", "is not a port; write a number from 1 to 65535, e.g. 2525"),
    ("SMARTBCC_BASE_URL", "crm.example.com", "is not a URL; write one like https://"),
    ("SMARTBCC_MS_GRAPH_URL", "graph", "is not a URL"),
    ("SMARTBCC_DATABASE_URL", "localhost/smartbcc", "is not a database URL; write one like postgresql://"),
    ("SMARTBCC_MAIL_DOMAIN", "not a domain", "is not a domain name; write one like bcc.example.com"),
    ("SMARTBCC_SMTP_RELAY_TLS", "sometimes", "is not a yes/no value; write true or false"),
    ("SMARTBCC_OPERATOR_COMPANY_ID", "acme", "is not a whole number; write one like 1"),
    ("SMARTBCC_OLD_ADDRESS_GRACE_DAYS", "a month", "is not a whole number; write one like 30"),
    ("SMARTBCC_TRUSTED_PROXIES", "-1", "is out of range"),
    ("SMARTBCC_JOBS", "threads", "is not one of inline, eager or celery"),
    ("SMARTBCC_SMTP_RELAY", "smtp.example.com:smtp", "is not host:port; write one like smtp.example.com:587"),
    ("SMARTBCC_API_LIMIT_PER_USER", "600 a minute", "is not a limit; write COUNT/SECONDS, e.g. 600/60"),
    ("SMARTBCC_SIGNIN_LIMIT_PER_IP", "50/0", "is not a limit; write COUNT/SECONDS, e.g. 50/900"),
])
def test_each_kind_of_bad_value_is_one_line_naming_the_variable(cli, variable, value, hint):  # noqa: F811
    line = _assert_one_line_error(cli("config", extra_env={variable: value}))
    assert line.startswith(f"error: {variable}={value!r} {hint}"), line


def test_a_bad_secret_is_named_but_not_shown(cli):  # noqa: F811
    line = _assert_one_line_error(cli("config", extra_env={"SMARTBCC_TOKEN_KEYS": "my-secret-material"}))
    assert line.startswith("error: SMARTBCC_TOKEN_KEYS (value hidden) is not a list of Fernet keys"), line
    assert "my-secret-material" not in line


def test_a_bad_database_url_does_not_show_its_password(cli):  # noqa: F811
    line = _assert_one_line_error(cli("config", extra_env={"SMARTBCC_DATABASE_URL": "postgres ql://u:hunter22@h/db"}))
    assert "hunter22" not in line and line.startswith("error: SMARTBCC_DATABASE_URL="), line


def test_create_app_with_a_bad_environment_raises_the_same_sentence(monkeypatch, tmp_path):
    from backend.app import create_app

    monkeypatch.setenv("SMARTBCC_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("SMARTBCC_SMTP_LIMIT_PER_SENDER", "ten per minute")
    with pytest.raises(ConfigError) as raised:
        create_app()
    assert str(raised.value) == BAD_LIMIT_SENTENCE
    assert not (tmp_path / "instance").exists()  # stopped before deriving anything (no secret key written)


def _clean_env(tmp_path: Path, **variables) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env.update(SMARTBCC_INSTANCE_DIR=str(tmp_path / "instance"),
               SMARTBCC_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **variables)
    return env


def _run(argv: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{argv[0]} did not stop at start on a bad setting:\n{exc.stderr or ''}")


def test_the_celery_worker_stops_at_start_with_one_line(tmp_path):
    # An unreachable broker: a worker that got past its settings would wait for it, not exit.
    env = _clean_env(tmp_path, SMARTBCC_JOBS="celery", SMARTBCC_BROKER_URL="redis://127.0.0.1:1/0", **BAD_LIMIT)
    result = _run([str(BIN / "celery"), "-A", "backend.worker", "worker", "--pool=solo"], env)
    _exactly_one_error_line(result, BAD_LIMIT_SENTENCE)


def test_the_gunicorn_web_process_stops_before_its_workers(tmp_path):
    env = _clean_env(tmp_path, **BAD_LIMIT)
    result = _run([str(BIN / "gunicorn"), "-c", "python:backend.gunicorn_conf", "--bind", "127.0.0.1:0",
                   "--workers", "1", "backend.app:create_app()"], env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    # gunicorn logs its own "Starting gunicorn" first; ours is the one error, and the last line.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == f"error: {BAD_LIMIT_SENTENCE}", result.stderr
    assert sum("error" in line.lower() for line in lines) == 1, result.stderr


# --- smartbcc config ---------------------------------------------------------------------------

SECRETS = {
    "SMARTBCC_SECRET_KEY": "s3cret-key-value-for-the-test",
    "SMARTBCC_SMTP_RELAY_PASSWORD": "relay-pa55word",
    "SMARTBCC_MS_CLIENT_SECRET": "ms~client~secret",
    "SMARTBCC_GOOGLE_CLIENT_SECRET": "GOCSPX-google-secret",
    "SMARTBCC_TOKEN_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
    "SMARTBCC_DEMO_PASSWORD": "demo-pa55word",
}


def _secret_parts() -> list[str]:
    return [part for value in SECRETS.values() for part in value.split(",")] + ["dbpa55"]


def test_config_prints_every_setting_once_with_secrets_hidden(cli):  # noqa: F811
    env = {**SECRETS, "SMARTBCC_DATABASE_URL": "postgresql://smartbcc:dbpa55@db.internal/smartbcc",
           "SMARTBCC_SMTP_LIMIT_PER_SENDER": "30 / 60", "SMARTBCC_TRUSTED_PROXIES": "1",
           "SMARTBCC_MS_ALLOWED_TENANTS": "t1, t2"}
    result = cli("config", extra_env=env)
    assert result.returncode == 0, result.stderr
    for secret in _secret_parts():
        assert secret not in result.stdout + result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert list(shown) == [spec.env for _name, spec in Settings.specs()]
    for variable in ("SMARTBCC_SECRET_KEY", "SMARTBCC_SMTP_RELAY_PASSWORD", "SMARTBCC_MS_CLIENT_SECRET",
                     "SMARTBCC_GOOGLE_CLIENT_SECRET", "SMARTBCC_DEMO_PASSWORD"):
        assert shown[variable] == "***", variable
    assert shown["SMARTBCC_TOKEN_KEYS"] == "***,***"
    assert shown["SMARTBCC_DATABASE_URL"] == "postgresql://smartbcc:***@db.internal/smartbcc"
    # Effective values: normalized, defaults filled in.
    assert shown["SMARTBCC_SMTP_LIMIT_PER_SENDER"] == "30/60"
    assert shown["SMARTBCC_SMTP_LIMIT_PER_COMPANY"] == "1200/60"
    assert shown["SMARTBCC_TRUSTED_PROXIES"] == "1"
    assert shown["SMARTBCC_MS_ALLOWED_TENANTS"] == "t1,t2"
    assert shown["SMARTBCC_HTTP_PORT"] == cli.ports["SMARTBCC_HTTP_PORT"]
    assert shown["SMARTBCC_BASE_URL"] == f"http://127.0.0.1:{cli.ports['SMARTBCC_HTTP_PORT']}"


def test_config_json_is_the_same_with_typed_values(cli):  # noqa: F811
    result = cli("config", "--json", extra_env={**SECRETS, "SMARTBCC_SMTP_RELAY_TLS": "yes"})
    assert result.returncode == 0, result.stderr
    for secret in _secret_parts():
        assert secret not in result.stdout
    shown = json.loads(result.stdout)
    assert list(shown) == [spec.env for _name, spec in Settings.specs()]
    assert shown["SMARTBCC_SECRET_KEY"] == "***" and shown["SMARTBCC_TOKEN_KEYS"] == ["***", "***"]
    assert shown["SMARTBCC_SMTP_RELAY_TLS"] is True
    assert shown["SMARTBCC_HTTP_PORT"] == int(cli.ports["SMARTBCC_HTTP_PORT"])
    assert shown["SMARTBCC_MS_ALLOWED_TENANTS"] == []


def test_a_generated_secret_key_is_hidden_too(cli, tmp_path):  # noqa: F811
    result = cli("config")
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "instance" / "secret_key").read_text().strip()
    assert key not in result.stdout and "SMARTBCC_SECRET_KEY=***" in result.stdout.splitlines()


# --- one place ---------------------------------------------------------------------------------

_ENV_READ = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|\benviron\.get\(|\benviron\[")


def test_only_config_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        if path == ROOT / "backend" / "config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _ENV_READ.search(line) or "SMARTBCC_" in line and "environ" in line:
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == [], "read settings through backend.config.Settings:\n" + "\n".join(readers)


def test_every_setting_is_read_from_its_own_variable_with_one_default():
    names = [spec.env for _name, spec in Settings.specs()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"SMARTBCC_[A-Z0-9_]+", name) for name in names)
    # The defaults, from an empty environment (the secret key comes from instance/).
    defaults = Settings.from_env(environ={}, secret_key="x", instance_dir="/srv/sb")
    assert defaults.smtp_limit_per_sender == "120/60" and defaults.http_port == 5000
    assert defaults.base_url == "http://127.0.0.1:5000" and defaults.trusted_proxies == 0
    assert defaults.database_url == "sqlite:////srv/sb/smartbcc.sqlite3"
    assert defaults.mail_from == "Smart Bcc <no-reply@bcc.localhost>"
    # An empty variable counts as unset.
    blank = Settings.from_env(environ={"SMARTBCC_HTTP_PORT": "", "SMARTBCC_SMTP_LIMIT_PER_SENDER": " "},
                              secret_key="x", instance_dir="/srv/sb")
    assert (blank.http_port, blank.smtp_limit_per_sender) == (5000, "120/60")


@pytest.mark.parametrize("raw, stored", [("0", "0"), ("120/60", "120/60"), (" 5 / 10 ", "5/10")])
def test_limits_are_validated_once_and_normalized(raw, stored):
    from backend.ratelimit import Limit

    settings = Settings.from_env(environ={"SMARTBCC_SMTP_LIMIT_PER_SENDER": raw}, secret_key="x",
                                 instance_dir="/srv/sb")
    assert settings.smtp_limit_per_sender == stored
    assert Limit.parse(stored) == (None if stored == "0" else Limit(*map(int, stored.split("/"))))


@pytest.mark.parametrize("raw", ["ten per minute", "120", "-1/60", "0/60", "120/0", "1.5/60", "120/60/2"])
def test_a_malformed_limit_is_refused(raw):
    with pytest.raises(ConfigError, match=r"^SMARTBCC_SMTP_LIMIT_PER_SENDER=.* is not a limit; write "
                                          r"COUNT/SECONDS, e\.g\. 120/60$"):
        Settings.from_env(environ={"SMARTBCC_SMTP_LIMIT_PER_SENDER": raw}, secret_key="x", instance_dir="/srv/sb")


def test_readme_configuration_table_is_generated_from_the_settings():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert markdown_table() in section, (
        "README's configuration table is not current; replace it with the output of "
        "`.venv/bin/python -m backend.config`")
    listed = re.findall(r"^\| `(SMARTBCC_[A-Z0-9_]+)` \|", section, flags=re.M)
    assert listed == [spec.env for _name, spec in Settings.specs()]
