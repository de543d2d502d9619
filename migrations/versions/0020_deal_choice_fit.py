"""the deal ranking's points fitted on a company's own picks (issue 19, part 2)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 02:00:00.000000

Written to match backend/models/company.py (tests/test_migrations.py compares them). Null (every
company today) means the fixed points of backend/domain/dealrank.py; backend/domain/dealfit.py
fills it once a company has enough picks of its own, and refits it as more arrive.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deal_choice_fit', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('deal_choice_fit')
