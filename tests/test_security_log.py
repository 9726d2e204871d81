"""The security log (等保 2.0 security audit): administrators' actions and exports on hash chains of
their own (subject type "admin", one chain per actor) that verify-chain and checkpoints cover, a
search page for admins, and log retention that never touches the audit log. Both databases."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.pages.conftest import browse  # noqa: F401  (fixture)
from tests.test_audit import tamper, verify_cli
from workflow import audit
from workflow.clock import utcnow
from workflow.models import ApiToken, AuditEvent, LoginAttempt
from workflow.services import auth as auth_service
from workflow.services import retention, security_log
from workflow.services import users as user_service
from workflow.services.tx import write_transaction

STRONG = "violet-harbour-lamp-7"


def admin_events(session, actor_id=None):
    query = select(AuditEvent).where(AuditEvent.subject_type == "admin")
    if actor_id is not None:
        query = query.where(AuditEvent.subject_id == actor_id)
    return session.scalars(query.order_by(AuditEvent.subject_id, AuditEvent.seq)).all()


@pytest.fixture
def actions(world, session, tmp_path, app):
    """An administrator's day: create, edit, role and scope changes, a reset, a deactivation, an import."""
    admin = world.admin
    user = user_service.create_user(username="li_si", name="李四", role="member", password=STRONG,
                                    unit=world.unit1.code, community=world.a.code, actor=admin, request_id="r-1")
    user_service.update_user(user.id, name="李四四", role="member", unit=world.unit1.code, community=world.a.code,
                             actor=admin)
    user_service.update_user(user.id, name="李四四", role="member", unit=world.unit2.code, community=world.a.code,
                             actor=admin)
    user_service.update_user(user.id, name="李四四", role="staff", community=world.b.code, password=STRONG + "x",
                             actor=admin)
    user_service.set_active(user.id, False, actor=admin)
    path = tmp_path / "users.csv"
    path.write_text("username,name,role,unit,community,scope,password\n"
                    f"wang5,王五,staff,,{world.a.code},,\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["import-users", str(path)]).exit_code == 0  # the command line
    return user


def test_each_admin_action_is_an_event_on_the_actors_chain(app, world, session, actions):
    events = admin_events(session, world.admin.id)
    assert [e.trigger for e in events] == ["create_user", "edit_user", "change_scope", "change_role",
                                          "reset_password", "deactivate_user"]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e.actor_id == world.admin.id and e.actor_role == "admin" for e in events)
    assert events[0].request_id == "r-1" and events[0].payload["target"] == {"id": actions.id, "username": "li_si"}
    assert events[2].payload["unit_id"] == [world.unit1.id, world.unit2.id]
    assert events[3].payload["role"] == ["member", "staff"]
    text = json.dumps([e.payload for e in events], ensure_ascii=False)
    assert STRONG not in text and "scrypt" not in text  # never a password or a hash
    cli = admin_events(session, 0)  # the command line's chain
    assert [e.trigger for e in cli] == ["import_users"] and cli[0].payload["created"] == ["wang5"]
    assert audit.verify(session, subject=f"admin:{world.admin.id}").ok


def test_an_edited_security_event_is_caught_by_verify_chain(app, world, session, actions):
    assert verify_cli(app).exit_code == 0
    reset = next(e for e in admin_events(session, world.admin.id) if e.trigger == "reset_password")
    tamper(session, f"UPDATE audit_events SET payload = '{{\"password_reset\": false}}' WHERE id = {reset.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"admin:{world.admin.id} event {reset.id} (seq {reset.seq}): contents altered" in result.output
    one = verify_cli(app, "--subject", f"admin:{world.admin.id}")
    assert one.exit_code == 1 and "contents altered" in one.output


def test_a_deleted_security_chain_shows_against_the_checkpoint(app, world, session, actions, tmp_path):
    exported = tmp_path / "checkpoint.json"
    assert app.test_cli_runner().invoke(args=["checkpoint", "--export", str(exported)]).exit_code == 0
    assert f"admin:{world.admin.id}" in json.loads(exported.read_text())["heads"]
    tamper(session, f"DELETE FROM audit_events WHERE subject_type = 'admin' AND subject_id = {world.admin.id}",
           "DELETE FROM checkpoints")
    result = verify_cli(app, "--checkpoint", str(exported))
    assert result.exit_code == 1 and f"admin:{world.admin.id}" in result.output
    assert "chain recorded in the checkpoint is gone" in result.output


def test_the_split_verifier_covers_security_chains(app, world, session, actions, monkeypatch):
    monkeypatch.setattr(audit, "PARALLEL_FROM_EVENTS", 0)
    from workflow.services import claims
    claims.start_claim(world.task().id, world.member)  # so there are claims to split
    whole, split = audit.verify(session, workers=1), audit.verify(session, workers=2)
    assert split.ok and (split.checked, split.subjects) == (whole.checked, whole.subjects)
    first = admin_events(session, world.admin.id)[0]
    tamper(session, f"UPDATE audit_events SET trigger = 'edit_user' WHERE id = {first.id}")
    assert [p.event_id for p in audit.verify(session, workers=2).problems] == [first.id]


def test_supervisor_exports_and_downloads_are_recorded(app, world, session, browse):
    sup = browse("sup_district")
    assert sup.get("/supervisor/exports/download?kind=claims&fmt=csv").status_code == 200
    assert sup.get(f"/supervisor/feedback?unit={world.unit1.id}&format=xlsx").status_code == 200
    from tests.api.api_helpers import ApiClient
    assert ApiClient(app).get(f"/api/v1/units/{world.unit1.id}/feedback", world.supervisor).status_code == 200
    events = admin_events(session, world.supervisor.id)
    assert [e.trigger for e in events] == ["export", "download_feedback", "read_feedback"]
    assert events[0].payload["kind"] == "claims" and events[1].payload["unit"] == world.unit1.code
    assert all(e.actor_role == "supervisor" for e in events)


def test_only_admins_verify_security_chains(app, world, session, actions, browse):
    from workflow.errors import NotFound
    with pytest.raises(NotFound):
        auth_service.check_verify_access(session, world.supervisor, f"admin:{world.admin.id}")
    auth_service.check_verify_access(session, world.admin, f"admin:{world.admin.id}")
    sup = browse("sup_district")
    sup.get("/supervisor/")
    assert sup.post("/supervisor/verify", {"subject": f"admin:{world.admin.id}"}).status_code == 404


def test_the_security_log_page_searches_by_actor_action_and_date(app, world, browse, actions):
    admin = browse("admin")
    page = admin.get("/admin/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "安全审计" in html and "li_si" in html
    assert "重置密码" in admin.get("/admin/audit?action=reset_password").get_data(as_text=True)
    only_reset = admin.get("/admin/audit?action=reset_password").get_data(as_text=True)
    assert only_reset.count("<li>") == 1
    by_system = admin.get("/admin/audit?actor=system").get_data(as_text=True)
    assert "wang5" in by_system and "li_si" not in by_system
    by_admin = admin.get("/admin/audit?actor=ADMIN").get_data(as_text=True)  # any case
    assert by_admin.count("<li>") == 6
    today = utcnow().date()
    assert admin.get(f"/admin/audit?start={today - timedelta(days=1)}&end={today + timedelta(days=1)}"
                     ).get_data(as_text=True).count("<li>") == 7
    assert admin.get("/admin/audit?start=2001-01-01&end=2001-01-02").get_data(as_text=True).count("<li>") == 0
    # Bad input: the form says so, never a 500.
    for query in ("start=0001-01-01", "end=9999-12-31", "start=yesterday", "page=0", "action=drop_table",
                  "page=99999999999999999999"):
        response = admin.get(f"/admin/audit?{query}")
        assert response.status_code == 200, (query, response.status_code)
    assert browse("sup_district").get("/admin/audit").status_code == 403


# -- retention -------------------------------------------------------------------------------------

def test_purge_logs_keeps_six_months_and_never_touches_the_audit_log(app, world, session, actions):
    old, recent = utcnow() - timedelta(days=200), utcnow() - timedelta(days=100)
    with write_transaction() as s:
        for at in (old, recent):
            s.add(LoginAttempt(at=at, username="x", username_key="x", address="198.51.100.1", channel="api",
                               ok=False))
            s.add(ApiToken(user_id=world.member.id, token_hash=f"{at.timestamp():064.0f}"[:64], created_at=at,
                           expires_at=at + timedelta(hours=12)))
    live = auth_service.issue_token_for(world.member).record.id
    events_before = session.scalar(select(func.count(AuditEvent.id)))
    result = app.test_cli_runner().invoke(args=["purge-logs"])
    assert result.exit_code == 0 and "purged 1 login records and 1 ended sessions/tokens" in result.output
    assert session.scalars(select(LoginAttempt.at)).all() == [recent]
    assert session.get(ApiToken, live) is not None
    assert session.scalar(select(func.count(AuditEvent.id))) == events_before
    too_short = app.test_cli_runner().invoke(args=["purge-logs", "--days", "179"])
    assert too_short.exit_code == 1 and "at least 180 days" in too_short.output
    with pytest.raises(ValueError):
        retention.check_days(30)


def test_an_app_configured_below_six_months_does_not_start(app):
    from tests.conftest import _make_app
    from tests.security.test_sessions_and_lockout import tmp_path_of
    with pytest.raises(ValueError, match="at least 180 days"):
        _make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path_of(app), BAODAO_LOG_RETENTION_DAYS=90)


def test_the_security_log_is_append_only_like_the_rest(app, world, session, actions):
    from sqlalchemy import exc as sa_exc, text
    from workflow.extensions import db
    with pytest.raises(sa_exc.DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE subject_type = 'admin'"))


def test_record_refuses_unknown_actions(app, world):
    with pytest.raises(ValueError):
        with write_transaction() as s:
            security_log.record(s, world.admin, "rm_rf")
