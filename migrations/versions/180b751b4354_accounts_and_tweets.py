"""Accounts and their tweets with embeddings

Revision ID: 180b751b4354
Revises: 
Create Date: 2026-11-26 18:01:57.137286

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '180b751b4354'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accounts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=15), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('profile_image_url', sa.String(length=500), nullable=True),
    sa.Column('followers_count', sa.Integer(), nullable=True),
    sa.Column('following_count', sa.Integer(), nullable=True),
    sa.Column('profile_tweet_count', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('newest_tweet_id', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    # Usernames are unique case-insensitively (X treats @Foo and @foo as one account).
    op.create_index('uq_accounts_username_lower', 'accounts', [sa.text('lower(username)')], unique=True)
    op.create_table('tweets',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=False),
    sa.Column('embedding_model', sa.String(length=80), nullable=False),
    sa.Column('embedding_dim', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_tweets_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tweets'))
    )
    with op.batch_alter_table('tweets', schema=None) as batch_op:
        batch_op.create_index('ix_tweets_account_id_created_at', ['account_id', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('tweets', schema=None) as batch_op:
        batch_op.drop_index('ix_tweets_account_id_created_at')

    op.drop_table('tweets')
    op.drop_index('uq_accounts_username_lower', table_name='accounts')
    op.drop_table('accounts')
