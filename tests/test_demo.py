"""Demo data: real Laiwu places, fixed accounts, every state, every chain verifying."""
from sqlalchemy import func, select

from workflow import audit
from workflow.clock import utcnow
from workflow.models import Claim, Community, Task, Town, Unit, User


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
    assert audit.verify(session).ok

    again = runner.invoke(args=["demo-data", "--if-empty"])
    assert again.exit_code == 0 and "nothing loaded" in again.output
    refused = runner.invoke(args=["demo-data"])
    assert refused.exit_code == 1
