"""What the scale benchmarks share: a fresh database, fast bulk loading, percentiles and a query counter."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

BATCH = 20_000


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database ``url`` names if it does not exist yet (through the
    server's ``postgres`` database), so a benchmark's default URL works on a fresh machine."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()


def fresh_database(kind: str, workdir: Path, pg_url: str, name: str) -> str:
    """A migrated, empty database: a new SQLite file, or ``pg_url`` with its public schema dropped and recreated."""
    from sqlalchemy import create_engine, text

    from backend.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'{name}.sqlite3'}"
    else:
        url = pg_url
        ensure_database(url)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def _plain(value):
    """A value as COPY wants it: naive UTC datetimes (the columns are ``timestamp without time zone``)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _defaults(table, given: Sequence[str]) -> dict:
    """Values for the columns the caller left out that have a Python-side default (evaluated once)."""
    out = {}
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        default = column.default
        value = default.arg(None) if default.is_callable else default.arg
        out[column.name] = value
    return out


def bulk_load(conn, table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Inserts ``rows`` (tuples in ``columns`` order) into ``table``; returns how many.

    PostgreSQL: one ``COPY ... FROM STDIN`` with foreign-key triggers off for the session
    (the generated rows are consistent by construction; unique indexes still apply).
    Elsewhere: ``session.execute(insert(table), rows)``-style executemany in large batches
    (SQLite: foreign keys checked at commit).
    Columns left out get their model default, evaluated once per call (fine for timestamps
    and constants, wrong for anything that must be unique; pass those explicitly).
    """
    columns = list(columns)
    extra = _defaults(table, columns)
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    count = 0
    if conn.dialect.name == "postgresql":
        extra_names = list(extra)
        extra_values = tuple(json.dumps(v) if k in json_columns else _plain(v) for k, v in extra.items())
        convert = [i for i, name in enumerate(columns) if name in json_columns]
        names = ", ".join(f'"{c}"' for c in columns + extra_names)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    if convert:
                        row = list(row)
                        for i in convert:
                            row[i] = json.dumps(row[i])
                    copy.write_row(tuple(row) + extra_values if extra_values else row)
                    count += 1
            cur.execute("SET session_replication_role = DEFAULT")
        return count
    if conn.dialect.name == "sqlite":
        # Rows may arrive before the rows they reference; checked at commit instead.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    batch: list[dict] = []
    for row in rows:
        batch.append(dict(zip(columns, row), **extra))
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


@contextmanager
def indexes_deferred(conn, tables):
    """PostgreSQL: drops the plain (non-unique) indexes of ``tables`` for the duration, then
    builds them again from their own definitions: bulk loading then building is far faster than
    maintaining them row by row (GIN trigram indexes above all). Unique ones stay (they check
    the generated data). Elsewhere: does nothing."""
    from sqlalchemy import text

    if conn.dialect.name != "postgresql":
        yield
        return
    names = [t.name for t in tables]
    rows = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:names) AND NOT x.indisunique"), {"names": names}).all()
    for name, _definition in rows:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    conn.execute(text("SET maintenance_work_mem = '256MB'"))
    for _name, definition in rows:
        conn.execute(text(definition))
    conn.execute(text("RESET maintenance_work_mem"))


def fix_sequences(conn, tables) -> None:
    """After rows with explicit ids: move PostgreSQL's id sequences past them so the app can insert."""
    from sqlalchemy import text

    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                          f"COALESCE((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)"))


def analyze(engine) -> None:
    """Settles the database after a bulk load, so the timings that follow measure requests.

    PostgreSQL: ``VACUUM (ANALYZE)``, the state autovacuum soon brings freshly loaded tables to
    (planner statistics, the visibility map that index-only scans need), then ``CHECKPOINT`` so
    the gigabytes just written are not flushed while requests are timed. SQLite is left as the
    app leaves it (no ANALYZE). In the benchmark process: a full garbage collection, and what is
    left (seeding's data) is frozen out of later collections."""
    import gc

    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            try:
                conn.exec_driver_sql("CHECKPOINT")
            except Exception:  # noqa: BLE001 - needs superuser or pg_checkpoint; only a nicety
                pass
    gc.collect()
    gc.freeze()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class QueryCounter:
    """Counts the SQL statements an engine runs (an executemany counts once)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        self.statements: list[str] = []
        self.keep = False
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.keep:
            self.statements.append(statement)

    def reset(self, keep: bool = False) -> None:
        self.count = 0
        self.statements = []
        self.keep = keep

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._before)
