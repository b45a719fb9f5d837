"""X reads per day: the counter of the daily cap on posts read from X (X_MAX_READS_PER_DAY)

Revision ID: c7d9e1f3a5b2
Revises: b4e6a8c0d2f1
Create Date: 2026-12-02 17:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c7d9e1f3a5b2'
down_revision = 'b4e6a8c0d2f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'x_reads',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('posts', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_x_reads')),
    )


def downgrade():
    op.drop_table('x_reads')
