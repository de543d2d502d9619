"""views at a million messages (issue 18, part 4): index-only reads of a thread's live messages
and of an item's live links

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:00:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them).

- ix_mail_messages_thread_live (partial, live messages): each thread's newest message for the
  lists, and a deal's messages newest first, from index entries alone; only the rows of the page
  shown are then read (bench/mailbox.py: the deal view read every message of its 500 threads).
- ix_thread_links_item_threads replaces ix_thread_links_item (its first three columns): an
  item's live links and their threads without reading the links' rows.

Plain op.create_index (no batch): a batch on SQLite could rebuild the tables.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_mail_messages_thread_live', 'mail_messages', ['thread_id', 'sent_at', 'id', 'company_id'],
                    unique=False, postgresql_where=sa.text('deleted_at IS NULL'),
                    sqlite_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_thread_links_item_threads', 'thread_links',
                    ['company_id', 'item_type', 'item_id', 'removed', 'thread_id'], unique=False)
    op.drop_index('ix_thread_links_item', table_name='thread_links')


def downgrade() -> None:
    op.create_index('ix_thread_links_item', 'thread_links', ['company_id', 'item_type', 'item_id'], unique=False)
    op.drop_index('ix_thread_links_item_threads', table_name='thread_links')
    op.drop_index('ix_mail_messages_thread_live', table_name='mail_messages')
