"""claims.visit_count: how many visits a claim has, kept on the claim itself

The min_visits guard (and so every offer of submit_report) read a count of the visits
table; the count now travels with the claim row the transition has locked anyway, and
record_visit raises it in the same UPDATE that moves the state (docs/performance.md).
Existing claims are backfilled from the visits table.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_count', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE claims SET visit_count = (SELECT count(*) FROM visits WHERE visits.claim_id = claims.id) "
               "WHERE EXISTS (SELECT 1 FROM visits WHERE visits.claim_id = claims.id)")


def downgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_column('visit_count')
