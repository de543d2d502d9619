"""a stored copy keeps the add-in's X-SmartBcc-Ref, so its announcement is settled whichever
commits first

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:10:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them).

- mail_messages.smartbcc_ref: the Outlook add-in announces a mail with only its ref (Outlook gives
  no Message-ID before the send). When the announcement committed after the copy's persist looked
  for it (a slow announce, or the two transactions open at once), nothing could match the copy to
  it later and the mail was listed as not logged (backend/domain/expectations.py).
- ix_mail_messages_owner_ref (partial: only copies that carry a ref): that lookup, per rep.

Plain op.add_column/create_index (no batch): a batch on SQLite could rebuild the tables.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('mail_messages', sa.Column('smartbcc_ref', sa.String(length=200), nullable=True))
    op.create_index('ix_mail_messages_owner_ref', 'mail_messages', ['owner_id', 'smartbcc_ref'], unique=False,
                    postgresql_where=sa.text('smartbcc_ref IS NOT NULL'),
                    sqlite_where=sa.text('smartbcc_ref IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_mail_messages_owner_ref', table_name='mail_messages')
    op.drop_column('mail_messages', 'smartbcc_ref')
