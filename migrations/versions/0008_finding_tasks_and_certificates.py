"""Finding tasks and the service record (issue 15): a task's activity time, a community's
contact and location, and the certificates members download

- tasks.activity_at: when the activity takes place, if it has a set time (optional);
- communities.contact_name, contact_phone, lat, lon: whom to call, and where the community's
  service centre is (a map link); set by the community's staff, unknown until then;
- certificates: one row per certificate issued (志愿服务记录证明): the signed statement, its
  Ed25519 signature and the code a QR code carries to /verify/<code>.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Double(), nullable=True))
    op.create_table(
        'certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('hours', sa.Double(), nullable=False),
        sa.Column('services', sa.Integer(), nullable=False),
        sa.Column('statement', sa.JSON(), nullable=False),
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_certificates_member_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
        sa.UniqueConstraint('code', name=op.f('uq_certificates_code')),
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_member_id'))
    op.drop_table('certificates')
    with op.batch_alter_table('communities', schema=None) as batch_op:
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('activity_at')
