"""Fixtures: every test that takes `app` runs once on SQLite and once on PostgreSQL.

- SQLite: the schema is built once per session by the real migrations into a template
  file; each test gets a fresh copy of it.
- PostgreSQL: one database per test worker (`baodao_test_<worker>`), migrated once;
  each test starts from empty tables. TEST_DATABASE_URL names the server's admin
  database (`make test` sets it, starting a server when none answers).
Set BAODAO_TEST_BACKENDS=sqlite to run without PostgreSQL (never in CI).
"""
import os
import shutil
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api import create_app
from workflow.clock import utcnow
from workflow.extensions import db
from workflow.models import Community, Grid, Town, Unit, User
from workflow.services import tasks as task_service
from workflow.services.tx import write_transaction

BACKENDS = [b for b in os.environ.get("BAODAO_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "secret-pass-1"
TEST_DEFINITIONS = str(Path(__file__).resolve().parent / "definitions")  # dual_reporting@3: v1 + a hold


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _make_app(uri: str, tmp: Path, **extra):
    overrides = {"SQLALCHEMY_DATABASE_URI": uri, "TESTING": True, "SECRET_KEY": "test",
                 "BAODAO_UPLOAD_DIR": str(tmp / "uploads"),
                 "BAODAO_CHECKPOINT_KEY": str(tmp / "checkpoint_ed25519.pem"), **extra}
    return create_app(overrides)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    app = _make_app(f"sqlite:///{path}", path.parent)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    # One database per test process, so parallel runs (xdist workers, two checkouts) never collide.
    name = f"baodao_test_{_worker()}_{os.getpid()}"
    admin = make_url(ADMIN_URL)
    try:
        conn = psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                               dbname=admin.database, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {ADMIN_URL} does not answer ({exc}); run the tests with `make test`, "
                    "which starts one, or set BAODAO_TEST_BACKENDS=sqlite", pytrace=False)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    app = _make_app(url, tmp_path_factory.mktemp("pg-migrate"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                         dbname=admin.database, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    """Start a test from empty tables. Replica mode switches the append-only triggers off."""
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database,
                         autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app(request, backend, tmp_path):
    if backend == "sqlite":
        path = tmp_path / "baodao.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        uri = f"sqlite:///{path}"
    else:
        uri = request.getfixturevalue("postgres_url")
        _empty_postgres(uri)
    # @pytest.mark.app_config(KEY=value, …): this test's app is made with these settings too.
    marker = request.node.get_closest_marker("app_config")
    application = _make_app(uri, tmp_path, **(marker.kwargs if marker else {}))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture(scope="session")
def password_hash():
    user = User(username="x", name="x", role="admin")
    user.set_password(PASSWORD)
    return user.password_hash


class World:
    """A small district: one town with communities A and B, two units, one user of each kind (and
    a liaison of each unit)."""

    def __init__(self, password_hash):
        with write_transaction() as s:
            self.town = Town(code="370116001", name="凤城街道")
            self.other_town = Town(code="370116002", name="张家洼街道")
            self.a = Community(code="370116001001", name="东升社区居民委员会", town=self.town)
            self.b = Community(code="370116001002", name="小曹村社区居民委员会", town=self.town)
            self.c = Community(code="370116002001", name="张家洼社区居民委员会", town=self.other_town)
            self.unit1 = Unit(code="lw001", name="区委组织部")
            self.unit2 = Unit(code="lw002", name="区教育和体育局")
            self.grid_a = Grid(community=self.a, name="第一网格")
            s.add_all([self.town, self.other_town, self.a, self.b, self.c, self.unit1, self.unit2, self.grid_a])
            s.flush()

            def user(username, role, **kw):
                u = User(username=username, name=username, role=role, password_hash=password_hash, **kw)
                s.add(u)
                return u

            self.member = user("member_a1", "member", unit=self.unit1, community=self.a)
            self.member2 = user("member_a2", "member", unit=self.unit2, community=self.a)
            self.member3 = user("member_c1", "member", unit=self.unit2, community=self.c)
            self.staff = user("staff_a", "staff", community=self.a)
            self.staff_b = user("staff_b", "staff", community=self.b)
            self.staff_c = user("staff_c", "staff", community=self.c)
            self.supervisor = user("sup_district", "supervisor")
            self.supervisor_town = user("sup_town", "supervisor", scope_town=self.town)
            self.supervisor_other_town = user("sup_town2", "supervisor", scope_town=self.other_town)
            self.supervisor_unit = user("sup_unit", "supervisor", unit=self.unit1)
            self.liaison = user("liaison_1", "liaison", unit=self.unit1)  # acts for unit 1 (结对共建)
            self.liaison2 = user("liaison_2", "liaison", unit=self.unit2)
            self.admin = user("admin", "admin")

    def task(self, staff=None, publish=True, **fields):
        staff = staff or self.staff
        data = {"title": "为独居老人购买取暖用品", "category": "微心愿", "capacity": 2, "points": 10,
                "deadline": (utcnow() + timedelta(days=10)).isoformat(), "address": "东升社区党群服务中心",
                "household_note": "王大爷，电话 13800000000，3号楼2单元"}
        data.update(fields)
        task = task_service.create_task(staff, data)
        if publish:
            task = task_service.publish_task(task.id, staff)
        return task


@pytest.fixture
def world(app, password_hash):
    return World(password_hash)
