"""sent announcements keep an On-Behalf-Of access token for their own looks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sent_announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_token_enc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('access_expires_at', backend.models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sent_announcements', schema=None) as batch_op:
        batch_op.drop_column('access_expires_at')
        batch_op.drop_column('access_token_enc')
