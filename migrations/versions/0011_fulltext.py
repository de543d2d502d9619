"""full-text search (issue 18): a search document per live message, kept by the database itself

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 18:40:00.000000

What is indexed, per live message: subject, body text (the first 100,000 characters; the snippet
when the mail had no text part), the names and addresses of its sender and participants, and its
attachments' file names; plus exact tags for addresses and domains by role (from / to-cc-bcc) and
for "has a (non-inline) attachment". Deleted messages (deleted_at set) have no document.

Triggers keep it in step, so no writer can forget: on mail_messages (insert, update of the
searched columns, delete), participants and attachments (insert, update, delete). Existing rows
are backfilled here (about a minute per million messages on PostgreSQL, during which writes to
mail_messages wait).

PostgreSQL: column ``mail_messages.search_vector`` (tsvector, configuration 'simple': no
language's stemming or stop words, so it treats every language alike) over text lower-cased and
accent-folded by ``smartbcc_fold()``: ``unaccent`` when the extension can be created (it is
trusted since PostgreSQL 13: the database owner may create it), else a built-in translation
table for Latin accents. A GIN index (``ix_mail_messages_search``) answers the matches. The
trigram indexes of 0004 are dropped: nothing searches with LIKE any more.

SQLite: an FTS5 table ``mail_search`` (rowid = message id; columns subject, body, sender,
recipients, files, tags; tokenizer unicode61 with remove_diacritics 2). Addresses are written
into it as ``xxa <local part> xxd <domain> xxz`` so that an address or a domain is one exact
phrase. A later migration that rebuilds mail_messages, participants or attachments on SQLite
(batch_alter_table) must drop these triggers first (SQLITE_TRIGGER_NAMES below) and create them
again after (``create_sqlite_triggers`` of revision 0019, which redefined them): rebuilding participants or attachments silently drops
their triggers with the old table, and rebuilding mail_messages fails ("error in trigger
attachments_search_insert: no such table: main.mail_messages") while they exist.

The models do not describe these objects (backend/models/mail.py: SEARCH_OBJECTS names them;
tests/test_migrations.py leaves them out of the comparison). backend/domain/search.py queries them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TRGM_COLUMNS = ("subject", "snippet", "sender_email", "sender_name")
BODY_CHARS = 100_000

# ---------------------------------------------------------------------------------- PostgreSQL

FOLD_UNACCENT = """
CREATE OR REPLACE FUNCTION smartbcc_fold(value text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT lower(unaccent(coalesce(value, ''))) $$
"""
# Without the unaccent extension: the accented Latin letters of the European languages.
FOLD_TRANSLATE = """
CREATE OR REPLACE FUNCTION smartbcc_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT translate(lower(coalesce(value, '')),
    'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž',
    'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooooooooorrrssssttttuuuuuuuuuuwyyyzzz') $$
"""

DOCUMENT = f"""
CREATE OR REPLACE FUNCTION smartbcc_search_document(m mail_messages) RETURNS tsvector
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    from_text text;
    to_text text;
    tags text[];
    file_text text;
    has_file boolean;
    from_vec tsvector;
    to_vec tsvector;
BEGIN
    IF m.deleted_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    WITH people AS (
        SELECT CASE WHEN p.role = 'from' THEN 'f' ELSE 't' END AS side, lower(p.email) AS email, p.name AS name
        FROM participants p WHERE p.message_id = m.id
        UNION ALL
        SELECT 'f', lower(m.sender_email), m.sender_name
    )
    SELECT string_agg(coalesce(name, '') || ' ' || translate(email, '@.+_-', '     '), ' ') FILTER (WHERE side = 'f'),
           string_agg(coalesce(name, '') || ' ' || translate(email, '@.+_-', '     '), ' ') FILTER (WHERE side = 't'),
           array_agg(side || ':' || email) FILTER (WHERE email LIKE '_%@_%')
             || array_agg(side || '@' || regexp_replace(email, '^.*@', '')) FILTER (WHERE email LIKE '_%@_%')
      INTO from_text, to_text, tags
      FROM people;
    SELECT string_agg(a.filename || ' ' || translate(a.filename, '._-', '   '), ' '), bool_or(NOT a.inline)
      INTO file_text, has_file
      FROM attachments a WHERE a.message_id = m.id;
    from_vec := to_tsvector('simple', smartbcc_fold(from_text));
    to_vec := to_tsvector('simple', smartbcc_fold(to_text));
    RETURN setweight(to_tsvector('simple', smartbcc_fold(m.subject)), 'A')
        || setweight(from_vec || to_vec || to_tsvector('simple', smartbcc_fold(file_text)), 'B')
        || setweight(to_tsvector('simple', smartbcc_fold(left(coalesce(m.body_text, m.snippet), {BODY_CHARS}))), 'D')
        || array_to_tsvector(coalesce(tags, '{{}}'::text[])
                             || ARRAY(SELECT 'f~' || lexeme FROM unnest(from_vec))
                             || ARRAY(SELECT 't~' || lexeme FROM unnest(to_vec))
                             || CASE WHEN has_file THEN ARRAY['has:attachment'] ELSE '{{}}'::text[] END);
END
$fn$
"""

# from:/to: followed by words: the role's name (and address) words, as the tags the document holds.
ROLE_WORDS = """
CREATE OR REPLACE FUNCTION smartbcc_role_words(prefix text, value text) RETURNS tsquery
LANGUAGE sql STABLE AS
$$ SELECT coalesce(string_agg(quote_literal(prefix || lexeme), ' & '), '')::tsquery
   FROM unnest(to_tsvector('simple', smartbcc_fold(translate(value, '@.+_-', '     ')))) $$
"""

PG_TRIGGERS = """
CREATE OR REPLACE FUNCTION smartbcc_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := smartbcc_search_document(NEW);
    RETURN NEW;
END $$;

CREATE TRIGGER mail_messages_search BEFORE INSERT OR UPDATE OF
    subject, body_text, snippet, sender_email, sender_name, deleted_at, search_vector
    ON mail_messages FOR EACH ROW EXECUTE FUNCTION smartbcc_message_search();

CREATE OR REPLACE FUNCTION smartbcc_search_refresh_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mail_messages SET search_vector = NULL WHERE id IN (SELECT message_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION smartbcc_search_refresh_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mail_messages SET search_vector = NULL WHERE id IN (SELECT message_id FROM old_rows);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION smartbcc_search_refresh_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mail_messages SET search_vector = NULL
     WHERE id IN (SELECT message_id FROM new_rows UNION SELECT message_id FROM old_rows);
    RETURN NULL;
END $$;
"""
# One statement (the flush of a message's participants or attachments) refreshes each message once.
PG_CHILD_TRIGGER = """
CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smartbcc_search_refresh_new();
CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smartbcc_search_refresh_both();
CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION smartbcc_search_refresh_old();
"""
PG_FUNCTIONS = ("smartbcc_search_refresh_both()", "smartbcc_search_refresh_old()", "smartbcc_search_refresh_new()",
                "smartbcc_message_search()", "smartbcc_role_words(text, text)",
                "smartbcc_search_document(mail_messages)", "smartbcc_fold(text)")


def _upgrade_postgresql(bind) -> None:
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        folding = FOLD_UNACCENT
    except sa.exc.DBAPIError:  # not installed on this server, or not allowed: fold Latin accents ourselves
        folding = FOLD_TRANSLATE
    for column in TRGM_COLUMNS:
        op.drop_index(f'ix_mail_messages_{column}_trgm', table_name='mail_messages')
    op.add_column('mail_messages', sa.Column('search_vector', sa.dialects.postgresql.TSVECTOR(), nullable=True))
    for statement in (folding, DOCUMENT, ROLE_WORDS, PG_TRIGGERS,
                      PG_CHILD_TRIGGER.format(table="participants"), PG_CHILD_TRIGGER.format(table="attachments")):
        bind.execute(sa.text(statement))  # (text: the driver would read LIKE's % as placeholders)
    # The backfill: the trigger computes each live message's document.
    bind.exec_driver_sql("UPDATE mail_messages SET search_vector = NULL WHERE deleted_at IS NULL")
    op.create_index('ix_mail_messages_search', 'mail_messages', ['search_vector'], postgresql_using='gin')


def _downgrade_postgresql(bind) -> None:
    for table in ("attachments", "participants"):
        for event in ("insert", "update", "delete"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_search_{event} ON {table}")
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS mail_messages_search ON mail_messages")
    op.drop_index('ix_mail_messages_search', table_name='mail_messages')
    for function in PG_FUNCTIONS:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_column('mail_messages', 'search_vector')
    # The unaccent extension stays: other objects of the database may use it.
    for column in TRGM_COLUMNS:
        op.create_index(f'ix_mail_messages_{column}_trgm', 'mail_messages',
                        [sa.func.lower(sa.column(column)).label(f'{column}_lower')], unique=False,
                        postgresql_using='gin', postgresql_ops={f'{column}_lower': 'gin_trgm_ops'})


# ---------------------------------------------------------------------------------- SQLite

def _sqlite_people(role_test: str) -> str:
    return (f"coalesce((SELECT group_concat(coalesce(p.name, '') || ' xxa ' || replace(lower(p.email), '@', ' xxd ')"
            f" || ' xxz ', ' ') FROM participants p WHERE p.message_id = m.id AND {role_test}), '')")


# The document of message ``m`` as the values of mail_search's columns (after its rowid).
SQLITE_DOCUMENT = (
    "m.subject, "
    f"substr(coalesce(m.body_text, m.snippet, ''), 1, {BODY_CHARS}), "
    "coalesce(m.sender_name, '') || ' xxa ' || replace(lower(m.sender_email), '@', ' xxd ') || ' xxz ' || "
    + _sqlite_people("p.role = 'from'") + ", "
    + _sqlite_people("p.role <> 'from'") + ", "
    "coalesce((SELECT group_concat(a.filename, ' ') FROM attachments a WHERE a.message_id = m.id), ''), "
    "CASE WHEN EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND NOT a.inline) "
    "THEN 'xxhasattachment' ELSE '' END"
)


def _sqlite_refresh(message_id: str) -> str:
    """Statements (for a trigger body) that write message ``message_id``'s document again."""
    return (f"DELETE FROM mail_search WHERE rowid = {message_id}; "
            f"INSERT INTO mail_search (rowid, subject, body, sender, recipients, files, tags) "
            f"SELECT m.id, {SQLITE_DOCUMENT} FROM mail_messages m WHERE m.id = {message_id} AND m.deleted_at IS NULL;")


def sqlite_triggers() -> list[str]:
    statements = [
        f"CREATE TRIGGER mail_messages_search_insert AFTER INSERT ON mail_messages BEGIN "
        f"{_sqlite_refresh('NEW.id')} END",
        f"CREATE TRIGGER mail_messages_search_update AFTER UPDATE OF "
        f"subject, body_text, snippet, sender_email, sender_name, deleted_at ON mail_messages BEGIN "
        f"{_sqlite_refresh('NEW.id')} END",
        "CREATE TRIGGER mail_messages_search_delete AFTER DELETE ON mail_messages BEGIN "
        "DELETE FROM mail_search WHERE rowid = OLD.id; END",
    ]
    for table in ("participants", "attachments"):
        statements += [
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {_sqlite_refresh('NEW.message_id')} END",
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} BEGIN "
            f"{_sqlite_refresh('OLD.message_id')} {_sqlite_refresh('NEW.message_id')} END",
            f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {_sqlite_refresh('OLD.message_id')} END",
        ]
    return statements


SQLITE_TRIGGER_NAMES = ["mail_messages_search_insert", "mail_messages_search_update", "mail_messages_search_delete"] + [
    f"{table}_search_{event}" for table in ("participants", "attachments") for event in ("insert", "update", "delete")]


def create_sqlite_triggers(bind) -> None:
    for statement in sqlite_triggers():
        bind.exec_driver_sql(statement)


def _upgrade_sqlite(bind) -> None:
    bind.exec_driver_sql("CREATE VIRTUAL TABLE mail_search USING fts5("
                         "subject, body, sender, recipients, files, tags, "
                         "tokenize = 'unicode61 remove_diacritics 2')")
    create_sqlite_triggers(bind)
    bind.exec_driver_sql(f"INSERT INTO mail_search (rowid, subject, body, sender, recipients, files, tags) "
                         f"SELECT m.id, {SQLITE_DOCUMENT} FROM mail_messages m WHERE m.deleted_at IS NULL")


def _downgrade_sqlite(bind) -> None:
    for name in SQLITE_TRIGGER_NAMES:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    bind.exec_driver_sql("DROP TABLE IF EXISTS mail_search")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _upgrade_postgresql(bind)
    else:
        _upgrade_sqlite(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _downgrade_postgresql(bind)
    else:
        _downgrade_sqlite(bind)
