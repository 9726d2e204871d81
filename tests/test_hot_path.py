"""The transition hot path does less per request (issue 17) without doing anything less: counted
statements, statements built once per kind of actor, the subject written without the unit of
work — and the same rows, events and chains as before. No timing here (docs/performance.md)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from workflow import audit
from workflow.errors import NotFound
from workflow.extensions import db
from workflow.models import AuditEvent, AuditPersonalValue, Claim, Visit
from workflow.services import claims, scope, subjects


def _statements(fn):
    seen = []

    def count(conn, cursor, statement, params, context, executemany):
        verb = statement.split(None, 1)[0].upper()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK"):  # SQLite's BEGIN IMMEDIATE is a statement here
            seen.append(verb)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return result, seen


def test_a_check_in_writes_claim_visit_event_and_value_in_the_fewest_statements(app, world, session, backend):
    task = world.task()
    claim = claims.start_claim(task.id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "第一次"})
    session.rollback()

    result, seen = _statements(lambda: claims.fire(claim.id, "check_in", world.member, {"note": "入户走访"}))
    # the lock, the visit, then the claim's UPDATE, the event and its personal value: one statement on
    # PostgreSQL (data-modifying WITHs), three on SQLite; never a flush of the unit of work after it
    expected = ["SELECT", "INSERT", "WITH"] if backend == "postgresql" else ["SELECT", "INSERT", "UPDATE", "INSERT",
                                                                             "INSERT"]
    assert seen == expected
    assert result.version == 3 and result.state == "visiting"

    session.rollback()
    stored = session.get(Claim, claim.id)
    session.refresh(stored)
    assert (stored.state, stored.version, stored.visit_count) == ("visiting", 3, 2)
    assert session.scalar(select(Visit.note).order_by(Visit.id.desc()).limit(1)) == "入户走访"
    last = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                    AuditEvent.subject_id == claim.id)
                           .order_by(AuditEvent.seq.desc())).first()
    assert last.seq == 3 and last.trigger == "check_in"
    value = session.get(AuditPersonalValue, (last.id, "note"))
    assert value is not None and value.value == '"入户走访"'
    assert audit.verify(session, subject=f"claim:{claim.id}").ok


def test_lock_statements_are_built_once_per_kind_of_actor_and_keep_the_scope(app, world, session):
    def lock_statement(actor):
        return scope.statement_for("lock_claim", actor, subjects._lock_claim_with_task)

    other_member = SimpleNamespace(role="member", id=999, community_id=1, scope_town_id=None, unit_id=7)
    assert lock_statement(world.member) is lock_statement(other_member)  # same shape: the same object
    assert lock_statement(world.staff) is not lock_statement(world.member)
    assert lock_statement(world.supervisor_town) is not lock_statement(world.supervisor)
    assert scope.shape_params(world.staff) == {"scope_id": world.staff.id, "scope_community_id": world.a.id}

    task = world.task()
    mine = claims.start_claim(task.id, world.member)
    theirs = claims.start_claim(task.id, world.member2)
    session.rollback()
    # the scope still holds through the shared statement: another member's claim is not found
    for actor, claim_id in ((world.member, theirs.id), (world.staff_b, mine.id), (world.supervisor_other_town, mine.id)):
        with pytest.raises(NotFound):
            claims.fire(claim_id, "check_in", actor, {"note": "x"})
        session.rollback()
    assert claims.fire(mine.id, "check_in", world.member, {"note": "x"}).state == "visiting"


def test_no_rate_limit_check_runs_on_requests_without_a_limit(app):
    from api.security import limiter
    hooks = app.before_request_funcs.get(None, [])
    assert limiter._check_request_limit not in hooks
    # the failed-login limits themselves are tested in tests/security/test_login_and_headers.py
