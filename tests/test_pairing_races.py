"""The unit's processes under real concurrency (threads with their own connections), both
databases: liaisons of several paired units taking the same project at once → exactly one takes
it; for the others it has become another unit's project (404, as any other unit's project is);
one unit's proposals to one community at once →
exactly one live pairing (the rest refused by `one_live_pairing`, 409); two timers runs lapse a
pairing once."""
from datetime import timedelta

from sqlalchemy import func, select

from workflow import audit
from workflow.errors import NotFound, TransitionNotAllowed
from workflow.models import AuditEvent, Pairing, Project, Unit, User
from workflow.services import pairings, projects, timers
from workflow.services.transitions import TransitionResult
from workflow.services.tx import write_transaction

from tests.test_concurrency import race
from tests.test_pairings import in_days, propose, publish


def test_liaisons_taking_the_same_project_at_once_exactly_one_takes_it(app, world, session, password_hash):
    # Four units, each with its liaison and an active pairing with community A.
    with write_transaction() as s:
        units = [Unit(code=f"race{i}", name=f"竞争单位{i}") for i in range(2)]
        s.add_all(units)
        s.flush()
        extra = [User(username=f"liaison_race{i}", name=f"联络员{i}", role="liaison", unit_id=u.id,
                      password_hash=password_hash) for i, u in enumerate(units)]
        s.add_all(extra)
    liaisons = [world.liaison, world.liaison2, *extra]
    for liaison in liaisons:
        pairing = propose(world, liaison)
        pairings.fire(pairing.id, "accept", world.staff, {})
    project = publish(world)
    results = race(app, [lambda who=who: projects.fire(project.id, "take", who, {}) for who in liaisons])
    won = [r for r in results if isinstance(r, TransitionResult)]
    lost = [r for r in results if isinstance(r, NotFound)]
    assert len(won) == 1 and len(lost) == 3, results
    takes = session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "project", AuditEvent.subject_id == project.id, AuditEvent.trigger == "take"))
    assert takes == 1
    session.rollback()
    row = session.get(Project, project.id)
    assert row.unit_id == won[0].unit_id and row.version == 2
    assert audit.verify(session, subject=f"project:{project.id}").ok


def test_one_units_proposals_to_one_community_at_once_leave_one_live_pairing(app, world, session, password_hash):
    with write_transaction() as s:  # a second liaison of unit 1
        second = User(username="liaison_1b", name="liaison_1b", role="liaison", unit_id=world.unit1.id,
                      password_hash=password_hash)
        s.add(second)
    results = race(app, [lambda who=who: propose(world, who) for who in (world.liaison, second, world.liaison)])
    won = [r for r in results if isinstance(r, TransitionResult)]
    lost = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(won) == 1 and len(lost) == 2, results
    assert {r.reason for r in lost} == {"one_live_pairing"}
    assert session.scalar(select(func.count(Pairing.id)).where(Pairing.unit_id == world.unit1.id)) == 1
    assert audit.verify(session).ok


def test_two_timers_runs_lapse_a_pairing_once(app, world, session):
    pairing = pairings.fire(propose(world, ends_on=in_days(20)).id, "accept", world.staff, {})
    end = session.get(Pairing, pairing.id).term_ends_at + timedelta(minutes=1)
    results = race(app, [lambda: timers.run(now=end).fired[("pairing", "lapse")] for _ in range(2)])
    assert sorted(results) == [0, 1], results
    assert session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.subject_type == "pairing", AuditEvent.trigger == "lapse")) == 1
