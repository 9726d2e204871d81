"""bench-data writes the unit's 报到 at scale as the engine would: pairings of every unit, projects in
every state taken by paired units, their chains verifying (both databases, a small run)."""
from sqlalchemy import func, select

from workflow import audit
from workflow.models import Pairing, Project, ProjectReport, User


def test_bench_data_fills_pairings_and_projects_whose_chains_verify(app, session):
    from bench import data

    counts = data.generate(members=120, tasks=60, claims=300, projects=80)
    assert counts["pairings"] >= 31 * 3 and counts["projects"] == 80
    session.rollback()
    assert session.scalar(select(func.count(User.id)).where(User.role == "liaison")) == 31
    assert {"active", "proposed", "ended"} <= set(session.scalars(select(Pairing.state).distinct()))
    assert {"open", "taken", "reported", "done", "cancelled"} == set(session.scalars(select(Project.state).distinct()))
    # every taken project is its pairing's unit's, and that pairing is active with its community
    rows = session.execute(select(Project, Pairing).join(Pairing, Pairing.id == Project.pairing_id)).all()
    assert rows and all(p.unit_id == pr.unit_id and p.community_id == pr.community_id and pr.state == "active"
                        for p, pr in rows)
    assert session.scalar(select(func.count(ProjectReport.id))) > 0
    result = audit.verify(session)
    assert result.ok, result.problems[:3]


def test_bench_data_registers_ninety_percent_of_the_members_in_grids_with_chains(app, session):
    """Members' 报到 at scale: 90 % active in a grid of the community they live in, one live registration
    each, the rest waiting or not registered (and with no community); every registration's chain is the
    engine's and verifies; the receipt and the roster read them."""
    from bench import data
    from workflow.models import AuditEvent, Grid, Registration, Unit
    from workflow.services import receipts

    counts = data.generate(members=400, tasks=60, claims=300, projects=20)
    session.rollback()
    members = session.scalar(select(func.count(User.id)).where(User.role == "member"))
    assert members == 400 and counts["registered"] == session.scalar(
        select(func.count(Registration.id)).where(Registration.state == "active"))
    assert 0.85 * members <= counts["registered"] <= 0.95 * members
    assert counts["registrations"] == session.scalar(select(func.count(Registration.id))) > members
    assert set(session.scalars(select(Registration.state).distinct())) == {
        "active", "applied", "declined", "withdrawn", "ended", "lapsed"}
    # one live registration at most per member; the active ones in a grid of their community, which is the member's
    live = session.execute(select(Registration.member_id, func.count(Registration.id))
                           .where(Registration.state.in_(("applied", "active"))).group_by(Registration.member_id)).all()
    assert live and all(n == 1 for _, n in live)
    rows = session.execute(select(Registration, User, Grid).join(User, User.id == Registration.member_id)
                           .join(Grid, Grid.id == Registration.grid_id).where(Registration.state == "active")).all()
    assert len(rows) == counts["registered"]
    assert all(g.community_id == r.community_id == u.community_id for r, u, g in rows)
    active_members = {u.id for _, u, _ in rows}
    others = session.scalars(select(User).where(User.role == "member", User.id.not_in(active_members))).all()
    assert others and all(u.community_id is None for u in others)
    # each registration's chain: apply first, one event per version, as the engine counts them
    chains = dict(session.execute(select(AuditEvent.subject_id, func.count(AuditEvent.id))
                                  .where(AuditEvent.subject_type == "registration").group_by(AuditEvent.subject_id))
                  .all())
    for registration in session.scalars(select(Registration)):
        assert chains[registration.id] == registration.version
    firsts = set(session.scalars(select(AuditEvent.trigger).where(AuditEvent.subject_type == "registration",
                                                                  AuditEvent.seq == 1)))
    assert firsts == {"apply"}
    assert audit.verify(session).ok
    # the reads the benchmark times: a unit's receipt, a community's roster
    unit = session.scalar(select(Unit).order_by(Unit.id))
    report = receipts.receipt(session, unit)
    assert report.lines and report.registered + report.unregistered <= len(report.lines)
    community_id = rows[0][0].community_id
    roster = receipts.roster(session, community_id)
    assert sum(len(part.lines) for part in roster) == sum(1 for r, _, _ in rows if r.community_id == community_id)
    # projects name the members who took part
    reported = session.scalars(select(ProjectReport).where(ProjectReport.kind == "completion")).all()
    assert reported and all(r.member_count == len(r.members.split("、")) for r in reported)
