"""Every trigger from every state, and the guards, roles and scope around them."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from workflow import runtime
from workflow.clock import utcnow
from workflow.engine import DefinitionRegistry
from workflow.errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from workflow.models import AuditEvent, Claim
from workflow.services import claims, expiry
from workflow.services import tasks as task_service
from workflow.services.event_input import read_inputs

DEFINITION = DefinitionRegistry.from_directories().get("dual_reporting", 1).definition
INPUT = {
    "check_in": {"note": "入户"}, "submit_report": {"summary": "完成", "hours": 1.5}, "approve": {},
    "return": {"reason": "补充"}, "reject": {"reason": "不符"}, "withdraw": {},
}
# How to bring a fresh claim to each state, as (trigger, who) steps after claiming.
PATHS = {
    "claimed": [],
    "visiting": [("check_in", "member")],
    "reported": [("check_in", "member"), ("submit_report", "member")],
    "returned": [("check_in", "member"), ("submit_report", "member"), ("return", "staff")],
    "verified": [("check_in", "member"), ("submit_report", "member"), ("approve", "staff")],
    "rejected": [("check_in", "member"), ("submit_report", "member"), ("reject", "staff")],
    "withdrawn": [("withdraw", "member")],
}
ACTOR_FOR = {"check_in": "member", "submit_report": "member", "withdraw": "member",
             "approve": "staff", "return": "staff", "reject": "staff"}


def claim_in(world, state):
    task = world.task(capacity=3)
    claim = claims.start_claim(task.id, world.member)
    for trigger, who in PATHS[state]:
        claim = claims.fire(claim.id, trigger, getattr(world, who), INPUT[trigger])
    assert claim.state == state
    return claim


@pytest.mark.parametrize("state", list(PATHS))
def test_every_caller_trigger_from_every_state(world, session, state):
    runtime.current().policy.settings.open_claim_limit = 100  # this test holds many claims at once
    for trigger in INPUT:
        claim = claim_in(world, state)
        actor = getattr(world, ACTOR_FOR[trigger])
        spec = DEFINITION.trigger(trigger)
        if state in spec.sources:
            moved = claims.fire(claim.id, trigger, actor, INPUT[trigger])
            assert moved.state == spec.dest, (state, trigger)
        else:
            with pytest.raises(TransitionNotAllowed) as exc:
                claims.fire(claim.id, trigger, actor, INPUT[trigger])
            assert exc.value.state == state
            assert trigger not in exc.value.allowed_triggers
            assert session.get(Claim, claim.id).state == state  # nothing moved


def test_allowed_triggers_follow_state_role_and_guards(world, session):
    claim = claim_in(world, "reported")
    assert claims.allowed_triggers(session, world.member, claim) == []
    assert claims.allowed_triggers(session, world.staff, claim) == ["approve", "return", "reject"]
    assert claims.allowed_triggers(session, world.staff_b, claim) == []
    visiting = claim_in(world, "visiting")
    assert claims.allowed_triggers(session, world.member, visiting) == ["check_in", "submit_report", "withdraw"]
    claimed = claim_in(world, "claimed")
    assert claims.allowed_triggers(session, world.member, claimed) == ["check_in", "withdraw"]


def test_claim_guards(world, session):
    draft = world.task(publish=False)
    with pytest.raises(NotFound):  # members do not see drafts at all
        claims.start_claim(draft.id, world.member)

    task = world.task(capacity=1)
    claims.start_claim(task.id, world.member)
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.start_claim(task.id, world.member2)
    assert exc.value.reason == "free_slot"

    roomy = world.task(capacity=3)
    claims.start_claim(roomy.id, world.member)
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.start_claim(roomy.id, world.member)
    assert exc.value.reason == "one_live_claim_per_task"

    closed = world.task()
    task_service.close_task(closed.id, world.staff)
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.start_claim(closed.id, world.member2)
    assert exc.value.reason == "task_open"

    soon = world.task(deadline=(utcnow() + timedelta(hours=1)).isoformat())
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.start_claim(soon.id, world.member2, now=utcnow() + timedelta(hours=2))
    assert exc.value.reason == "before_deadline"
    # a refused claim leaves no row and no event behind
    assert session.scalar(select(func.count(Claim.id)).where(Claim.member_id == world.member2.id)) == 0
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.actor_id == world.member2.id)) == 0


def test_open_claim_limit_is_configurable(world):
    runtime.current().policy.settings.open_claim_limit = 2
    for _ in range(2):
        claims.start_claim(world.task().id, world.member)
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.start_claim(world.task().id, world.member)
    assert exc.value.reason == "open_claim_limit"


def test_roles_and_scope(world):
    claim = claim_in(world, "reported")
    with pytest.raises(NotFound):  # another member's claim does not exist for them
        claims.fire(claim.id, "withdraw", world.member2, {})
    with pytest.raises(NotFound):  # staff of another community: out of scope
        claims.fire(claim.id, "approve", world.staff_b, {})
    with pytest.raises(Forbidden):  # the claimant may never approve
        claims.fire(claim.id, "approve", world.member, {})
    with pytest.raises(Forbidden):  # supervisors see everything and change nothing
        claims.fire(claim.id, "approve", world.supervisor, {})
    with pytest.raises(Forbidden):
        claims.start_claim(world.task().id, world.staff)
    with pytest.raises(NotFound):
        claims.fire(claim.id, "no_such_trigger", world.staff, {})
    with pytest.raises(NotFound):
        claims.fire(999999, "approve", world.staff, {})


def test_internal_triggers_are_not_for_callers(world):
    claim = claim_in(world, "claimed")
    with pytest.raises(Forbidden):
        claims.fire(claim.id, "expire", world.member, {})
    with pytest.raises(Forbidden):
        claims.fire(claim.id, "cancel", world.member, {"reason": "x"})
    with pytest.raises(TransitionNotAllowed):  # staff may cancel only with the task
        claims.fire(claim.id, "cancel", world.staff, {"reason": "x"})


def test_input_is_validated_by_the_definition_schema(world, session):
    claim = claim_in(world, "visiting")
    bad_inputs = [
        ("check_in", {}, "note"),
        ("check_in", {"note": "  "}, "note"),
        ("check_in", {"note": "x", "lat": 91, "lon": 117}, "lat"),
        ("check_in", {"note": "x", "lat": 36.2}, "lat"),
        ("check_in", {"note": "x", "mood": "good"}, "mood"),
        ("check_in", {"note": "x", "photos": [12345]}, "photos"),
        ("submit_report", {"summary": "s", "hours": 0}, "hours"),
        ("submit_report", {"summary": "s", "hours": 25}, "hours"),
        ("submit_report", {"summary": "s", "hours": "NaN"}, "hours"),
        ("submit_report", {"summary": "s" * 2001, "hours": 1}, "summary"),
        ("submit_report", {"summary": "s", "hours": 1, "households": -1}, "households"),
    ]
    for trigger, data, field in bad_inputs:
        with pytest.raises(InvalidInput) as exc:
            claims.fire(claim.id, trigger, world.member, data)
        assert field in exc.value.errors, (trigger, data, exc.value.errors)
    fresh = session.get(Claim, claim.id)
    assert (fresh.state, fresh.version) == ("visiting", 2)


def test_stale_expected_version_is_refused(world):
    claim = claim_in(world, "claimed")
    with pytest.raises(StaleVersion) as exc:
        claims.fire(claim.id, "check_in", world.member, {"note": "x"}, expected_version=7)
    assert exc.value.current_version == 1
    assert claims.fire(claim.id, "check_in", world.member, {"note": "x"}, expected_version=1).version == 2


def test_cancelling_a_task_cancels_its_live_claims_with_events(world, session):
    task = world.task(capacity=3)
    live = claims.start_claim(task.id, world.member)
    done = claims.start_claim(task.id, world.member2)
    claims.fire(done.id, "withdraw", world.member2, {})
    task_service.cancel_task(task.id, world.staff, {"reason": "需求取消"})
    assert session.get(Claim, live.id).state == "cancelled"
    assert session.get(Claim, live.id).last_reason == "需求取消"
    assert session.get(Claim, done.id).state == "withdrawn"
    last = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                    AuditEvent.subject_id == live.id)
                           .order_by(AuditEvent.seq.desc())).first()
    assert (last.trigger, last.actor_id) == ("cancel", world.staff.id)
    assert read_inputs(session, [last])[last.id].input == {"reason": "需求取消"}


def test_staff_cannot_cancel_another_communitys_task(world):
    task = world.task()
    with pytest.raises(NotFound):
        task_service.cancel_task(task.id, world.staff_b, {"reason": "x"})
    with pytest.raises(Forbidden):
        task_service.cancel_task(task.id, world.member, {"reason": "x"})


def test_expired_claims_cannot_move(world):
    task = world.task(deadline=(utcnow() + timedelta(days=1)).isoformat())
    claim = claims.start_claim(task.id, world.member)
    expiry.expire_claims(now=utcnow() + timedelta(days=2))
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.fire(claim.id, "check_in", world.member, {"note": "late"})
    assert exc.value.state == "expired" and exc.value.allowed_triggers == []
