"""search pages read from the newest matches (issue 18, part 3): each company's live messages
newest first

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 02:30:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them).

- ix_mail_messages_company_live (partial, live messages): a search for a common word reads the
  company's matching messages newest first (backend/domain/search.newest_matches) and stops once
  its page's threads are found. On PostgreSQL, walking the primary key backwards instead first
  passes every newer message of the other companies (bench/mailbox.py: 100,000 of them); SQLite
  walks its FTS5 index by rowid and does not use it.

Plain op.create_index (no batch): a batch on SQLite could rebuild the tables.
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_mail_messages_company_live', 'mail_messages', ['company_id', 'id'], unique=False,
                    postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_mail_messages_company_live', table_name='mail_messages')
