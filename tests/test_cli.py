"""The installed `smartbcc` command, run as a subprocess on a fresh SQLite file per test."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from backend import addresses
from backend.app import create_app
from backend.config import Settings
from backend.models import Company, Deal, Lead, Person, PersonEmail, Project, User
from backend.services import Services
from .conftest import free_port
from .isolation import database_name

MAIL_DOMAIN = "bcc.test"
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"


def _executable() -> str:
    found = shutil.which("smartbcc", path=str(Path(sys.executable).parent)) or shutil.which("smartbcc")
    assert found, "the smartbcc console script is not installed (pip install -e .)"
    return found


@pytest.fixture
def cli(tmp_path):
    """cli(*args, database_url=None) -> CompletedProcess of the real smartbcc executable."""
    exe = _executable()
    default_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    # `smartbcc demo` and `serve` refuse busy ports: free ones, not whatever runs on 5000/2525.
    ports = {"SMARTBCC_HTTP_PORT": str(free_port()), "SMARTBCC_SMTP_PORT": str(free_port())}

    def run_env(database_url: str | None = None, extra_env: dict | None = None) -> dict:
        return {**env, "SMARTBCC_INSTANCE_DIR": str(tmp_path / "instance"),
                "SMARTBCC_DATABASE_URL": database_url or default_url,
                "SMARTBCC_MAIL_DOMAIN": MAIL_DOMAIN, **ports, **(extra_env or {})}

    def run(*args: str, database_url: str | None = None, extra_env: dict | None = None):
        return subprocess.run([exe, *args], env=run_env(database_url, extra_env), capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path)

    run.database_url = default_url
    run.ports = ports
    run.env = run_env
    return run


@pytest.fixture
def migrated(cli):
    result = cli("db", "upgrade")
    assert result.returncode == 0, result.stderr
    return cli


@pytest.fixture
def company(migrated) -> dict:
    result = migrated("company", "create", "--name", "Acme", "--domain", "acme.example")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _assert_one_line_error(result, *needles: str) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
    return lines[0]


def _count(database_url: str, model) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


# --- db upgrade --------------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_and_can_run_again(cli):
    first = cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert _count(cli.database_url, Company) == 0  # tables exist
    again = cli("db", "upgrade")
    assert again.returncode == 0, again.stderr


def test_db_upgrade_on_an_unreachable_database_is_one_error_line(cli):
    _assert_one_line_error(cli("db", "upgrade", database_url=UNREACHABLE), "database")


# --- company create ----------------------------------------------------------------------------

def test_company_create_prints_json_with_id_and_bcc_address(company, cli):
    assert isinstance(company["id"], int)
    assert company["bcc_address"] == f"acme@{MAIL_DOMAIN}"
    assert addresses.decode(company["bcc_address"], MAIL_DOMAIN).kind == "company"
    assert company["domain"] == "acme.example"
    assert _count(cli.database_url, Company) == 1


def test_two_companies_with_the_same_name_get_different_addresses(migrated):
    outs = [json.loads(migrated("company", "create", "--name", "Acme", "--domain", d).stdout)
            for d in ("acme.example", "acme.test")]
    assert outs[0]["id"] != outs[1]["id"]
    assert outs[0]["bcc_address"] != outs[1]["bcc_address"]


@pytest.mark.parametrize("domain", ["bad domain", "nodot", "-acme.example", "acme..example", ""])
def test_company_create_with_a_bad_domain_is_one_error_line(migrated, domain):
    _assert_one_line_error(migrated("company", "create", "--name", "Acme", "--domain", domain), "domain")
    assert _count(migrated.database_url, Company) == 0


def test_company_create_on_an_unreachable_database_is_one_error_line(cli):
    result = cli("company", "create", "--name", "Acme", "--domain", "acme.example", database_url=UNREACHABLE)
    _assert_one_line_error(result, "database")


def test_company_create_before_db_upgrade_is_one_error_line(cli):
    _assert_one_line_error(cli("company", "create", "--name", "Acme", "--domain", "acme.example"),
                           "smartbcc db upgrade")


# --- user create -------------------------------------------------------------------------------

def _user(cli, company_id, email="alice@acme.example", *extra):
    return cli("user", "create", "--company-id", str(company_id), "--email", email, "--name", "Alice",
               "--admin", "--password", "correct-horse", *extra)


def test_user_create_prints_json_with_id_and_a_working_api_token(company, migrated, tmp_path):
    result = _user(migrated, company["id"])
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert isinstance(out["id"], int)
    assert out["api_token"].startswith("sbc_")
    assert out["role"] == "admin"

    settings = Settings.from_env(instance_dir=tmp_path / "app", database_url=migrated.database_url,
                                 secret_key="test", mail_domain=MAIL_DOMAIN, jobs="eager")
    services = Services.create(settings)
    try:
        client = create_app(services=services).test_client()
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {out['api_token']}"})
        assert me.status_code == 200
        assert me.get_json()["data"]["id"] == out["id"]
        assert me.get_json()["data"]["company"]["id"] == company["id"]
        assert client.get("/api/v1/users/me", headers={"Authorization": "Bearer sbc_wrong"}).status_code == 401
    finally:
        services.close()


def test_user_create_without_admin_makes_a_member(company, migrated):
    result = migrated("user", "create", "--company-id", str(company["id"]), "--email", "m@acme.example",
                      "--name", "Mo")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["role"] == "member"


def test_user_create_for_an_unknown_company_is_one_error_line(migrated):
    _assert_one_line_error(_user(migrated, 4242), "4242")
    assert _count(migrated.database_url, User) == 0


def test_user_create_with_a_duplicate_email_is_one_error_line(company, migrated):
    assert _user(migrated, company["id"]).returncode == 0
    _assert_one_line_error(_user(migrated, company["id"], "ALICE@acme.example"), "alice@acme.example")
    assert _count(migrated.database_url, User) == 1


def test_user_create_with_a_short_password_is_one_error_line(company, migrated):
    result = migrated("user", "create", "--company-id", str(company["id"]), "--email", "a@acme.example",
                      "--name", "A", "--password", "short")
    _assert_one_line_error(result, "10 characters")
    assert _count(migrated.database_url, User) == 0


def test_user_create_with_a_bad_email_is_one_error_line(company, migrated):
    _assert_one_line_error(_user(migrated, company["id"], "not-an-address"), "not-an-address")


def test_user_create_on_an_unreachable_database_is_one_error_line(cli):
    result = cli("user", "create", "--company-id", "1", "--email", "a@acme.example", "--name", "A",
                 database_url=UNREACHABLE)
    _assert_one_line_error(result, "database")


# --- demo --------------------------------------------------------------------------------------

DEMO_TABLES = (Company, User, Person, PersonEmail, Deal, Lead, Project)


def _demo_banner(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    text = result.stdout
    login = re.search(r"sign in:\s+(\S+@\S+) / (\S+)", text)
    token = re.search(r"API token:\s+(sbc_\S+)", text)
    bcc = re.search(r"Smart Bcc address:\s+(\S+@\S+)", text)
    assert login and token and bcc, text
    return {"email": login.group(1), "password": login.group(2), "token": token.group(1),
            "bcc": bcc.group(1)}


def test_demo_twice_succeeds_without_duplicating_data(migrated, tmp_path):
    first = _demo_banner(migrated("demo"))
    counts = {m.__name__: _count(migrated.database_url, m) for m in DEMO_TABLES}
    assert counts["Company"] == 1 and counts["User"] >= 1 and counts["Deal"] >= 1 and counts["Lead"] >= 1
    second = _demo_banner(migrated("demo"))
    assert {m.__name__: _count(migrated.database_url, m) for m in DEMO_TABLES} == counts

    assert first["email"] == second["email"] == "admin@demo.example"
    assert first["bcc"] == second["bcc"]
    assert addresses.decode(first["bcc"], MAIL_DOMAIN).kind == "company"
    assert len(first["password"]) >= 8

    settings = Settings.from_env(instance_dir=tmp_path / "app", database_url=migrated.database_url,
                                 secret_key="test", mail_domain=MAIL_DOMAIN, jobs="eager")
    services = Services.create(settings)
    try:
        client = create_app(services=services).test_client()
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {second['token']}"})
        assert me.status_code == 200
        assert me.get_json()["data"]["email"] == "admin@demo.example"
        deals = client.get("/api/v1/deals", headers={"Authorization": f"Bearer {second['token']}"})
        assert len(deals.get_json()["data"]) == counts["Deal"]
        assert all(d["bcc_address"] for d in deals.get_json()["data"])
    finally:
        services.close()


def test_demo_on_an_unreachable_database_is_one_error_line(cli):
    _assert_one_line_error(cli("demo", database_url=UNREACHABLE), "database")


@pytest.fixture
def empty_postgres_url():
    """A freshly created, never migrated PostgreSQL database (only with TEST_DATABASE_URL)."""
    # PostgreSQL is part of the test setup; the machine's server is the default.
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        base = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
    from sqlalchemy import text

    name = database_name("smartbcc_cli_test")
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_company_create_on_an_unmigrated_postgres_database_is_one_error_line(cli, empty_postgres_url):
    result = cli("company", "create", "--name", "Acme", "--domain", "acme.example", database_url=empty_postgres_url)
    _assert_one_line_error(result, "smartbcc db upgrade")


def test_invalid_mail_domain_is_one_clear_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("smartbcc")
    env = dict(os.environ, SMARTBCC_INSTANCE_DIR=str(tmp_path), SMARTBCC_MAIL_DOMAIN="not a domain")
    result = subprocess.run([str(exe), "company", "create", "--name", "A", "--domain", "a.example"],
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: SMARTBCC_MAIL_DOMAIN")
