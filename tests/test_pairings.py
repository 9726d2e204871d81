"""Pairings (结对共建) and projects (项目清单) through the services, on SQLite and PostgreSQL:
the process tables, one live pairing per unit and community, the pairing a take needs, the
lapse timer, notifications, verify-chain."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from workflow import audit
from workflow.clock import district_date, utcnow
from workflow.errors import Forbidden, InvalidInput, NotFound, TransitionNotAllowed
from workflow.models import AuditEvent, Notification, Pairing, Project, ProjectReport, Task
from workflow.services import expiry, pairings, projects, timers


def in_days(n: int) -> str:
    return (district_date(utcnow()) + timedelta(days=n)).isoformat()


def propose(world, liaison=None, community=None, **extra):
    data = {"community_id": (community or world.a).id, "agreement": "每季度开展一次政策宣讲", "ends_on": in_days(365),
            **extra}
    return pairings.propose(liaison or world.liaison, data)


def active_pairing(world, liaison=None, community=None, staff=None):
    proposal = propose(world, liaison, community)
    return pairings.fire(proposal.id, "accept", staff or world.staff, {})


def publish(world, staff=None, **extra):
    data = {"title": "村小图书角建设", "description": "为村小建一个图书角，组织党员捐书、整理、开展阅读活动。",
            "category": "教育培训", "starts_on": in_days(0), "ends_on": in_days(60), **extra}
    return projects.publish(staff or world.staff, data)


def test_pairing_table(world, session):
    proposal = propose(world)
    assert (proposal.state, proposal.unit_id, proposal.community_id) == ("proposed", world.unit1.id, world.a.id)
    assert proposal.view["allowed_triggers"] == ["withdraw"]
    # Staff of another community do not see it; the unit's other liaison… (there is one: liaison2 is unit 2's)
    with pytest.raises(NotFound):
        pairings.fire(proposal.id, "accept", world.staff_b, {})
    with pytest.raises(NotFound):
        pairings.fire(proposal.id, "withdraw", world.liaison2, {})
    with pytest.raises(Forbidden):  # the unit's own liaison sees it, but accepting is the community's
        pairings.fire(proposal.id, "accept", world.liaison, {})
    active = pairings.fire(proposal.id, "accept", world.staff, {"comment": "欢迎"})
    assert active.state == "active" and active.accepted_by_id == world.staff.id
    renewed = pairings.fire(proposal.id, "renew", world.liaison, {"ends_on": in_days(700)})
    assert renewed.state == "active" and renewed.ends_on.isoformat() == in_days(700)
    with pytest.raises(InvalidInput) as exc:  # not later than the present end
        pairings.fire(proposal.id, "renew", world.staff, {"ends_on": in_days(100)})
    assert "ends_on" in exc.value.errors
    with pytest.raises(InvalidInput):  # a reason is required
        pairings.fire(proposal.id, "end", world.staff, {})
    ended = pairings.fire(proposal.id, "end", world.staff, {"reason": "社区调整"})
    assert (ended.state, ended.last_reason) == ("ended", "社区调整")
    assert audit.verify(session, subject=f"pairing:{proposal.id}").ok
    triggers = [e.trigger for e in session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "pairing", AuditEvent.subject_id == proposal.id).order_by(AuditEvent.seq))]
    assert triggers == ["propose", "accept", "renew", "end"]


def test_decline_needs_a_reason_and_withdraw(world):
    proposal = propose(world)
    with pytest.raises(InvalidInput):
        pairings.fire(proposal.id, "decline", world.staff, {"reason": "  "})
    declined = pairings.fire(proposal.id, "decline", world.staff, {"reason": "本年度结对单位已满"})
    assert declined.state == "declined"
    again = propose(world)  # a declined proposal is not live: the unit may propose again
    assert pairings.fire(again.id, "withdraw", world.liaison, {}).state == "withdrawn"


def test_one_live_pairing_per_unit_and_community(world, session):
    first = propose(world)
    with pytest.raises(TransitionNotAllowed) as exc:
        propose(world)
    assert exc.value.reason == "one_live_pairing" and "东升社区" in exc.value.message
    pairings.fire(first.id, "accept", world.staff, {})
    with pytest.raises(TransitionNotAllowed):
        propose(world)
    assert propose(world, community=world.b).state == "proposed"  # another community is another pairing
    assert propose(world, liaison=world.liaison2).state == "proposed"  # another unit too
    assert session.scalar(select(Pairing.id).where(Pairing.unit_id == world.unit1.id,
                                                   Pairing.community_id == world.a.id,
                                                   Pairing.state.in_(("proposed", "active")))) == first.id


def test_who_proposes_and_bad_input(world):
    with pytest.raises(Forbidden):
        pairings.propose(world.member, {"community_id": world.a.id, "agreement": "x", "ends_on": in_days(30)})
    with pytest.raises(Forbidden):
        pairings.propose(world.staff, {"community_id": world.a.id, "agreement": "x", "ends_on": in_days(30)})
    with pytest.raises(InvalidInput) as exc:  # an admin names the unit
        pairings.propose(world.admin, {"community_id": world.a.id, "agreement": "x", "ends_on": in_days(30)})
    assert "unit_id" in exc.value.errors
    by_admin = pairings.propose(world.admin, {"community_id": world.a.id, "agreement": "x", "ends_on": in_days(30),
                                              "unit_id": world.unit2.id})
    assert by_admin.unit_id == world.unit2.id
    with pytest.raises(InvalidInput) as exc:  # a liaison proposes for their own unit only
        propose(world, unit_id=world.unit2.id)
    assert "unit_id" in exc.value.errors
    for bad in ({"ends_on": in_days(0)}, {"ends_on": in_days(-3)}, {"ends_on": in_days(366 * 5 + 10)},
                {"ends_on": "2026-13-01"}, {"community_id": 999_999}, {"agreement": ""}):
        with pytest.raises(InvalidInput):
            propose(world, **bad)


def test_lapse_timer_fires_once_and_tells_both_sides(world, session):
    pairing = active_pairing(world)
    proposal = propose(world, community=world.b)  # a proposal nobody answered lapses too
    end = session.get(Pairing, pairing.id).term_ends_at
    result = timers.run(now=end - timedelta(days=29))  # the 30-day notice
    assert result.by_timer["pairing@1:lapse_notice"] == 1
    told = session.scalars(select(Notification.user_id).where(Notification.kind == "pairing_lapsing")).all()
    assert sorted(told) == sorted([world.liaison.id, world.staff.id])
    run = expiry.expire_claims(now=end + timedelta(minutes=1))
    assert run.pairings_lapsed == 2
    assert expiry.expire_claims(now=end + timedelta(minutes=2)).pairings_lapsed == 0  # once
    session.expire_all()
    assert {session.get(Pairing, p.id).state for p in (pairing, proposal)} == {"lapsed"}
    lapse = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "pairing",
                                                     AuditEvent.subject_id == pairing.id)
                            .order_by(AuditEvent.seq.desc())).first()
    assert (lapse.trigger, lapse.actor_role, lapse.to_state) == ("lapse", "system", "lapsed")
    assert audit.verify(session).ok


def test_pairing_notifications(world, session):
    proposal = propose(world)
    assert session.scalars(select(Notification.user_id).where(Notification.kind == "pairing_proposed")).all() == \
        [world.staff.id]
    pairings.fire(proposal.id, "accept", world.staff, {})
    assert session.scalars(select(Notification.user_id).where(Notification.kind == "pairing_accepted")).all() == \
        [world.liaison.id]
    second = propose(world, community=world.b)
    pairings.fire(second.id, "decline", world.staff_b, {"reason": "不在服务范围"})
    row = session.scalar(select(Notification).where(Notification.kind == "pairing_declined"))
    assert row.user_id == world.liaison.id and row.params["reason"] == "不在服务范围"


# -- projects -----------------------------------------------------------------------------------

def test_project_table(world, session):
    project = publish(world)
    assert project.state == "open" and project.community_id == world.a.id
    with pytest.raises(TransitionNotAllowed) as exc:  # no active pairing: 409 with the reason
        projects.fire(project.id, "take", world.liaison, {})
    assert exc.value.reason == "paired_with_community" and "东升社区" in exc.value.message
    propose(world)  # proposed is not enough
    with pytest.raises(TransitionNotAllowed):
        projects.fire(project.id, "take", world.liaison, {})
    pairing = session.scalar(select(Pairing).where(Pairing.unit_id == world.unit1.id))
    pairings.fire(pairing.id, "accept", world.staff, {})
    taken = projects.fire(project.id, "take", world.liaison, {})
    assert (taken.state, taken.unit_id, taken.pairing_id) == ("taken", world.unit1.id, pairing.id)
    assert taken.view["unit"]["name"] == "区委组织部"
    for n in range(2):  # progress, any number of times
        projects.fire(project.id, "report_progress", world.liaison, {"text": f"第{n + 1}次：已收集图书 {n * 50 + 80} 册"})
    reported = projects.fire(project.id, "report", world.liaison, {
        "summary": "图书角建成，共捐书 300 册。", "members": "张伟、李娜、王强", "member_count": 3, "hours": 24.5})
    assert (reported.state, reported.member_count, reported.hours) == ("reported", 3, 24.5)
    with pytest.raises(InvalidInput):
        projects.fire(project.id, "return", world.staff, {})
    returned = projects.fire(project.id, "return", world.staff, {"reason": "请补充活动照片"})
    assert (returned.state, returned.last_reason) == ("taken", "请补充活动照片")
    projects.fire(project.id, "report", world.liaison, {
        "summary": "图书角建成，已补充照片说明。", "members": "张伟、李娜、王强", "member_count": 3, "hours": 26})
    with pytest.raises(Forbidden):  # the unit does not approve its own work
        projects.fire(project.id, "approve", world.liaison, {})
    done = projects.fire(project.id, "approve", world.staff, {"comment": "成效明显"})
    assert done.state == "done" and done.done_at is not None and done.hours == 26
    with pytest.raises(TransitionNotAllowed):  # cancel only before it is done
        projects.fire(project.id, "cancel", world.staff, {"reason": "x"})
    kinds = session.scalars(select(ProjectReport.kind).where(ProjectReport.project_id == project.id)
                            .order_by(ProjectReport.id)).all()
    assert kinds == ["progress", "progress", "completion", "completion"]
    assert audit.verify(session, subject=f"project:{project.id}").ok
    told = {n.kind: n.user_id for n in session.scalars(select(Notification).where(
        Notification.subject_type == "project"))}
    assert told == {"project_taken": world.staff.id, "project_reported": world.staff.id,
                    "project_returned": world.liaison.id, "project_approved": world.liaison.id}
    params = {n.kind: n.params for n in session.scalars(select(Notification).where(
        Notification.subject_type == "project"))}
    assert params["project_taken"] == {"project": "村小图书角建设", "unit": "区委组织部"}
    assert params["project_returned"]["reason"] == "请补充活动照片"


def test_project_scope_and_one_unit(world, session):
    active_pairing(world)
    active_pairing(world, liaison=world.liaison2)
    project = publish(world)
    # Open projects are every liaison's list; a taken one is its unit's and its community's.
    assert projects.get_project(session, world.liaison2, project.id).id == project.id
    projects.fire(project.id, "take", world.liaison, {})
    with pytest.raises(NotFound):
        projects.fire(project.id, "take", world.liaison2, {})
    with pytest.raises(NotFound):
        projects.get_project(session, world.liaison2, project.id)
    with pytest.raises(NotFound):
        projects.get_project(session, world.member, project.id)
    with pytest.raises(NotFound):
        projects.get_project(session, world.staff_b, project.id)
    assert projects.get_project(session, world.supervisor_unit, project.id).id == project.id  # unit 1's
    open_one = publish(world)
    with pytest.raises(NotFound):  # an open project is not a unit supervisor's (it is no unit's yet)
        projects.get_project(session, world.supervisor_unit, open_one.id)


def test_project_cancel_and_dates(world):
    project = publish(world)
    cancelled = projects.fire(project.id, "cancel", world.staff, {"reason": "需求变化"})
    assert cancelled.state == "cancelled"
    with pytest.raises(Forbidden):
        projects.publish(world.liaison, {"title": "t", "description": "d", "category": "其他",
                                         "starts_on": in_days(0), "ends_on": in_days(3)})
    for bad in ({"ends_on": in_days(-1)}, {"starts_on": in_days(10), "ends_on": in_days(5)},
                {"ends_on": in_days(366 * 2 + 5)}, {"category": "打卡"}, {"title": ""},
                {"starts_on": "9999-12-31", "ends_on": "9999-12-31"}):
        with pytest.raises(InvalidInput):
            publish(world, **bad)


def test_tasks_belong_to_a_project_of_their_community(world, session):
    project = publish(world)
    task = world.task(project_id=project.id)
    assert session.get(Task, task.id).project_id == project.id
    other = publish(world, staff=world.staff_c)
    with pytest.raises(InvalidInput) as exc:
        world.task(project_id=other.id)  # another community's project
    assert "project_id" in exc.value.errors
    with pytest.raises(InvalidInput):
        world.task(project_id=999_999)
    from workflow.services.pairing_views import linked_tasks
    assert [t["id"] for t in linked_tasks(session, world.staff, project.id)] == [task.id]
    assert session.get(Project, project.id).state == "open"


def test_resources_on_their_own_chain(world, session):
    from workflow.services import resources

    line = resources.add_resource(world.liaison, world.unit1.id, {
        "title": "法律咨询进社区", "category": "法律服务", "description": "每月一次，律师坐诊",
        "frequency": "每月一次", "contact": "组织部 王老师 0634-1234567"})
    assert line["contact"].startswith("组织部")
    with pytest.raises(NotFound):  # not paired yet: community A's staff do not see the list
        resources.unit_resources(session, world.staff, world.unit1.id)
    active_pairing(world)
    seen = resources.unit_resources(session, world.staff, world.unit1.id)
    assert [r.id for r in seen] == [line["id"]]
    with pytest.raises(Forbidden):  # staff read it; the unit keeps it
        resources.edit_resource(world.staff, world.unit1.id, line["id"], {"title": "x"})
    with pytest.raises(NotFound):
        resources.unit_resources(session, world.liaison2, world.unit1.id)
    with pytest.raises(NotFound):
        resources.unit_resources(session, world.member, world.unit1.id)
    retired = resources.edit_resource(world.liaison, world.unit1.id, line["id"], {"retired": True})
    assert retired["retired"] is True and retired["version"] == 2
    assert audit.verify(session, subject=f"resource:{line['id']}").ok
    assert audit.verify(session).ok


def test_date_helpers():
    from workflow.clock import day_end
    assert day_end(date(2026, 12, 31)).isoformat() == "2026-12-31T16:00:00"


def test_the_retention_run_erases_project_and_pairing_texts_and_the_chains_still_verify(app, world, session):
    """record_days after a project or pairing ended (and a resource line was retired): report texts,
    members, reasons, comments and contacts are erased, in the rows and in the audit events; counts,
    hours and the agreement stay; verify-chain counts the fields as erased."""
    from workflow.models import UnitResource
    from workflow.services import erasure, resources

    pairing = active_pairing(world)
    project = publish(world)
    projects.fire(project.id, "take", world.liaison, {})
    projects.fire(project.id, "report_progress", world.liaison, {"text": "走访了王大爷家"})
    projects.fire(project.id, "report", world.liaison, {"summary": "完成", "members": "张伟、李娜", "member_count": 2,
                                                        "hours": 8})
    projects.fire(project.id, "approve", world.staff, {"comment": "李娜表现很好"})
    pairings.fire(pairing.id, "end", world.liaison, {"reason": "书记调任"})
    line = resources.add_resource(world.liaison, world.unit1.id, {"title": "t", "category": "其他",
                                                                  "contact": "王老师 13800000001"})
    resources.edit_resource(world.liaison, world.unit1.id, line["id"], {"retired": True})
    assert erasure.run(now=utcnow() + timedelta(days=1094)).projects == 0  # not yet
    result = erasure.run(now=utcnow() + timedelta(days=1096))
    assert (result.projects, result.project_reports, result.pairings, result.resources) == (1, 2, 1, 1)
    session.rollback()
    reports = session.scalars(select(ProjectReport).where(ProjectReport.project_id == project.id)).all()
    assert {(r.text, r.members) for r in reports} == {("", "")} and all(r.erased_at for r in reports)
    row = session.get(Project, project.id)
    assert (row.member_count, row.hours, row.state) == (2, 8, "done")
    assert session.get(Pairing, pairing.id).last_reason is None
    assert session.get(Pairing, pairing.id).agreement == "每季度开展一次政策宣讲"
    assert session.get(UnitResource, line["id"]).contact == ""
    check = audit.verify(session)
    assert check.ok and check.erased >= 6
    from workflow.services.timeline import events
    texts = str([e["input"] for e in events(session, "project", project.id, world.admin)])
    assert "王大爷" not in texts and "李娜" not in texts
    assert erasure.run(now=utcnow() + timedelta(days=1097)).nothing_done
