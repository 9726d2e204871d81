"""The transition hot path does less per request (issue 17) without doing anything less: counted
statements, statements built once per kind of actor, the subject written without the unit of
work — and the same rows, events and chains as before. No timing here (docs/performance.md)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from workflow import audit
from workflow.errors import NotFound
from workflow.extensions import db
from workflow.models import AuditEvent, AuditPersonalValue, Claim, Notification, PointsEntry, UnitFeedback, Visit
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
    # the lock (on PostgreSQL drawing the visit's id), then the claim's UPDATE, the visit, the event and its
    # personal value: one statement on PostgreSQL (data-modifying WITHs), four on SQLite; never a flush of the
    # unit of work after it
    expected = ["SELECT", "WITH"] if backend == "postgresql" else ["SELECT", "INSERT", "UPDATE", "INSERT", "INSERT"]
    assert seen == expected
    assert result.version == 3 and result.state == "visiting"

    session.rollback()
    stored = session.get(Claim, claim.id)
    session.refresh(stored)
    assert (stored.state, stored.version, stored.visit_count) == ("visiting", 3, 2)
    visit = session.scalars(select(Visit).order_by(Visit.id.desc()).limit(1)).one()
    assert (visit.claim_id, visit.note, visit.photo_ids, visit.lat) == (claim.id, "入户走访", [], None)
    last = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                    AuditEvent.subject_id == claim.id)
                           .order_by(AuditEvent.seq.desc())).first()
    assert last.seq == 3 and last.trigger == "check_in" and last.payload["visit_id"] == visit.id
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


def _reported_claim(world, task, member):
    claim = claims.start_claim(task.id, member)
    claims.fire(claim.id, "check_in", member, {"note": "入户"})
    claims.fire(claim.id, "submit_report", member, {"summary": "走访", "hours": 2.5, "households": 3})
    return claim


def _written_by_approve(session, claim_id):
    """What an approve wrote about a claim, without ids and times that differ from claim to claim."""
    entry = session.scalars(select(PointsEntry).where(PointsEntry.claim_id == claim_id)).one()
    feedback = session.scalars(select(UnitFeedback).where(UnitFeedback.claim_id == claim_id)).one()
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                     AuditEvent.subject_id == claim_id, AuditEvent.trigger == "approve")
                            ).one()
    notices = session.scalars(select(Notification).where(Notification.subject_type == "claim",
                                                         Notification.subject_id == claim_id,
                                                         Notification.kind == "claim_approved")).all()
    assert event.payload == {"points_entry_id": entry.id}  # the event names the ledger row it wrote
    return ((entry.member_id, entry.unit_id, entry.points, entry.kind, entry.note, entry.reverses_id),
            (feedback.unit_id, feedback.member_id, feedback.month, feedback.hours, feedback.households,
             feedback.points, feedback.verified_by_id),
            (event.seq, event.from_state, event.to_state, event.actor_id, event.actor_role, event.definition),
            [(n.user_id, n.params) for n in notices])


def test_an_approve_sends_its_ledger_rows_with_the_event_and_writes_what_separate_statements_did(
        app, world, session, backend, monkeypatch):
    from workflow.engine import effects
    from workflow.engine.machines import DefinitionRegistry

    task = world.task(capacity=2)
    together, apart = _reported_claim(world, task, world.member), _reported_claim(world, task, world.member2)
    session.rollback()

    result, seen = _statements(lambda: claims.fire(together.id, "approve", world.staff, {}))
    # PostgreSQL: the lock (drawing the points entry's id; reading the claimant, whose active flag says
    # whether they are told), then the claim's UPDATE, the points entry, the unit feedback and the event
    # in one statement (data-modifying WITHs), the notification. SQLite: each row on its own, as before.
    expected = (["SELECT", "WITH", "INSERT"] if backend == "postgresql"
                else ["SELECT", "INSERT", "INSERT", "UPDATE", "INSERT", "INSERT"])
    assert seen == expected
    assert result.state == "verified"

    # The same approve with each row written by a statement of its own (as before the change).
    def at_once(ctx, statement, params):
        ctx.session.connection().execute(statement, params)
    monkeypatch.setattr(effects, "_with_event", at_once)
    monkeypatch.setattr(DefinitionRegistry, "draws", lambda self, subject, trigger: ())
    _, seen_apart = _statements(lambda: claims.fire(apart.id, "approve", world.staff, {}))
    if backend == "postgresql":
        assert seen_apart == ["SELECT", "INSERT", "INSERT", "WITH", "INSERT"]
    monkeypatch.undo()

    session.rollback()
    one, other = _written_by_approve(session, together.id), _written_by_approve(session, apart.id)
    assert one[0] == (world.member.id, world.member.unit_id, task.points, "award", task.title, None)
    assert one[1][3:5] == (2.5, 3) and one[1][6] == world.staff.id
    assert one[3] == [(world.member.id, one[3][0][1])]
    # the rows differ only in whose they are (member, unit): everything else is what the separate statements wrote
    assert (one[0][2:], one[1][2:], one[2], [p for _, p in one[3]]) == \
        (other[0][2:], other[1][2:], other[2], [p for _, p in other[3]])
    assert other[0][:2] == (world.member2.id, world.member2.unit_id)
    assert audit.verify(session).ok


def test_a_claim_reads_the_members_live_claims_with_the_tasks_lock(app, world, session, backend):
    first, second, third = world.task(capacity=3), world.task(capacity=3), world.task(capacity=3)
    mine = claims.start_claim(first.id, world.member)
    claims.start_claim(second.id, world.member2)  # another member's: not counted as the member's
    session.rollback()

    result, seen = _statements(lambda: claims.start_claim(third.id, world.member))
    # the member's lock, the task's lock (on PostgreSQL with the member's live claims for the guards), [the
    # member's live claims,] the claim's INSERT (on PostgreSQL counting the task's other live claims), [the
    # slot recount,] then the task's new count and the event (PostgreSQL: one statement)
    expected = (["SELECT", "SELECT", "INSERT", "WITH"] if backend == "postgresql"
                else ["SELECT", "SELECT", "SELECT", "INSERT", "SELECT", "UPDATE", "INSERT"])
    assert seen == expected
    assert result.state == "claimed"
    session.rollback()
    from workflow.models import Task

    def slots(task):  # as stored
        session.rollback()
        session.expire_all()
        return session.get(Task, task.id).slots_taken

    assert slots(third) == 1  # the new claim counted, on both databases
    claims.start_claim(first.id, world.member2)
    assert slots(first) == 2
    claims.fire(mine.id, "withdraw", world.member, {})
    assert slots(first) == 1
    mine = claims.start_claim(first.id, world.member)  # the withdrawn claim is not counted, the new one is
    assert slots(first) == 2

    # the guards see the same claims either way: one live claim per task, and the open-claim limit
    from workflow import runtime
    from workflow.errors import TransitionNotAllowed
    with pytest.raises(TransitionNotAllowed) as refused:
        claims.start_claim(first.id, world.member)
    assert refused.value.reason == "one_live_claim_per_task" and f"claim {mine.id}" in str(refused.value)
    session.rollback()
    runtime.current().policy.settings.open_claim_limit = 2
    with pytest.raises(TransitionNotAllowed) as refused:
        claims.start_claim(second.id, world.member)
    assert refused.value.reason == "open_claim_limit" and "2 open claims" in str(refused.value)


def test_a_withdraw_sends_the_tasks_new_count_with_the_claims_event(app, world, session, backend):
    from workflow.models import Task

    task = world.task(capacity=1)
    claim = claims.start_claim(task.id, world.member)  # the last slot: the task fills (its own event)
    session.rollback()
    assert session.get(Task, task.id).status == "full"

    result, seen = _statements(lambda: claims.fire(claim.id, "withdraw", world.member, {}))
    # scope, the task's lock, the claim's lock, the claim's UPDATE (flushed: the recount must see it), the
    # recount, [the task's count,] the task's chain head, the reopen (the task's UPDATE and event), then the
    # claim's event [with the task's count: PostgreSQL], the answer's read
    expected = (["SELECT", "SELECT", "SELECT", "UPDATE", "SELECT", "SELECT", "WITH", "WITH", "SELECT"]
                if backend == "postgresql" else
                ["SELECT", "SELECT", "SELECT", "UPDATE", "SELECT", "UPDATE", "SELECT", "UPDATE", "INSERT", "INSERT",
                 "SELECT"])
    assert seen == expected
    assert result.state == "withdrawn"
    session.rollback()
    session.expire_all()
    stored_task, stored_claim = session.get(Task, task.id), session.get(Claim, claim.id)
    assert (stored_task.slots_taken, stored_task.status) == (0, "open")
    assert (stored_claim.state, stored_claim.version) == ("withdrawn", 2)
    triggers = session.execute(select(AuditEvent.subject_type, AuditEvent.trigger).order_by(AuditEvent.id)).all()
    assert [tuple(t) for t in triggers][-2:] == [("task", "reopen"), ("claim", "withdraw")]
    assert audit.verify(session).ok


def test_a_report_sends_its_row_with_the_event(app, world, session, backend):
    from workflow.models import Report

    claim = claims.start_claim(world.task().id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "入户"})
    session.rollback()
    _, seen = _statements(lambda: claims.fire(claim.id, "submit_report", world.member,
                                              {"summary": "走访三户", "hours": 1.5, "households": 3}))
    # the lock (on PostgreSQL drawing the report's id), then the claim's UPDATE, the report, the event and
    # its personal value (one statement on PostgreSQL), [the community's staff,] their notification (on
    # PostgreSQL inserted from the staff's query)
    expected = (["SELECT", "WITH", "INSERT"] if backend == "postgresql"
                else ["SELECT", "INSERT", "UPDATE", "INSERT", "INSERT", "SELECT", "INSERT"])
    assert seen == expected
    session.rollback()
    report = session.scalars(select(Report).where(Report.claim_id == claim.id)).one()
    assert (report.summary, report.hours, report.households, report.photo_ids) == ("走访三户", 1.5, 3, [])
    event = session.scalars(select(AuditEvent).where(AuditEvent.trigger == "submit_report")).one()
    assert event.payload["report_id"] == report.id
    assert audit.verify(session).ok


def test_a_notification_inserted_from_its_recipients_query_writes_what_reading_them_first_did(
        app, world, session, backend, monkeypatch):
    """PostgreSQL inserts a notification to the community's staff or supervisors by one INSERT … SELECT;
    the rows are those of reading the people first, then inserting: the active ones, not the actor,
    in the order of their ids (on SQLite both ways are the second)."""
    from workflow.engine.definition import NotifySpec
    from workflow.models import SYSTEM, User
    from workflow.services import notifications, subjects
    from workflow.services.tx import write_transaction

    with write_transaction() as s:
        s.add_all([User(username="staff_a2", name="staff_a2", role="staff", community_id=world.a.id, password_hash="x"),
                   User(username="staff_a3", name="staff_a3", role="staff", community_id=world.a.id, password_hash="x",
                        active=False)])
    claim = claims.start_claim(world.task().id, world.member)
    session.rollback()
    specs = (NotifySpec("claim_reported", ("community_staff",)), NotifySpec("claim_approved", ("supervisors",)))

    def write(actor):
        start = session.scalar(select(func.max(Notification.id))) or 0
        session.rollback()
        with write_transaction() as s:
            row = s.get(Claim, claim.id)
            related = {"task": row.task}
            # loaded before: only the notifications' statements are counted
            row.member.name, row.updated_at, row.task.title, row.task.points, row.task.community_id, actor.id
            _, seen = _statements(lambda: notifications.notify(s, specs, subject_type="claim", row=row, related=related,
                                                               actor=actor, now=row.updated_at, trigger="x"))
        rows = session.scalars(select(Notification).where(Notification.id > start)).all()
        return seen, sorted(((n.user_id, n.kind, n.subject_type, n.subject_id, n.params, n.created_at) for n in rows),
                            key=lambda r: (r[1], r[0]))

    results = []
    for actor in (world.staff, SYSTEM):
        together = write(actor)
        monkeypatch.setattr(subjects.ClaimKind, "recipients_query", lambda self, relation, row, related: None)
        apart = write(actor)
        monkeypatch.undo()
        assert together[1] == apart[1]
        if backend == "postgresql":  # one statement per kind of notification, against a query and an INSERT
            assert (together[0], apart[0]) == (["INSERT", "INSERT"], ["SELECT", "INSERT", "SELECT", "INSERT"])
        else:
            assert together[0] == apart[0]
        results.append(together[1])
    staff = sorted(session.scalars(select(User.id).where(User.role == "staff", User.community_id == world.a.id,
                                                         User.active.is_(True))))
    waiting = [r[0] for r in results[0] if r[1] == "claim_reported"]
    assert waiting == [i for i in staff if i != world.staff.id]  # the actor not told, nor the inactive one
    assert [r[0] for r in results[1] if r[1] == "claim_reported"] == staff  # nobody left out for the system


def test_a_drawn_id_names_one_row_only(app, world, session):
    """Two rows of one table in one transition: the first takes the id the lock drew, the second is
    inserted at once with an id of its own (never the same id twice)."""
    from sqlalchemy import func as sql_func

    from workflow.engine import effects
    from workflow.services.tx import write_transaction

    claim = claims.start_claim(world.task().id, world.member)
    session.rollback()
    with write_transaction() as s:
        drawn = s.scalar(select(sql_func.max(Visit.id))) or 0
        drawn += 1000
        ctx = SimpleNamespace(session=s, drawn={"visits": drawn}, with_event=[])
        values = dict(claim_id=claim.id, visited_at=claim.created_at, lat=None, lon=None, note="", photo_ids=[],
                      created_at=claim.created_at)
        first = effects._insert_recorded(ctx, Visit, **values)
        second = effects._insert_recorded(ctx, Visit, **values)
        for statement, params in ctx.with_event:  # what the event's statement would carry (PostgreSQL)
            s.connection().execute(statement, params)
    assert first == drawn and second != drawn
    assert sorted(session.scalars(select(Visit.id).where(Visit.claim_id == claim.id))) == sorted([first, second])
