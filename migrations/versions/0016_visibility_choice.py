"""privacy chosen while writing (issue 19, part 4): a conversation's pending visibility offer

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:40:00.000000

Written to match backend/models/mail.py (tests/test_migrations.py compares them). A later mail
marked private or shared in the add-in does not change its conversation: the other visibility is
offered to the conversation's owner (backend/domain/privacy.py).
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: a batch rebuild of mail_threads would drop and recreate the
# table its messages refer to (ON DELETE CASCADE). SQLite adds and (3.35+) drops a plain nullable
# column in place.
def upgrade() -> None:
    op.add_column('mail_threads', sa.Column('visibility_offer', backend.models.base.Str(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column('mail_threads', 'visibility_offer')
