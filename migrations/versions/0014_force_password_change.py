"""users.must_change_password: a forced password change at the next login

Set when an administrator sets or generates a user's password (a new user created on the admin
page or by import, a reset); cleared when the user sets a password of their own. While it is set
the person reaches only the change-password page, and the API answers 403
`password_change_required` on everything but POST /api/v1/me/password (docs/security.md).

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (SQLite takes NOT NULL with a constant default): batch mode would copy and
    # drop `users`, which SQLite refuses while other tables' rows point at it (foreign keys on).
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('must_change_password')
