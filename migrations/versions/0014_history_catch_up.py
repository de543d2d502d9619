"""history that catches up (issue 19, part 3): how many days of a person's conversations a new deal, lead or project takes in

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:30:00.000000

Written to match backend/models/company.py (tests/test_migrations.py compares them). When a deal,
lead or project is created for a person (or a person gains an open deal), their unlinked
conversations of the last ``history_catch_up_days`` days are linked to it (backend/domain/history.py);
0 turns it off.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history_catch_up_days', sa.Integer(), server_default='90', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('history_catch_up_days')
