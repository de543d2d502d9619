"""threads waiting for a deal choice: a partial index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:40:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them). The home page
counted these threads by reading every thread of the company (45 ms at 200,000 threads on
PostgreSQL); the partial index holds only the few that wait for a choice.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.create_index('ix_mail_threads_needs_choice',
                              ['company_id', 'owner_id', 'shared', 'auto', 'message_count'], unique=False,
                              postgresql_where=sa.text('needs_deal_choice IS TRUE'),
                              sqlite_where=sa.text('needs_deal_choice IS 1'))


def downgrade() -> None:
    with op.batch_alter_table('mail_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_threads_needs_choice')
