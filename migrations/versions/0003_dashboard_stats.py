"""Supervisor dashboard rollup (stats_claims, stats_units, stats_refresh) and claims(state, id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_claims'))
    )
    with op.batch_alter_table('stats_claims', schema=None) as batch_op:
        batch_op.create_index('ix_stats_claims_town_unit', ['town_id', 'unit_id'], unique=False)

    op.create_table('stats_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('verified_timed', sa.Integer(), nullable=False),
    sa.Column('verify_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_units'))
    )
    with op.batch_alter_table('stats_units', schema=None) as batch_op:
        batch_op.create_index('ix_stats_units_town_unit', ['town_id', 'unit_id'], unique=False)

    op.create_table('stats_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(), nullable=False),
    sa.Column('last_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_refresh'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_state_id', ['state', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_state_id')

    op.drop_table('stats_refresh')
    with op.batch_alter_table('stats_units', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_units_town_unit')

    op.drop_table('stats_units')
    with op.batch_alter_table('stats_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_claims_town_unit')

    op.drop_table('stats_claims')
