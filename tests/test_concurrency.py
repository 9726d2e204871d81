"""Real concurrency: threads with their own connections racing through the services.

On PostgreSQL the rows are locked with SELECT … FOR UPDATE; on SQLite the writers queue
on BEGIN IMMEDIATE. Either way the outcome must be exact.
"""
import threading

from sqlalchemy import func, select

from workflow import audit
from workflow.errors import DomainError, TransitionNotAllowed
from workflow.extensions import db
from workflow.models import AuditEvent, Claim, PointsEntry, Task, User
from workflow.services import claims
from workflow.services import tasks as task_service
from workflow.services.transitions import TransitionResult
from workflow.services.tx import write_transaction


def race(app, jobs):
    """Run each job in its own thread and app context, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                results[i] = job()
            except DomainError as exc:
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results


def members(world, n, password_hash):
    with write_transaction() as s:
        people = [User(username=f"racer{i}", name=f"racer{i}", role="member", unit=world.unit1,
                       community=world.a, password_hash=password_hash) for i in range(n)]
        s.add_all(people)
    return people


def test_thirty_claimants_for_three_slots_exactly_three_win(app, world, session, password_hash):
    task = world.task(capacity=3)
    racers = members(world, 30, password_hash)
    results = race(app, [lambda m=m: claims.start_claim(task.id, m) for m in racers])

    winners = [r for r in results if isinstance(r, TransitionResult) and r.kind == "claim"]
    losers = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(winners) == 3 and len(losers) == 27, results
    assert {r.reason for r in losers} == {"free_slot"}
    db.session.expire_all()
    fresh = session.get(Task, task.id)
    assert (fresh.slots_taken, fresh.status) == (3, "full")
    assert session.scalar(select(func.count(Claim.id)).where(Claim.task_id == task.id)) == 3
    assert audit.verify(session).ok


def test_two_staff_approving_the_same_report_make_one_event(app, world, session, password_hash):
    with write_transaction() as s:
        second = User(username="staff_a2", name="staff_a2", role="staff", community=world.a,
                      password_hash=password_hash)
        s.add(second)
    claim = claims.start_claim(world.task().id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "n"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "s", "hours": 1})

    results = race(app, [lambda who=who: claims.fire(claim.id, "approve", who, {}) for who in (world.staff, second)] * 3)
    assert sum(isinstance(r, TransitionResult) for r in results) == 1
    assert all(isinstance(r, (TransitionResult, TransitionNotAllowed)) for r in results), results
    approvals = session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "claim", AuditEvent.subject_id == claim.id, AuditEvent.trigger == "approve"))
    assert approvals == 1
    assert session.scalar(select(func.count(PointsEntry.id))) == 1


def test_a_task_cancel_racing_check_ins_and_reports_leaves_every_claim_cancelled(app, world, session,
                                                                                password_hash):
    """Check-in and report lock only their claim; the cancel locks the task, then each claim.
    Whatever order they meet in, nothing deadlocks and every claim ends cancelled, its chain whole."""
    task = world.task(capacity=12)
    racers = members(world, 12, password_hash)
    started = [claims.start_claim(task.id, m) for m in racers]
    for c, m in zip(started[6:], racers[6:]):  # half of them are ready to report
        claims.fire(c.id, "check_in", m, {"note": "n"})

    def step(c, m, i):
        if i < 6:
            return claims.fire(c.id, "check_in", m, {"note": "again"})
        return claims.fire(c.id, "submit_report", m, {"summary": "s", "hours": 1})

    jobs = [lambda c=c, m=m, i=i: step(c, m, i) for i, (c, m) in enumerate(zip(started, racers))]
    jobs.insert(6, lambda: task_service.cancel_task(task.id, world.staff, {"reason": "暂停"}))
    results = race(app, jobs)

    assert all(isinstance(r, (TransitionResult, TransitionNotAllowed)) for r in results), results
    db.session.expire_all()
    states = set(session.scalars(select(Claim.state).where(Claim.task_id == task.id)))
    assert states == {"cancelled"}
    assert session.get(Task, task.id).status == "cancelled"
    assert audit.verify(session).ok


def test_one_member_firing_twelve_claims_at_once_holds_the_open_claim_limit(app, world, session):
    """Each claim locks its own task, so only the member's own row serialises a member's claims:
    without that lock, two claims of one member counted each other's absence (6 or 7 live
    claims against a limit of 5 on PostgreSQL)."""
    tasks = [world.task(capacity=3) for _ in range(12)]
    results = race(app, [lambda t=t: claims.start_claim(t.id, world.member) for t in tasks])
    won = [r for r in results if isinstance(r, TransitionResult)]
    refused = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(won) == 5 and len(refused) == 7, results
    assert {r.reason for r in refused} == {"open_claim_limit"}
    live = session.scalar(select(func.count(Claim.id)).where(Claim.member_id == world.member.id))
    assert live == 5
