"""Job receipts: a background job's result, stored with its posts in one transaction

Revision ID: 9b3d5f7a1c20
Revises: 7e2a4c6b8d10
Create Date: 2026-12-02 10:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9b3d5f7a1c20'
down_revision = '7e2a4c6b8d10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_receipts',
        sa.Column('job_id', sa.String(length=80), nullable=False),
        sa.Column('result', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('job_id', name=op.f('pk_job_receipts')),
    )


def downgrade():
    op.drop_table('job_receipts')
