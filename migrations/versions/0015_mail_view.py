"""mail that reads like mail (issue 20, part 2): the user's time zone, the rep's note on a forward

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:50:00.000000

Written to match backend/models (tests/test_migrations.py compares them). users.time_zone is an
IANA name the user chose on Settings > Your account (NULL: the browser's zone);
mail_messages.forward_note keeps what the rep wrote above a forwarded mail. Mail logged before
this revision has no note (its forward was read without keeping one).
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', backend.models.base.Str(length=64), nullable=True))
    # Not in batch mode: SQLite would copy mail_messages, and the full-text triggers of 0011 name it.
    op.add_column('mail_messages', sa.Column('forward_note', backend.models.base.LongText(), nullable=True))


def downgrade() -> None:
    op.drop_column('mail_messages', 'forward_note')  # SQLite 3.35+ drops a column in place
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
