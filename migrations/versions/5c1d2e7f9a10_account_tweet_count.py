"""Accounts keep their stored tweet count (the model cache key, without a count query)

Revision ID: 5c1d2e7f9a10
Revises: 180b751b4354
Create Date: 2026-11-26 19:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c1d2e7f9a10'
down_revision = '180b751b4354'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tweet_count', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE accounts SET tweet_count = "
        "(SELECT count(*) FROM tweets WHERE tweets.account_id = accounts.id)"
    )


def downgrade():
    # SQLite drops a column by copying the table, which cannot carry an expression index: drop and recreate it.
    op.drop_index('uq_accounts_username_lower', table_name='accounts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('tweet_count')
    op.create_index('uq_accounts_username_lower', 'accounts', [sa.text('lower(username)')], unique=True)
