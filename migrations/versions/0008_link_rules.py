"""thread links remember the rule that made them and the facts it saw

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:00:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them). Reasons are
worded when they are read (backend/domain/reasons.py), from ``rule`` and ``facts``; links made
before keep their stored ``reason`` text.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('thread_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('thread_links', schema=None) as batch_op:
        batch_op.drop_column('facts')
        batch_op.drop_column('rule')
