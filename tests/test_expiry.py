"""The scheduled expiry run: every live claim past its deadline expires exactly once."""
from datetime import timedelta

from sqlalchemy import func, select

from workflow import audit
from workflow.clock import utcnow
from workflow.models import AuditEvent, Claim, Task
from workflow.services import claims, expiry
from tests.test_concurrency import race


def setup_claims(world):
    soon = world.task(capacity=3, deadline=(utcnow() + timedelta(hours=1)).isoformat())
    later = world.task(capacity=3, deadline=(utcnow() + timedelta(days=30)).isoformat())
    a = claims.start_claim(soon.id, world.member)
    b = claims.start_claim(soon.id, world.member2)
    claims.fire(b.id, "check_in", world.member2, {"note": "n"})
    claims.fire(b.id, "submit_report", world.member2, {"summary": "s", "hours": 1})  # reported: staff's turn
    c = claims.start_claim(later.id, world.member)
    return soon, later, a, b, c


def expire_events(session):
    return session.scalars(select(AuditEvent.subject_id).where(AuditEvent.trigger == "expire")).all()


def test_expiry_expires_past_deadline_claims_once_and_closes_the_task(app, world, session):
    soon, later, a, b, c = setup_claims(world)
    after = utcnow() + timedelta(hours=2)
    result = expiry.expire_claims(now=after)
    assert (result.expired, result.tasks_closed) == (1, 1)
    session.expire_all()
    assert session.get(Claim, a.id).state == "expired"
    assert session.get(Claim, b.id).state == "reported"  # waiting for staff is not the member's fault
    assert session.get(Claim, c.id).state == "claimed"
    assert session.get(Task, soon.id).status == "closed"
    assert session.get(Task, later.id).status == "open"
    event = session.scalars(select(AuditEvent).where(AuditEvent.trigger == "expire")).one()
    assert (event.actor_id, event.actor_role) == (None, "system")

    again = expiry.expire_claims(now=after + timedelta(minutes=5))
    assert (again.expired, again.tasks_closed) == (0, 0)
    assert expire_events(session) == [a.id]
    assert audit.verify(session).ok


def test_two_runs_at_the_same_moment_expire_each_claim_once(app, world, session):
    claims_made = [setup_claims(world)[2] for _ in range(2)]
    after = utcnow() + timedelta(hours=2)
    results = race(app, [lambda: expiry.expire_claims(now=after)] * 4)
    assert sum(r.expired for r in results) == 2
    assert sorted(expire_events(session)) == sorted(c.id for c in claims_made)
    assert session.scalar(select(func.count(Task.id)).where(Task.status == "closed")) == 2


def test_expire_command(app, world):
    world.task(capacity=1, deadline=(utcnow() + timedelta(days=3)).isoformat())
    result = app.test_cli_runner().invoke(args=["expire-claims"])
    assert result.exit_code == 0
    assert "expired 0 claims, closed 0 tasks" in result.output
