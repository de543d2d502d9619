"""search documents built once per message (issue 18, part 2): a writer may defer them to its commit

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:00:00.000000

Revision 0011's triggers build a message's search document when the message is inserted, and
again after each statement (PostgreSQL) or each row (SQLite) that adds its participants or
attachments: the pipeline, which writes a message and then its participants and attachments,
tokenized each 20 KB body two to three times on PostgreSQL and once per participant on SQLite.

Now a transaction may say "defer": the triggers then only note which messages changed, in
``mail_search_pending``, and the transaction builds each noted message's document once before it
commits (backend/domain/search_index.py does both; the pipeline's runner uses it per batch).
Without the word, the triggers work exactly as before, so a writer that does not know about it
(the API, a CLI command, a psql session) keeps the index in step as it always did. Nothing of a
deferral can outlive its transaction: a rollback discards the note with the writes, and the
build empties it.

PostgreSQL: the word is the transaction-local setting ``smartbcc.search_deferred = on``;
``smartbcc_search_build()`` turns it off, takes the noted ids and updates their
``search_vector`` (the BEFORE UPDATE trigger computes it); ``mail_search_pending`` is UNLOGGED
and has no key, so concurrent transactions never wait on each other's notes (neither sees the
other's uncommitted rows).

SQLite (one writer at a time): the word is the row ``message_id = 0`` of ``mail_search_pending``;
deleting that row fires ``mail_search_pending_build``, which writes the noted messages'
documents and empties the table.

The triggers keep their names (0011's SQLITE_TRIGGER_NAMES); a later migration that rebuilds
mail_messages, participants or attachments on SQLite drops them first and creates them again with
this revision's ``create_sqlite_triggers``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def _revision_0011():
    """Revision 0011's module: its document SQL and its triggers (what a downgrade restores)."""
    spec = importlib.util.spec_from_file_location("smartbcc_rev_0011", Path(__file__).with_name("0011_fulltext.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------- PostgreSQL

PG_OBJECTS = """
CREATE UNLOGGED TABLE mail_search_pending (message_id bigint NOT NULL);

CREATE OR REPLACE FUNCTION smartbcc_search_deferred() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('smartbcc.search_deferred', true), '') = 'on' $$;

CREATE OR REPLACE FUNCTION smartbcc_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF smartbcc_search_deferred() THEN
        INSERT INTO mail_search_pending (message_id) VALUES (NEW.id);
        RETURN NEW;
    END IF;
    NEW.search_vector := smartbcc_search_document(NEW);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION smartbcc_search_build() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    built integer;
BEGIN
    PERFORM set_config('smartbcc.search_deferred', '', true);
    WITH noted AS (DELETE FROM mail_search_pending RETURNING message_id)
    UPDATE mail_messages SET search_vector = NULL WHERE id IN (SELECT message_id FROM noted);
    GET DIAGNOSTICS built = ROW_COUNT;
    RETURN built;
END $$;
"""

# The statement triggers of participants and attachments (0011's functions, names kept): the
# changed rows' messages are noted when deferred, else their documents are built at once.
PG_REFRESH = """
CREATE OR REPLACE FUNCTION smartbcc_search_refresh_{which}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF smartbcc_search_deferred() THEN
        INSERT INTO mail_search_pending (message_id) {rows};
    ELSE
        UPDATE mail_messages SET search_vector = NULL WHERE id IN ({rows});
    END IF;
    RETURN NULL;
END $$;
"""
PG_CHANGED_ROWS = {"new": "SELECT message_id FROM new_rows", "old": "SELECT message_id FROM old_rows",
                   "both": "SELECT message_id FROM new_rows UNION SELECT message_id FROM old_rows"}

# The downgrade: 0011's trigger functions (its PG_TRIGGERS, which also creates the message trigger
# again), then this revision's own objects go.
PG_UNDO = """
DROP FUNCTION IF EXISTS smartbcc_search_build();
DROP FUNCTION IF EXISTS smartbcc_search_deferred();
DROP TABLE IF EXISTS mail_search_pending;
"""


# ---------------------------------------------------------------------------------- SQLite

SQLITE_DEFERRED = "EXISTS (SELECT 1 FROM mail_search_pending WHERE message_id = 0)"


def _sqlite_refresh(document: str, message_id: str) -> str:
    """Trigger statements: write message ``message_id``'s document again, or note it when deferred."""
    return (f"DELETE FROM mail_search WHERE rowid = {message_id} AND NOT {SQLITE_DEFERRED}; "
            f"INSERT INTO mail_search (rowid, subject, body, sender, recipients, files, tags) "
            f"SELECT m.id, {document} FROM mail_messages m "
            f"WHERE m.id = {message_id} AND m.deleted_at IS NULL AND NOT {SQLITE_DEFERRED}; "
            f"INSERT OR IGNORE INTO mail_search_pending (message_id) SELECT {message_id} WHERE {SQLITE_DEFERRED};")


def sqlite_triggers(document: str) -> list[str]:
    """The search triggers of this revision, over 0011's document SQL (``SQLITE_DOCUMENT``)."""
    statements = [
        f"CREATE TRIGGER mail_messages_search_insert AFTER INSERT ON mail_messages BEGIN "
        f"{_sqlite_refresh(document, 'NEW.id')} END",
        f"CREATE TRIGGER mail_messages_search_update AFTER UPDATE OF "
        f"subject, body_text, snippet, sender_email, sender_name, deleted_at ON mail_messages BEGIN "
        f"{_sqlite_refresh(document, 'NEW.id')} END",
        "CREATE TRIGGER mail_messages_search_delete AFTER DELETE ON mail_messages BEGIN "
        "DELETE FROM mail_search WHERE rowid = OLD.id; END",
    ]
    for table in ("participants", "attachments"):
        statements += [
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
            f"{_sqlite_refresh(document, 'NEW.message_id')} END",
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} BEGIN "
            f"{_sqlite_refresh(document, 'OLD.message_id')} {_sqlite_refresh(document, 'NEW.message_id')} END",
            f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
            f"{_sqlite_refresh(document, 'OLD.message_id')} END",
        ]
    # Ending the deferral (deleting row 0) writes every noted message's document once.
    noted = "SELECT message_id FROM mail_search_pending WHERE message_id > 0"
    statements.append(
        "CREATE TRIGGER mail_search_pending_build AFTER DELETE ON mail_search_pending WHEN OLD.message_id = 0 BEGIN "
        f"DELETE FROM mail_search WHERE rowid IN ({noted}); "
        f"INSERT INTO mail_search (rowid, subject, body, sender, recipients, files, tags) "
        f"SELECT m.id, {document} FROM mail_messages m WHERE m.id IN ({noted}) AND m.deleted_at IS NULL; "
        "DELETE FROM mail_search_pending; END")
    return statements


def create_sqlite_triggers(bind) -> None:
    for statement in sqlite_triggers(_revision_0011().SQLITE_DOCUMENT):
        bind.exec_driver_sql(statement)


def _drop_sqlite_triggers(bind) -> None:
    for name in _revision_0011().SQLITE_TRIGGER_NAMES + ["mail_search_pending_build"]:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text(PG_OBJECTS))
        for which, rows in PG_CHANGED_ROWS.items():
            bind.execute(sa.text(PG_REFRESH.format(which=which, rows=rows)))
    else:
        bind.exec_driver_sql("CREATE TABLE mail_search_pending (message_id INTEGER PRIMARY KEY)")
        _drop_sqlite_triggers(bind)
        create_sqlite_triggers(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS mail_messages_search ON mail_messages")
        bind.execute(sa.text(_revision_0011().PG_TRIGGERS))  # CREATE OR REPLACE: the child triggers keep them
        bind.execute(sa.text(PG_UNDO))
    else:
        _drop_sqlite_triggers(bind)
        _revision_0011().create_sqlite_triggers(bind)
        bind.exec_driver_sql("DROP TABLE IF EXISTS mail_search_pending")
