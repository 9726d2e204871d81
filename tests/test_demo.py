"""Demo data: real Laiwu places, fixed accounts, every state, every chain verifying."""
from sqlalchemy import func, select

from workflow import audit
from workflow.clock import utcnow
from workflow.models import Claim, Community, Grid, Pairing, Project, Registration, Task, Town, Unit, UnitResource, User
from workflow.services import receipts


def test_demo_data_loads_through_the_services(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output

    assert session.scalar(select(func.count(Town.id))) == 15
    assert session.scalar(select(func.count(Community.id))) == 861
    assert session.scalar(select(Community.name).where(Community.code == "370116001001")) == "东升社区居民委员会"
    units = set(session.scalars(select(Unit.name)))
    assert {"区委组织部", "区教育和体育局"} <= units and len(units) >= 30
    assert session.scalar(select(func.count(User.id)).where(User.role == "member")) >= 300

    accounts = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        ["admin", "supervisor", "staff1", "member1", "member2"])))}
    assert all(u.check_password("baodao-demo") for u in accounts.values())
    assert accounts["staff1"].community.code == "370116001001"
    assert accounts["member1"].community_id == accounts["member2"].community_id == accounts["staff1"].community_id
    assert accounts["member1"].unit_id != accounts["member2"].unit_id
    assert accounts["supervisor"].scope_label == "district"

    states = set(session.scalars(select(Claim.state).distinct()))
    assert states == {"claimed", "visiting", "reported", "returned", "verified", "rejected", "withdrawn",
                      "expired", "cancelled"}
    roomy = session.scalars(select(Task).where(
        Task.community_id == accounts["staff1"].community_id, Task.status == "open",
        Task.capacity - Task.slots_taken >= 2)).all()
    assert any((t.deadline - utcnow()).days >= 30 for t in roomy)
    # 报到: grids named as real ones are, member1 active in a grid of 东升社区, applications waiting
    # for staff1, a few members of every unit never registered, some ended, lapsed, declined, withdrawn.
    dongsheng = accounts["staff1"].community_id
    assert session.scalars(select(Grid.name).where(Grid.community_id == dongsheng).order_by(Grid.id)).all() == [
        "第一网格", "第二网格", "第三网格"]
    member1 = session.scalar(select(Registration).where(Registration.member_id == accounts["member1"].id,
                                                        Registration.state == "active"))
    assert member1.community_id == dongsheng and member1.grid.name == "第一网格"
    assert session.scalar(select(func.count(Registration.id)).where(
        Registration.community_id == dongsheng, Registration.state == "applied")) >= 3
    by_state = dict(session.execute(select(Registration.state, func.count(Registration.id))
                                    .group_by(Registration.state)).all())
    assert {"applied", "active", "ended", "lapsed", "declined", "withdrawn"} <= set(by_state)
    members = session.scalar(select(func.count(User.id)).where(User.role == "member"))
    assert by_state["active"] >= members * 0.8  # most members are registered in a grid
    assert session.scalar(select(func.count(Registration.id)).where(
        Registration.state == "active", Registration.grid_id.is_(None))) == 0
    for unit in session.scalars(select(Unit)):
        report = receipts.receipt(session, unit)
        if report.lines:
            assert 1 <= report.unregistered <= 4, (unit.name, report.unregistered)
    # The unit's 报到: liaison1 of 区委组织部 (member1's unit), paired with 东升社区; a proposal waiting for
    # staff1; projects in every state; resources for several units; a task of a project.
    liaison1 = session.scalar(select(User).where(User.username == "liaison1"))
    assert liaison1.role == "liaison" and liaison1.unit_id == accounts["member1"].unit_id
    assert liaison1.check_password("baodao-demo")
    assert session.scalar(select(Pairing.state).where(Pairing.unit_id == liaison1.unit_id,
                                                      Pairing.community_id == dongsheng)) == "active"
    assert session.scalar(select(func.count(Pairing.id)).where(Pairing.community_id == dongsheng,
                                                               Pairing.state == "proposed")) >= 1
    assert {"active", "proposed", "declined", "ended"} <= set(session.scalars(select(Pairing.state).distinct()))
    assert {"open", "taken", "reported", "done", "cancelled"} <= set(session.scalars(
        select(Project.state).where(Project.community_id == dongsheng).distinct()))
    assert session.scalar(select(func.count(func.distinct(UnitResource.unit_id)))) >= 3
    assert session.scalar(select(func.count(Task.id)).where(Task.project_id.is_not(None))) >= 1
    assert audit.verify(session).ok

    again = runner.invoke(args=["demo-data", "--if-empty"])
    assert again.exit_code == 0 and "nothing loaded" in again.output
    refused = runner.invoke(args=["demo-data"])
    assert refused.exit_code == 1
