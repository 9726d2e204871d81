"""A claim's whole run through the default process, with its effects."""
from sqlalchemy import func, select

from workflow import audit
from workflow.models import AuditEvent, Claim, PointsEntry, Task, UnitFeedback, Visit
from workflow.services import claims
from workflow.services.event_input import read_inputs


def test_full_lifecycle_with_return_awards_points_and_feeds_back_to_the_unit(world, session):
    task = world.task(points=15)
    claim = claims.start_claim(task.id, world.member)
    assert (claim.state, claim.version, claim.definition_key) == ("claimed", 1, ("dual_reporting", 1))

    claims.fire(claim.id, "check_in", world.member, {"note": "上门了解需求", "lat": 36.21, "lon": 117.67})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "已购买", "hours": 2, "households": 1})
    returned = claims.fire(claim.id, "return", world.staff, {"reason": "请补充说明"})
    assert returned.state == "returned" and returned.last_reason == "请补充说明"
    claims.fire(claim.id, "check_in", world.member, {"note": "补充走访"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "已补充", "hours": 3, "households": 2})
    done = claims.fire(claim.id, "approve", world.staff, {"comment": "属实"})

    assert done.state == "verified" and done.version == 7
    assert session.scalar(select(func.count(Visit.id)).where(Visit.claim_id == claim.id)) == 2
    entry = session.scalars(select(PointsEntry)).one()
    assert (entry.member_id, entry.unit_id, entry.points, entry.kind) == (world.member.id, world.unit1.id, 15, "award")
    feedback = session.scalars(select(UnitFeedback)).one()
    assert (feedback.unit_id, feedback.hours, feedback.households, feedback.points) == (world.unit1.id, 3, 2, 15)

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "claim", AuditEvent.subject_id == claim.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.trigger for e in events] == [
        "claim", "check_in", "submit_report", "return", "check_in", "submit_report", "approve"]
    assert [(e.from_state, e.to_state) for e in events][:2] == [("new", "claimed"), ("claimed", "visiting")]
    assert read_inputs(session, [events[3]])[events[3].id].input == {"reason": "请补充说明"}
    assert events[6].actor_id == world.staff.id and events[6].actor_role == "staff"
    assert events[6].definition == "dual_reporting@1"
    assert all(e.prev_hash == (events[i - 1].hash if i else None) for i, e in enumerate(events))
    assert audit.verify(session).ok


def test_claiming_the_last_slot_fills_the_task_and_withdrawing_reopens_it(world, session):
    task = world.task(capacity=1)
    claim = claims.start_claim(task.id, world.member)
    assert session.get(Task, task.id).status == "full"
    assert session.get(Task, task.id).slots_taken == 1
    claims.fire(claim.id, "withdraw", world.member, {})
    reopened = session.get(Task, task.id)
    assert (reopened.status, reopened.slots_taken) == ("open", 0)
    task_events = session.scalars(
        select(AuditEvent.trigger).where(AuditEvent.subject_type == "task", AuditEvent.subject_id == task.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert task_events == ["create", "publish", "fill", "reopen"]


def test_rejecting_frees_the_slot(world, session):
    task = world.task(capacity=1)
    claim = claims.start_claim(task.id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "n"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "s", "hours": 1})
    claims.fire(claim.id, "reject", world.staff, {"reason": "不符合"})
    assert session.get(Task, task.id).status == "open"
    assert session.get(Claim, claim.id).state == "rejected"
    assert session.scalar(select(func.count(PointsEntry.id))) == 0


def test_unit_feedback_counts_by_the_districts_calendar(world, session):
    from datetime import datetime

    from workflow.clock import district_month

    # 20:00 UTC on 30 November is already 1 December in Laiwu
    assert district_month(datetime(2026, 11, 30, 20, 0)) == "2026-12"
    assert district_month(datetime(2026, 11, 30, 15, 59)) == "2026-11"
