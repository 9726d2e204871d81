"""An exception anywhere in a transition leaves nothing behind."""
import pytest
from sqlalchemy import func, select

from workflow import audit
from workflow.engine import effects
from workflow.models import AuditEvent, Claim, PointsEntry, Task, UnitFeedback


class Boom(RuntimeError):
    pass


def test_a_failing_effect_rolls_back_the_whole_transition(world, session, monkeypatch):
    from workflow.services import claims

    claim = claims.start_claim(world.task(capacity=1).id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "n"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "s", "hours": 1})
    events_before = session.scalar(select(func.count(AuditEvent.id)))

    def explode(ctx):
        raise Boom("the unit feedback store is down")

    # award_points runs first and writes its ledger row; then the next effect fails
    monkeypatch.setitem(effects.EFFECTS, "feedback_to_unit", explode)
    with pytest.raises(Boom):
        claims.fire(claim.id, "approve", world.staff, {})

    session.expire_all()
    fresh = session.get(Claim, claim.id)
    assert (fresh.state, fresh.version) == ("reported", 3)
    assert session.scalar(select(func.count(PointsEntry.id))) == 0
    assert session.scalar(select(func.count(UnitFeedback.id))) == 0
    assert session.scalar(select(func.count(AuditEvent.id))) == events_before

    monkeypatch.undo()
    assert claims.fire(claim.id, "approve", world.staff, {}).state == "verified"
    assert audit.verify(session).ok


def test_a_failure_while_cancelling_a_task_keeps_task_and_claims(world, session, monkeypatch):
    from workflow.services import claims, tasks

    task = world.task(capacity=2)
    first = claims.start_claim(task.id, world.member)
    second = claims.start_claim(task.id, world.member2)

    calls = []

    def fail_on_second(ctx):
        calls.append(ctx.claim.id)
        if len(calls) == 2:
            raise Boom("disk full")

    monkeypatch.setitem(effects.EFFECTS, "remember_reason", fail_on_second)
    with pytest.raises(Boom):
        tasks.cancel_task(task.id, world.staff, {"reason": "取消"})
    session.expire_all()
    assert session.get(Task, task.id).status == "full"
    assert {session.get(Claim, first.id).state, session.get(Claim, second.id).state} == {"claimed"}
    assert audit.verify(session).ok
