"""personal fields kept apart from the audit chain, erasure records, retention runs

- `audit_personal_values` (event, field, salt, value): the values of the fields a definition
  marks `personal: true`; the event's hashed payload holds only their digests.
- `audit_erasures` (event, field, kind, when, why, run): what the retention run erased.
- `retention_runs`: each run of `flask retention run`.
- `erased_at` on claims, visits, reports, tasks, household_notes and uploads: when the run
  erased the row's personal text (the text is then "", a visit's location NULL).

The database protects the new tables the way it protects the log: a personal value is never
updated, and deleted only once its erasure is recorded; an erasure record is never changed or
deleted. Events written before this migration keep their payloads and hashes as they are:
history is not rewritten (the chain forbids it); they verify as before.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ERASED_AT_TABLES = ("claims", "visits", "reports", "tasks", "household_notes", "uploads")


def upgrade():
    event_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'audit_personal_values',
        sa.Column('event_id', event_id, nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('event_id', 'field', name=op.f('pk_audit_personal_values')),
    )
    op.create_table(
        'retention_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('node', sa.String(length=128), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_runs')),
    )
    op.create_table(
        'audit_erasures',
        sa.Column('event_id', event_id, nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('erased_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['retention_runs.id'],
                                name=op.f('fk_audit_erasures_run_id_retention_runs')),
        sa.PrimaryKeyConstraint('event_id', 'field', name=op.f('pk_audit_erasures')),
    )
    with op.batch_alter_table('audit_erasures', schema=None) as batch_op:
        batch_op.create_index('ix_audit_erasures_run_id', ['run_id'], unique=False)
    for table in ERASED_AT_TABLES:
        # A nullable column without a default: added in place on both databases (no table copy).
        op.add_column(table, sa.Column('erased_at', sa.DateTime(), nullable=True))
    _protect()


def _protect():
    if op.get_bind().dialect.name == "postgresql":
        # baodao_append_only() comes from migration 0001.
        op.execute("CREATE TRIGGER audit_personal_values_no_update BEFORE UPDATE ON audit_personal_values "
                   "FOR EACH ROW EXECUTE FUNCTION baodao_append_only()")
        op.execute("""
            CREATE FUNCTION baodao_erase_recorded_first() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM audit_erasures e
                               WHERE e.event_id = OLD.event_id AND e.field = OLD.field) THEN
                    RAISE EXCEPTION 'audit_personal_values: DELETE refused without an erasure record'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN OLD;
            END $$;
        """)
        op.execute("CREATE TRIGGER audit_personal_values_erase_recorded BEFORE DELETE ON audit_personal_values "
                   "FOR EACH ROW EXECUTE FUNCTION baodao_erase_recorded_first()")
        op.execute("CREATE TRIGGER audit_personal_values_no_truncate BEFORE TRUNCATE ON audit_personal_values "
                   "FOR EACH STATEMENT EXECUTE FUNCTION baodao_append_only()")
        op.execute("CREATE TRIGGER audit_erasures_append_only BEFORE UPDATE OR DELETE ON audit_erasures "
                   "FOR EACH ROW EXECUTE FUNCTION baodao_append_only()")
        op.execute("CREATE TRIGGER audit_erasures_no_truncate BEFORE TRUNCATE ON audit_erasures "
                   "FOR EACH STATEMENT EXECUTE FUNCTION baodao_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_personal_values_no_update BEFORE UPDATE ON audit_personal_values "
                   "BEGIN SELECT RAISE(ABORT, 'audit_personal_values is append-only: UPDATE refused'); END")
        op.execute("CREATE TRIGGER audit_personal_values_erase_recorded BEFORE DELETE ON audit_personal_values "
                   "WHEN NOT EXISTS (SELECT 1 FROM audit_erasures e "
                   "WHERE e.event_id = OLD.event_id AND e.field = OLD.field) "
                   "BEGIN SELECT RAISE(ABORT, 'audit_personal_values: DELETE refused without an erasure record'); "
                   "END")
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_erasures_no_{action.lower()} BEFORE {action} ON audit_erasures "
                       f"BEGIN SELECT RAISE(ABORT, 'audit_erasures is append-only: {action} refused'); END")


def _unprotect():
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (("audit_personal_values_no_update", "audit_personal_values"),
                               ("audit_personal_values_erase_recorded", "audit_personal_values"),
                               ("audit_personal_values_no_truncate", "audit_personal_values"),
                               ("audit_erasures_append_only", "audit_erasures"),
                               ("audit_erasures_no_truncate", "audit_erasures")):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS baodao_erase_recorded_first()")
    else:
        for trigger in ("audit_personal_values_no_update", "audit_personal_values_erase_recorded",
                        "audit_erasures_no_update", "audit_erasures_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def downgrade():
    _unprotect()
    for table in ERASED_AT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('erased_at')
    with op.batch_alter_table('audit_erasures', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_erasures_run_id')
    op.drop_table('audit_erasures')
    op.drop_table('retention_runs')
    op.drop_table('audit_personal_values')
