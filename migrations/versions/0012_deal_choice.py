"""deal choice policy and ranking (issue 19): what happens when a conversation's contacts have several open deals

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:40:00.000000

Written to match backend/models/company.py (tests/test_migrations.py compares them). The policy
is ask (the default, today's behaviour), suggest or auto_when_confident; the threshold and margin
are what auto_when_confident needs (backend/domain/dealrank.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deal_choice_policy', sa.String(length=24), server_default='ask',
                                      nullable=False))
        batch_op.add_column(sa.Column('deal_choice_threshold', sa.Float(), server_default='0.8', nullable=False))
        batch_op.add_column(sa.Column('deal_choice_margin', sa.Float(), server_default='0.3', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('deal_choice_margin')
        batch_op.drop_column('deal_choice_threshold')
        batch_op.drop_column('deal_choice_policy')
