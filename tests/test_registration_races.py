"""Registration under real concurrency (threads with their own connections), both databases:
one member's two applications at once leave exactly one live registration; two staff
accepting one application at once make exactly one event; two timers runs lapse each once."""
from sqlalchemy import func, select

from workflow import audit
from workflow.errors import TransitionNotAllowed
from workflow.models import AuditEvent, Registration, User
from workflow.services import registrations, timers
from workflow.services.transitions import TransitionResult
from workflow.services.tx import write_transaction

from tests.test_concurrency import race
from tests.test_registrations import NOV, active, beijing


def test_two_applications_by_one_member_at_once_exactly_one_is_live(app, world, session):
    results = race(app, [lambda c=c: registrations.apply(world.member, {"community_id": c.id}, now=NOV)
                         for c in (world.a, world.b, world.a, world.c)])
    won = [r for r in results if isinstance(r, TransitionResult)]
    lost = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(won) == 1 and len(lost) == 3, results
    assert {r.reason for r in lost} == {"one_live_registration"}
    assert session.scalar(select(func.count(Registration.id)).where(
        Registration.member_id == world.member.id)) == 1
    assert audit.verify(session).ok


def test_two_staff_accepting_one_application_at_once_make_one_event(app, world, session, password_hash):
    with write_transaction() as s:
        second = User(username="staff_a2", name="staff_a2", role="staff", community_id=world.a.id,
                      password_hash=password_hash)
        s.add(second)
    reg = registrations.apply(world.member, {"community_id": world.a.id}, now=NOV)
    results = race(app, [lambda who=who: registrations.fire(reg.id, "accept", who, {"grid_id": world.grid_a.id},
                                                            now=NOV) for who in (world.staff, second)])
    assert sorted(type(r).__name__ for r in results) == ["TransitionNotAllowed", "TransitionResult"], results
    accepts = session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "registration", AuditEvent.subject_id == reg.id, AuditEvent.trigger == "accept"))
    assert accepts == 1
    session.expire_all()
    assert session.get(Registration, reg.id).version == 2
    assert audit.verify(session, subject=f"registration:{reg.id}").ok


def test_two_lapse_runs_at_once_lapse_each_registration_once(app, world, session):
    regs = [active(world), active(world, world.member2)]
    new_year = beijing(2027, 1, 1, 0, 1)
    results = race(app, [lambda: timers.run(now=new_year).fired[("registration", "lapse")] for _ in range(2)])
    assert sorted(results) in ([0, 2], [1, 1]), results
    lapses = session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "registration", AuditEvent.trigger == "lapse"))
    assert lapses == 2
    session.expire_all()
    assert {session.get(Registration, r.id).state for r in regs} == {"lapsed"}
