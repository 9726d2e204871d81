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
