"""Migration 0007 on a database that already has members: each member's community becomes an
active registration accepted by the system, its chain starting with that event; both databases."""
import os

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from workflow import audit
from workflow.clock import district_year, utcnow
from workflow.extensions import db
from workflow.models import AuditEvent, Registration, User
from workflow.services import receipts, registrations

from tests.conftest import ADMIN_URL, _make_app


@pytest.fixture
def empty_database(backend, tmp_path):
    """The URL of a database with nothing in it (not even the schema)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    admin = make_url(ADMIN_URL)
    name = f"baodao_migrate_{os.getpid()}"

    def run(sql):
        with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database,
                             autocommit=True) as conn:
            conn.execute(sql)
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _old_data():
    """What a 0006 database holds: places, units, members typed in with a community, and others."""
    statements = [
        "INSERT INTO towns (id, code, name) VALUES (1, '370116001', '凤城街道')",
        "INSERT INTO communities (id, code, name, town_id, requires_location) VALUES "
        "(1, '370116001001', '东升社区居民委员会', 1, false), (2, '370116001002', '小曹村社区居民委员会', 1, false)",
        "INSERT INTO units (id, code, name) VALUES (1, 'lw001', '区委组织部')",
    ]
    users = [(1, "m1", "member", 1, 1), (2, "m2", "member", 1, 2), (3, "m3", "member", 1, None),
             (4, "s1", "staff", None, 1), (5, "sup", "supervisor", 1, None)]
    for ident, username, role, unit, community in users:
        statements.append(
            "INSERT INTO users (id, username, name, role, password_hash, active, unit_id, community_id, created_at) "
            f"VALUES ({ident}, '{username}', '{username}', '{role}', 'x', true, {unit or 'NULL'}, "
            f"{community or 'NULL'}, '2026-01-05 08:00:00')")
    for sql in statements:
        db.session.execute(text(sql))
    db.session.commit()


def test_existing_members_become_active_registrations(empty_database, tmp_path):
    old = _make_app(empty_database, tmp_path)
    with old.app_context():
        upgrade(revision="0006")
        _old_data()
        if db.engine.dialect.name == "postgresql":  # ids were given by hand: move the sequence on
            db.session.execute(text("SELECT setval('users_id_seq', 10)"))
            db.session.commit()
        before = utcnow()
        upgrade()
        session = db.session
        rows = session.scalars(select(Registration).order_by(Registration.member_id)).all()
        assert [(r.member_id, r.community_id, r.state, r.accepted_by_id, r.grid_id) for r in rows] == [
            (1, 1, "active", None, None), (2, 2, "active", None, None)]  # m3 had no community; staff are not members
        year = district_year(before)
        assert all(r.term_year == year and r.accepted_at >= before.replace(microsecond=0) for r in rows)
        chains = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "registration")
                                 .order_by(AuditEvent.subject_id)).all()
        assert [(e.subject_id, e.seq, e.trigger, e.from_state, e.to_state, e.actor_id, e.actor_role,
                 e.definition, e.prev_hash) for e in chains] == [
            (r.id, 1, "accept", "new", "active", None, "system", "registration@1", None) for r in rows]
        assert chains[0].payload == {"community_id": 1, "source": "migration", "term_year": year}
        assert audit.verify(session).ok
        # The member's community is the registration's; nothing else moved.
        assert [u.community_id for u in session.scalars(select(User).order_by(User.id))] == [1, 2, None, 1, None]
        m1 = session.get(User, 1)
        assert registrations.live_registration(session, 1).community_id == m1.community_id == 1
        report = receipts.receipt(session, m1.unit)
        assert report.unregistered == 1 and [line.name for line in report.lines][0] == "m3"
        # The migrated registrations run on the engine like any other.
        ended = registrations.fire(rows[0].id, "end", m1, {"reason": "moved"})
        assert ended.state == "ended" and ended.version == 2
        session.expire_all()
        assert session.get(User, 1).community_id is None
        assert audit.verify(session).ok
        db.session.remove()
        db.engine.dispose()
