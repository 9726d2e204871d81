"""registrations: a member's 报到 with the community where they live

A member's community used to be a field an admin typed in (users.community_id). From this
revision a member reports to a community by the registration process
(workflow/definitions/registration/v1.yaml), and a member's community is their active
registration's. Every existing member with a community gets an active registration there,
accepted by the system now, for this calendar year's term (Asia/Shanghai), its audit chain
starting with that `accept` event (from the process's initial state `new`). Their
users.community_id stays as it was: it is the registration's community, kept in step from
now on by the registration's effects.

The event hash is computed here by the rule workflow/audit.py verifies, written out in full
so that this migration keeps producing the same chains whatever the code becomes.

Revision ID: 0009
Revises: 0008
"""
import hashlib
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")
DEFINITION = "registration@1"
BATCH = 1000


def upgrade():
    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition_name', sa.String(length=64), nullable=False),
    sa.Column('definition_version', sa.Integer(), nullable=False),
    sa.Column('skills', sa.String(length=200), nullable=False),
    sa.Column('availability', sa.String(length=200), nullable=False),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('term_year', sa.Integer(), nullable=True),
    sa.Column('term_ends_at', sa.DateTime(), nullable=True),
    sa.Column('last_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_registrations_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'],
                            name=op.f('fk_registrations_community_id_communities')),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_registrations_grid_id_grids')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_registrations_member_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrations_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index('ix_registrations_community_state', ['community_id', 'state'], unique=False)
        batch_op.create_index('ix_registrations_state_term', ['state', 'term_ends_at'], unique=False)
    # At most one live registration per member: the database's own guard under the services' lock.
    op.create_index('uq_registrations_live_member', 'registrations', ['member_id'], unique=True,
                    sqlite_where=sa.text("state IN ('applied', 'active')"),
                    postgresql_where=sa.text("state IN ('applied', 'active')"))
    register_existing_members()


def downgrade():
    # The registrations' audit events stay: the log is append-only (a downgrade is for development).
    op.drop_index('uq_registrations_live_member', table_name='registrations')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_state_term')
        batch_op.drop_index('ix_registrations_community_state')
        batch_op.drop_index(batch_op.f('ix_registrations_grid_id'))
        batch_op.drop_index(batch_op.f('ix_registrations_member_id'))
    op.drop_table('registrations')


# -- the data: existing members' communities become accepted registrations ------------------------

registrations = sa.table(
    'registrations', sa.column('id', sa.Integer), sa.column('member_id', sa.Integer),
    sa.column('community_id', sa.Integer), sa.column('grid_id', sa.Integer), sa.column('state', sa.String),
    sa.column('version', sa.Integer), sa.column('definition_name', sa.String),
    sa.column('definition_version', sa.Integer), sa.column('skills', sa.String), sa.column('availability', sa.String),
    sa.column('accepted_by_id', sa.Integer), sa.column('accepted_at', sa.DateTime),
    sa.column('term_year', sa.Integer), sa.column('term_ends_at', sa.DateTime),
    sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime))
audit_events = sa.table(
    'audit_events', sa.column('subject_type', sa.String), sa.column('subject_id', sa.Integer),
    sa.column('seq', sa.Integer), sa.column('trigger', sa.String), sa.column('from_state', sa.String),
    sa.column('to_state', sa.String), sa.column('actor_id', sa.Integer), sa.column('actor_role', sa.String),
    sa.column('created_at', sa.DateTime), sa.column('payload', sa.JSON), sa.column('request_id', sa.String),
    sa.column('definition', sa.String), sa.column('prev_hash', sa.String), sa.column('hash', sa.String))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _event_hash(fields: dict) -> str:
    """sha256("" ‖ canonical JSON of the hashed fields): the first event of a chain has no previous hash."""
    return hashlib.sha256(_canonical(fields).encode("utf-8")).hexdigest()


def register_existing_members(now: datetime | None = None) -> int:
    bind = op.get_bind()
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    year = now.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).year
    term_ends_at = datetime(year + 1, 1, 1, tzinfo=DISTRICT_TZ).astimezone(timezone.utc).replace(tzinfo=None)
    members = bind.execute(sa.text(
        "SELECT id, community_id FROM users WHERE role = 'member' AND community_id IS NOT NULL ORDER BY id")).all()
    for start in range(0, len(members), BATCH):
        bind.execute(registrations.insert(), [{
            "member_id": member_id, "community_id": community_id, "grid_id": None, "state": "active", "version": 1,
            "definition_name": "registration", "definition_version": 1, "skills": "", "availability": "",
            "accepted_by_id": None, "accepted_at": now, "term_year": year, "term_ends_at": term_ends_at,
            "created_at": now, "updated_at": now,
        } for member_id, community_id in members[start:start + BATCH]])
    created = bind.execute(sa.text("SELECT id, community_id FROM registrations ORDER BY id")).all()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # workflow.clock.iso
    events = []
    for registration_id, community_id in created:
        fields = {"subject_type": "registration", "subject_id": registration_id, "seq": 1, "trigger": "accept",
                  "from_state": "new", "to_state": "active", "actor_id": None, "actor_role": "system",
                  "created_at": stamp, "payload": {"community_id": community_id, "source": "migration",
                                                   "term_year": year},
                  "request_id": None, "definition": DEFINITION}
        events.append({**fields, "created_at": now, "prev_hash": None, "hash": _event_hash(fields)})
        if len(events) == BATCH:
            bind.execute(audit_events.insert(), events)
            events = []
    if events:
        bind.execute(audit_events.insert(), events)
    return len(created)
