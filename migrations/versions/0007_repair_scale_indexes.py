"""scale indexes for databases that skipped 0004

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 03:30:00.000000

0005 was first released revising 0003; 0004 (the scale indexes) was then put in between. A
database upgraded with that first release is stamped 0005 without ever having run 0004, and
``upgrade head`` would not run it. This runs 0004 there (recognised by its missing inbox index);
elsewhere it does nothing.
"""
import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _scale_indexes():
    path = Path(__file__).with_name('0004_scale_indexes.py')
    spec = importlib.util.spec_from_file_location('smartbcc_migration_0004', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    names = {index['name'] for index in sa.inspect(op.get_bind()).get_indexes('mail_threads')}
    if 'ix_mail_threads_inbox' not in names:
        _scale_indexes().upgrade()


def downgrade() -> None:
    pass  # what upgrade added belongs to 0004, whose downgrade removes it
