"""operator mailboxes: mail to postmaster@ and abuse@ at the mail domain, kept apart from CRM mail

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00.000000

Written to match backend/models/operator.py (tests/test_migrations.py compares them). RFC 5321
4.5.1 requires accepting postmaster@; these rows are never processed by the pipeline.
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator_mail',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mailbox', sa.String(length=16), nullable=False),
    sa.Column('envelope_from', sa.String(length=320), nullable=True),
    sa.Column('header_from', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('received_at', backend.models.base.UTCDateTime(), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_mail'))
    )
    with op.batch_alter_table('operator_mail', schema=None) as batch_op:
        batch_op.create_index('ix_operator_mail_received', ['received_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('operator_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_operator_mail_received')
    op.drop_table('operator_mail')
