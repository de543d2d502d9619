"""announced mail is an expectation: its subject and recipients, when its copy was logged, dismissed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00.000000

Written to match backend/models/providers.py (tests/test_migrations.py compares them). An
announcement whose copy has not been stored after SMARTBCC_NOT_LOGGED_AFTER_MINUTES is listed to
its rep as not logged (backend/domain/expectations.py).
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sent_announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=998), nullable=True))
        batch_op.add_column(sa.Column('recipients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('logged_at', backend.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('logged_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', backend.models.base.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sent_announcements_logged_message_id_mail_messages'),
                                    'mail_messages', ['logged_message_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_sent_announcements_waiting', ['user_id', 'logged_at', 'dismissed_at', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sent_announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_sent_announcements_waiting')
        batch_op.drop_constraint(batch_op.f('fk_sent_announcements_logged_message_id_mail_messages'),
                                 type_='foreignkey')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('logged_message_id')
        batch_op.drop_column('logged_at')
        batch_op.drop_column('recipients')
        batch_op.drop_column('subject')
