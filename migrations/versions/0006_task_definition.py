"""tasks.definition_name/definition_version: the task lifecycle is a definition too

Tasks now run on the workflow engine like claims (workflow/definitions/task/v1.yaml) and
pin the definition version they were created under. Every existing task started under
the hand-coded lifecycle that task@1 writes down, so they are all pinned to task@1.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_name', sa.String(length=64), nullable=False,
                                      server_default='task'))
        batch_op.add_column(sa.Column('definition_version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('definition_version')
        batch_op.drop_column('definition_name')
