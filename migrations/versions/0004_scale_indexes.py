"""scale indexes: inbox paging and count from indexes, trigram search (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:30:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them):

- ``ix_mail_threads_inbox`` replaces ``ix_mail_threads_company_last``: same leading columns
  (company_id, last_message_at), plus id for the exact order and the columns the inbox filters
  on, so a page is picked without reading the threads it skips.
- ``ix_mail_threads_visible``: the inbox total, counted as own threads + colleagues' shared
  ones, each a range of this index.
- PostgreSQL only: the ``pg_trgm`` extension and a GIN trigram index on ``lower(column)`` for
  each column the inbox search looks in. pg_trgm ships with PostgreSQL (contrib) and is a
  trusted extension since PostgreSQL 13: the database owner may create it, no superuser needed.

Building these takes about a minute per million messages, during which writes to the two
tables wait.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SEARCHED_COLUMNS = ("subject", "snippet", "sender_email", "sender_name")


def upgrade() -> None:
    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_threads_company_last')
        batch_op.create_index('ix_mail_threads_inbox', ['company_id', 'last_message_at', 'id', 'owner_id', 'shared',
                                                        'auto', 'message_count'], unique=False)
        batch_op.create_index('ix_mail_threads_visible', ['company_id', 'shared', 'auto', 'message_count', 'owner_id'],
                              unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in SEARCHED_COLUMNS:
            op.create_index(f'ix_mail_messages_{column}_trgm', 'mail_messages',
                            [sa.func.lower(sa.column(column)).label(f'{column}_lower')], unique=False,
                            postgresql_using='gin', postgresql_ops={f'{column}_lower': 'gin_trgm_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for column in reversed(SEARCHED_COLUMNS):
            op.drop_index(f'ix_mail_messages_{column}_trgm', table_name='mail_messages')
        # The pg_trgm extension stays: other objects of the database may use it.

    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_threads_visible')
        batch_op.drop_index('ix_mail_threads_inbox')
        batch_op.create_index('ix_mail_threads_company_last', ['company_id', 'last_message_at'], unique=False)
