"""Fixtures for the fault tests: members with API tokens, and the consistency checks that
must hold after every fault (states match their last events, slots match live claims,
every chain verifies)."""
import pytest
from sqlalchemy import func, select

from workflow import audit
from workflow import runtime
from workflow.extensions import db
from workflow.models import AuditEvent, Claim, Task, User
from workflow.services import auth as auth_service
from workflow.services.tx import write_transaction


def make_members(world, n, prefix="m"):
    with write_transaction() as s:
        users = [User(username=f"{prefix}{i}", name=f"{prefix}{i}", role="member", password_hash="x",
                      unit_id=world.unit1.id, community_id=world.a.id) for i in range(n)]
        s.add_all(users)
    return users


def tokens_for(users):
    return [auth_service.issue_token_for(u).token for u in users]


def assert_consistent(session=None):
    """The invariants a crash or an outage must never break. Returns a summary for reports."""
    session = session or db.session
    session.rollback()
    last_event = {}
    for kind, subject_id, to_state in session.execute(
        select(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.to_state)
        .order_by(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.seq)
    ):
        last_event[(kind, subject_id)] = to_state
    claims = session.execute(select(Claim.id, Claim.state, Claim.task_id)).all()
    for claim_id, state, _ in claims:
        assert last_event.get(("claim", claim_id)) == state, \
            f"claim {claim_id} is {state} but its last event goes to {last_event.get(('claim', claim_id))}"
    live = runtime.registry().live_states("claim")
    tasks = session.execute(select(Task.id, Task.status, Task.slots_taken, Task.capacity)).all()
    for task_id, status, taken, capacity in tasks:
        counted = session.scalar(select(func.count(Claim.id)).where(Claim.task_id == task_id,
                                                                    Claim.state.in_(live)))
        assert taken == counted, f"task {task_id}: slots_taken {taken}, live claims {counted}"
        assert last_event.get(("task", task_id)) == status, f"task {task_id} is {status} but its chain says " \
                                                             f"{last_event.get(('task', task_id))}"
        if status in ("open", "full"):
            assert status == ("full" if taken >= capacity else "open"), f"task {task_id}: {status} at {taken}/{capacity}"
    result = audit.verify(session)
    assert result.ok, [str(p) for p in result.problems]
    session.rollback()
    return {"claims": len(claims), "tasks": len(tasks), "events": result.checked}


def request_ids_recorded(session=None) -> set[str]:
    session = session or db.session
    session.rollback()
    found = set(session.scalars(select(AuditEvent.request_id).where(AuditEvent.request_id.is_not(None))))
    session.rollback()
    return found


@pytest.fixture
def consistent():
    return assert_consistent
