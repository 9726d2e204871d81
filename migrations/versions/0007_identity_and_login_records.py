"""users.username_key (unique, case- and width-insensitive usernames) and login_attempts

- `users.username_key` = NFKC + case folding of the username (workflow/identity.py), with a
  unique index: `Admin` can no longer be created next to `admin`. Existing users are filled in
  here and keep their username and password. Where two existing usernames already share a key
  (say `Admin` and `admin`), the first (lowest id) keeps it and each later one gets `~<id>`
  appended — a form no new username can take (`~` is not allowed) — and still logs in by its
  exact username (services/auth.check_credentials looks up the exact name first).
- `login_attempts`: one row per login that reached the password check (docs/security.md).

Revision ID: 0007
Revises: 0006
"""
import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

KEY_MAX = 255


def _key(name):
    # workflow.identity.username_key as it was when this migration was written (a migration must
    # not change when the application's code does).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name or "").casefold()).strip()


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=KEY_MAX), nullable=False,
                                      server_default=''))
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('username_key', sa.String))
    taken = set()
    rows = conn.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    for ident, username in rows:
        key = _key(username)
        if not key or key in taken or len(key) > KEY_MAX:
            key = f"{key[:KEY_MAX - 16]}~{ident}"
        taken.add(key)
        conn.execute(users.update().where(users.c.id == ident).values(username_key=key))
    if conn.dialect.name == 'postgresql':
        op.alter_column('users', 'username_key', server_default=None)
    # A unique index rather than a constraint: SQLite adds it without rebuilding the table.
    op.create_index('ix_users_username_key', 'users', ['username_key'], unique=True)

    op.create_table(
        'login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('username_key', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_key_at', ['username_key', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_at', ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_at')
        batch_op.drop_index('ix_login_attempts_address_at')
        batch_op.drop_index('ix_login_attempts_key_at')
    op.drop_table('login_attempts')
    op.drop_index('ix_users_username_key', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('username_key')
