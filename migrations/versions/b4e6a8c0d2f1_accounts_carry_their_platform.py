"""Accounts carry their platform (x, bluesky, mastodon); a handle is unique per platform

Every account stored before this revision is an X one. Handles grow from X's 15 characters to a domain
name's 253 (Bluesky) or name@instance (Mastodon).

Revision ID: b4e6a8c0d2f1
Revises: 9b3d5f7a1c20
Create Date: 2026-12-02 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b4e6a8c0d2f1'
down_revision = '9b3d5f7a1c20'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('uq_accounts_username_lower', table_name='accounts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform', sa.String(length=10), server_default='x', nullable=False))
        batch_op.alter_column('username', type_=sa.String(length=300), existing_type=sa.String(length=15))
    op.create_index(
        'uq_accounts_platform_username_lower', 'accounts', ['platform', sa.text('lower(username)')], unique=True
    )


def downgrade():
    # Only X accounts fit the old schema (15-character handles unique across the app): the others go, posts first.
    op.execute(
        "DELETE FROM tweets WHERE account_id IN (SELECT id FROM accounts WHERE platform <> 'x')"
    )
    op.execute("DELETE FROM accounts WHERE platform <> 'x'")
    op.drop_index('uq_accounts_platform_username_lower', table_name='accounts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.alter_column('username', type_=sa.String(length=15), existing_type=sa.String(length=300))
        batch_op.drop_column('platform')
    op.create_index('uq_accounts_username_lower', 'accounts', [sa.text('lower(username)')], unique=True)
