"""The migrations create exactly the provider tables of the models, and downgrading past 0002 removes them."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from backend.migrate import downgrade, upgrade
from backend.models import Base

from ..isolation import database_name

TABLES = {"mailbox_connections", "sent_announcements"}


def _engine(url):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture
def scratch_url(tmp_path, database_url):
    """A database of its own: SQLite file, or a scratch schema-free PostgreSQL database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    admin = _engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    name = database_name("test_h6b_migrate")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    base = database_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_matches_the_models_and_downgrade_removes_the_tables(scratch_url):
    # Head: later revisions add columns to these tables (0005: the announcement's OBO token).
    upgrade(scratch_url)
    engine = _engine(scratch_url)
    try:
        with engine.connect() as conn:
            assert TABLES <= set(inspect(conn).get_table_names())
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        mine = [d for d in diff if TABLES & set(str(d).split("'"))]
        assert mine == []
        downgrade(scratch_url, "0001")
        with engine.connect() as conn:
            assert not TABLES & set(inspect(conn).get_table_names())
        upgrade(scratch_url, "0002")
    finally:
        engine.dispose()
