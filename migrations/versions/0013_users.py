"""users and company management (issue 20): invitations, personal API tokens, session versions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:40:00.000000

Written to match backend/models/company.py (tests/test_migrations.py compares them). The single
users.api_token_hash stays (the token `smartbcc user create` prints keeps working); api_tokens
holds the named personal tokens made on Settings > Your account.
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_sign_in_at', backend.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', backend.models.base.UTCDateTime(), nullable=True))

    op.create_table(
        'invitations',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('email', backend.models.base.Str(length=320), nullable=False),
        sa.Column('name', backend.models.base.Str(length=200), nullable=True),
        sa.Column('role', backend.models.base.Str(length=16), nullable=False),
        sa.Column('invited_by_id', BIG_ID, nullable=True),
        sa.Column('nonce_hash', backend.models.base.Str(length=64), nullable=True),
        sa.Column('sent_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('expires_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('accepted_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('accepted_user_id', BIG_ID, nullable=True),
        sa.Column('revoked_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('company_id', BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(['accepted_user_id'], ['users.id'],
                                name=op.f('fk_invitations_accepted_user_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_invitations_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'],
                                name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_email'), ['email'], unique=False)

    op.create_table(
        'api_tokens',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('user_id', BIG_ID, nullable=False),
        sa.Column('name', backend.models.base.Str(length=100), nullable=False),
        sa.Column('token_hash', backend.models.base.Str(length=64), nullable=False),
        sa.Column('created_at', backend.models.base.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', backend.models.base.UTCDateTime(), nullable=True),
        sa.Column('company_id', BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_api_tokens_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_company_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_email'))
        batch_op.drop_index(batch_op.f('ix_invitations_company_id'))
    op.drop_table('invitations')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('last_sign_in_at')
        batch_op.drop_column('session_version')
