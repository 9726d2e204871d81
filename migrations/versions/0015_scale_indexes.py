"""indexes for the 报到 reads at district scale (issue 17)

- ix_users_unit_members: a unit's active members by name (the receipt report lists every one; a
  large unit has 1,700), answered from the index alone;
- ix_unit_feedback_unit_month: a unit's verified work in a year (the receipt's "this year" column),
  a range of the index instead of the whole year's rows filtered by unit;
- ix_unit_feedback_member_month: members' verified work in a year (a community's roster), a range
  per member instead of the whole year's rows filtered by member.
On PostgreSQL the feedback indexes carry the columns the reads sum (INCLUDE), so the heap is not
visited. docs/performance.md has the figures.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_users_unit_members', 'users', ['unit_id', 'name', 'id'],
                    postgresql_where=sa.text("role = 'member' AND active"),
                    sqlite_where=sa.text("role = 'member' AND active"))
    op.create_index('ix_unit_feedback_unit_month', 'unit_feedback', ['unit_id', 'month'],
                    postgresql_include=['member_id', 'hours'])
    op.create_index('ix_unit_feedback_member_month', 'unit_feedback', ['member_id', 'month'],
                    postgresql_include=['claim_id', 'hours'])


def downgrade():
    op.drop_index('ix_unit_feedback_member_month', table_name='unit_feedback')
    op.drop_index('ix_unit_feedback_unit_month', table_name='unit_feedback')
    op.drop_index('ix_users_unit_members', table_name='users')
