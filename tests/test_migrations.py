"""Alembic migrations: empty -> head -> base -> head, and the models agree with the migrated schema."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, inspect, text

from backend.db import make_engine
from backend.migrate import alembic_config, downgrade, upgrade
from backend.models import Base
from backend.models.mail import is_search_object

from .isolation import database_name

PG_ENV = "TEST_DATABASE_URL"


LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"


@pytest.fixture
def postgres_url():
    """A freshly created PostgreSQL database of its own, dropped afterwards."""
    # PostgreSQL is part of the test setup (like Redis); the machine's server is the default.
    base = os.environ.get(PG_ENV) or os.environ.get("TEST_POSTGRES_ADMIN_URL") or LOCAL_PG
    if not base.startswith("postgresql"):
        base = LOCAL_PG
    name = database_name("smartbcc_migrations_test")
    admin = create_engine(_sqlalchemy_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.rsplit("/", 1)[0] + "/" + name
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _app_tables(url: str) -> set[str]:
    """The tables, less the full-text search's (SQLite FTS5 and its shadow tables: not in the models)."""
    return {name for name in _tables(url) if not is_search_object(name, "table")}


def _current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _diff(url: str, metadata: MetaData = Base.metadata) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "render_as_batch": True,
                # The full-text search's table/column/index are kept by migration 0011, not the models.
                "include_object": lambda obj, name, type_, reflected, compare_to: not is_search_object(
                    name, type_, getattr(getattr(obj, "table", None), "name", None))})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_there_is_a_single_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_downgrade_upgrade_round_trip(fresh_url):
    model_tables = set(Base.metadata.tables)
    assert _tables(fresh_url) == set()

    upgrade(fresh_url)
    assert _app_tables(fresh_url) == model_tables | {"alembic_version"}
    assert _current_revision(fresh_url) == _head()

    downgrade(fresh_url, "base")
    assert _tables(fresh_url) - {"alembic_version"} == set()
    assert _current_revision(fresh_url) is None

    upgrade(fresh_url)
    assert _app_tables(fresh_url) == model_tables | {"alembic_version"}
    assert _current_revision(fresh_url) == _head()


def test_models_and_migrations_agree(fresh_url):
    upgrade(fresh_url)
    assert _diff(fresh_url) == []


def test_the_comparison_notices_a_model_change_without_migration(sqlite_url):
    """Guards the test above: a column or table added only to the models is reported."""
    upgrade(sqlite_url)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    Table("deals", changed, Column("probability", Integer), extend_existing=True)
    Table(f"t_{uuid.uuid4().hex[:8]}", changed, Column("id", Integer, primary_key=True), Column("x", String(5)))
    kinds = {entry[0] for entry in _diff(sqlite_url, changed) if isinstance(entry, tuple)}
    assert {"add_column", "add_table"} <= kinds


def test_migrated_schema_works_for_the_app(fresh_url):
    """A smoke test that data written through the models survives on the migrated schema."""
    from sqlalchemy.orm import Session

    from backend.accounts import create_company, create_user

    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as session:
            made = create_company(session, "Acme", "acme.example")
            create_user(session, made.company.id, "a@acme.example", "A", admin=True)
            session.commit()
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM users")) == 1
    finally:
        engine.dispose()


def test_a_database_stamped_0005_by_the_release_without_0004_gets_the_scale_indexes(fresh_url):
    """0005 once revised 0003; such a database is at 0005 without 0004's indexes (0007 repairs it)."""
    upgrade(fresh_url, "0005")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:  # undo 0004 by hand: the state that release left behind
            conn.execute(text("DROP INDEX ix_mail_threads_inbox"))
            conn.execute(text("DROP INDEX ix_mail_threads_visible"))
            if conn.dialect.name == "postgresql":
                for column in ("subject", "snippet", "sender_email", "sender_name"):
                    conn.execute(text(f"DROP INDEX ix_mail_messages_{column}_trgm"))
            conn.execute(text("CREATE INDEX ix_mail_threads_company_last ON mail_threads (company_id, last_message_at)"))
        upgrade(fresh_url, "0010")  # 0011 replaces the trigram indexes by full-text search
        inspector = inspect(engine)
        threads = {ix["name"] for ix in inspector.get_indexes("mail_threads")}
        assert {"ix_mail_threads_inbox", "ix_mail_threads_visible", "ix_mail_threads_needs_choice"} <= threads
        assert "ix_mail_threads_company_last" not in threads
        if engine.dialect.name == "postgresql":
            messages = {ix["name"] for ix in inspector.get_indexes("mail_messages")}
            assert "ix_mail_messages_subject_trgm" in messages
        upgrade(fresh_url)  # at head: nothing more to do
    finally:
        engine.dispose()


def test_0023_moves_unused_old_default_thresholds_only(fresh_url):
    """Companies not linking automatically get the new default; one that links automatically keeps
    the threshold its admin saw."""
    from sqlalchemy.orm import Session

    from backend.accounts import create_company

    upgrade(fresh_url, "0022")
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as session:
            ids = [create_company(session, name, f"{name.lower()}.example").company.id
                   for name in ("Asks", "Auto", "Chose")]
            session.commit()
        with engine.begin() as conn:
            for company_id, policy, threshold in zip(ids, ("ask", "auto_when_confident", "ask"), (0.8, 0.8, 0.7)):
                conn.execute(text("UPDATE companies SET deal_choice_policy = :p, deal_choice_threshold = :t "
                                  "WHERE id = :id"), {"p": policy, "t": threshold, "id": company_id})
        upgrade(fresh_url)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, deal_choice_threshold FROM companies")).all())
        assert [rows[i] for i in ids] == [0.9, 0.8, 0.7]
    finally:
        engine.dispose()
