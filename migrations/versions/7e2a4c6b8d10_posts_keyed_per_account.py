"""Posts keyed per account, archive accounts under their own keys, a content version per account

A post's key becomes (account_id, id), so no upload can hold another account's post ids; accounts
imported from an archive move from the bare X user id to ``archive:<X id>``, a key no X fetch uses;
``content_version`` names the state of an account's posts in the model cache key.

Revision ID: 7e2a4c6b8d10
Revises: 5c1d2e7f9a10
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7e2a4c6b8d10'
down_revision = '5c1d2e7f9a10'
branch_labels = None
depends_on = None

FK = 'fk_tweets_account_id_accounts'
BARE_ARCHIVE_IDS = "SELECT id FROM accounts WHERE source = 'archive' AND id NOT LIKE '%:%'"


def _move_account_ids(prefix_sql: str, where_accounts: str, where_tweets: str) -> None:
    """Rewrite account keys and their posts' references together. SQLite runs the migrations with foreign
    keys off (env.py); PostgreSQL needs the foreign key dropped while both sides change."""
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.drop_constraint(FK, 'tweets', type_='foreignkey')
    op.execute(f"UPDATE tweets SET account_id = {prefix_sql.format(col='account_id')} WHERE {where_tweets}")
    op.execute(f"UPDATE accounts SET id = {prefix_sql.format(col='id')} WHERE {where_accounts}")
    if postgres:
        op.create_foreign_key(FK, 'tweets', 'accounts', ['account_id'], ['id'], ondelete='CASCADE')


COLUMNS = "id, account_id, text, created_at, embedding, embedding_model, embedding_dim"


def _key_tweets_by(key: list[str]) -> None:
    """Make ``key`` the tweets' primary key. SQLite cannot alter a key: the table is copied into a new one
    (foreign keys are off during migrations, env.py), which then takes the old one's name."""
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('pk_tweets', 'tweets', type_='primary')
        op.create_primary_key('pk_tweets', 'tweets', key)
        return
    op.create_table(
        'tweets_rekeyed',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('embedding', sa.LargeBinary(), nullable=False),
        sa.Column('embedding_model', sa.String(length=80), nullable=False),
        sa.Column('embedding_dim', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=FK, ondelete='CASCADE'),
        sa.PrimaryKeyConstraint(*key, name='pk_tweets'),
    )
    op.execute(f"INSERT INTO tweets_rekeyed ({COLUMNS}) SELECT {COLUMNS} FROM tweets")
    op.drop_index('ix_tweets_account_id_created_at', table_name='tweets')
    op.drop_table('tweets')
    op.rename_table('tweets_rekeyed', 'tweets')
    op.create_index('ix_tweets_account_id_created_at', 'tweets', ['account_id', 'created_at'])


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), server_default='0', nullable=False))
    _move_account_ids(
        "'archive:' || {col}",
        f"id IN ({BARE_ARCHIVE_IDS})",
        f"account_id IN ({BARE_ARCHIVE_IDS})",
    )
    _key_tweets_by(['account_id', 'id'])


def downgrade():
    # Post ids were global keys before: where two accounts hold one id, the row of the key sorting first stays.
    op.execute(
        "DELETE FROM tweets WHERE EXISTS (SELECT 1 FROM tweets AS other WHERE other.id = tweets.id "
        "AND other.account_id < tweets.account_id)"
    )
    _key_tweets_by(['id'])
    # An archive account whose bare X id is now an X account's key keeps its prefix.
    archived = "SELECT id FROM accounts WHERE id LIKE 'archive:%' AND substr(id, 9) NOT IN (SELECT id FROM accounts)"
    _move_account_ids("substr({col}, 9)", f"id IN ({archived})", f"account_id IN ({archived})")
    op.drop_index('uq_accounts_username_lower', table_name='accounts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('content_version')
    op.create_index('uq_accounts_username_lower', 'accounts', [sa.text('lower(username)')], unique=True)
