"""items you can work with (issue 20, part 3): deal stage, expected close date and lost reason;
person phones; the deals list sorted by value

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:10:00.000000

Written to match backend/models/crm.py (tests/test_migrations.py compares them).

- deals.stage is free text (at most 60 characters): each company names its own pipeline steps,
  and a table of stages per company would need its own pages before a deal could have one; the
  form offers common stages to pick from (a datalist), any other word is kept as typed.
- person_phones: like person_emails, without the uniqueness (a switchboard number is shared).
- ix_deals_company_value: the deals list sorted by value within a company. Sorting by last
  activity reads the items' live links (ix_thread_links_item_threads, revision 0017).
"""
from alembic import op
import sqlalchemy as sa
import backend.models.base


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', backend.models.base.Str(length=60), nullable=True))
        batch_op.add_column(sa.Column('expected_close_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('lost_reason', backend.models.base.Str(length=300), nullable=True))
    op.create_index('ix_deals_company_value', 'deals', ['company_id', 'value'], unique=False)

    op.create_table(
        'person_phones',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('person_id', BIG_ID, nullable=False),
        sa.Column('phone', backend.models.base.Str(length=40), nullable=False),
        sa.Column('label', backend.models.base.Str(length=32), nullable=False),
        sa.Column('company_id', BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_person_phones_company_id_companies'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_phones_person_id_persons'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_phones')),
    )
    op.create_index(op.f('ix_person_phones_company_id'), 'person_phones', ['company_id'], unique=False)
    op.create_index(op.f('ix_person_phones_person_id'), 'person_phones', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_person_phones_person_id'), table_name='person_phones')
    op.drop_index(op.f('ix_person_phones_company_id'), table_name='person_phones')
    op.drop_table('person_phones')
    op.drop_index('ix_deals_company_value', table_name='deals')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_column('lost_reason')
        batch_op.drop_column('expected_close_date')
        batch_op.drop_column('stage')
