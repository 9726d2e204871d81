"""The unit's 报到 pages, in Chinese by default: the liaison proposes (town, then community), staff
accept, the paired unit's resources turn into a project or a task prefilled, the liaison takes a
project and reports, staff approve; supervisors read counts and rates and export them."""
import csv
import io
from datetime import timedelta

from sqlalchemy import select

from workflow.clock import district_date, utcnow
from workflow.models import Pairing, Project, Task
from workflow.services import pairings, projects, resources


def day(n):
    return (district_date(utcnow()) + timedelta(days=n)).isoformat()


def test_the_unit_walk_through_the_pages(world, session, browse):
    liaison = browse("liaison_1")
    home = liaison.get("/", follow_redirects=True).get_data(as_text=True)
    assert "区委组织部" in home and "申请结对共建" in home
    page = liaison.get("/pairings/new").get_data(as_text=True)
    assert 'name="community_id"' not in page and "凤城街道" in page
    page = liaison.get("/pairings/new?town=370116001").get_data(as_text=True)
    assert "东升社区" in page and "张家洼社区" not in page and "共建内容" in page
    assert 'name="unit_id"' not in page  # a liaison proposes for their own unit
    bad = liaison.post("/pairings/new", {"town": "370116001", "community_id": str(world.a.id), "agreement": "",
                                         "ends_on": day(200)})
    assert bad.status_code == 422
    done = liaison.post("/pairings/new", {"town": "370116001", "community_id": str(world.a.id),
                                          "agreement": "每季度一次政策宣讲", "ends_on": day(200)})
    assert done.status_code == 302
    session.rollback()
    pairing = session.scalar(select(Pairing))
    assert (pairing.state, pairing.unit_id) == ("proposed", world.unit1.id)
    again = liaison.post("/pairings/new", {"town": "370116001", "community_id": str(world.a.id),
                                           "agreement": "再来一次", "ends_on": day(200)})
    assert again.status_code == 409

    staff = browse("staff_a")
    waiting = staff.get("/staff/pairings").get_data(as_text=True)
    assert "区委组织部" in waiting and "同意结对" in waiting and "每季度一次政策宣讲" in waiting
    accepted = staff.post(f"/pairings/{pairing.id}/accept?next=/staff/pairings", {"comment": ""})
    assert accepted.status_code == 302
    session.rollback()
    assert session.get(Pairing, pairing.id).state == "active"

    # The unit lists a resource; paired staff see it with the contact and turn it into a project.
    assert liaison.post("/liaison/resources/new", {"title": "法律咨询进社区", "category": "法律服务",
                                                   "description": "律师坐诊", "frequency": "每月一次",
                                                   "contact": "王老师 0634-1234567"}).status_code == 302
    session.rollback()
    line = resources.unit_resources(session, world.liaison, world.unit1.id)[0]
    paired = staff.get("/staff/pairings").get_data(as_text=True)
    assert "法律咨询进社区" in paired and "王老师 0634-1234567" in paired
    form = staff.get(f"/staff/projects/new?resource={line.id}").get_data(as_text=True)
    assert 'value="法律咨询进社区"' in form and "律师坐诊" in form
    task_form = staff.get(f"/staff/tasks/new?resource={line.id}").get_data(as_text=True)
    assert 'value="法律咨询进社区"' in task_form
    assert browse("staff_b").get(f"/staff/projects/new?resource={line.id}").status_code == 404  # not paired
    published = staff.post("/staff/projects/new", {"title": "法律咨询进社区", "description": "每月一次律师坐诊",
                                                   "category": "法律服务", "expected_outcome": "",
                                                   "starts_on": day(0), "ends_on": day(90)})
    assert published.status_code == 302
    session.rollback()
    project = session.scalar(select(Project))
    assert project.state == "open"
    # A task of the project, chosen in the task form.
    page = staff.get(f"/staff/tasks/new?project={project.id}").get_data(as_text=True)
    assert f'<option selected value="{project.id}">' in page or f'value="{project.id}" selected' in page

    open_list = liaison.get("/liaison/projects").get_data(as_text=True)
    assert "法律咨询进社区" in open_list and "认领项目" in open_list
    assert liaison.post(f"/projects/{project.id}/take?next=/liaison/", {}).status_code == 302
    assert liaison.post(f"/projects/{project.id}/report_progress", {"text": "第一次坐诊，接待 12 人"}).status_code == 302
    assert liaison.post(f"/projects/{project.id}/report", {"summary": "三次坐诊", "members": "张伟、李娜",
                                                           "member_count": "2", "hours": "18"}).status_code == 302
    page = staff.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "第一次坐诊" in page and "三次坐诊" in page and "验收通过" in page and "区委组织部" in page
    assert staff.post(f"/projects/{project.id}/approve", {"comment": ""}).status_code == 302
    session.rollback()
    assert session.get(Project, project.id).state == "done"

    home = liaison.get("/liaison/").get_data(as_text=True)
    assert "东升社区" in home and "法律咨询进社区" in home and "已完成" in home
    year = liaison.get("/liaison/year").get_data(as_text=True)
    assert 'id="done-count">1<' in year and 'id="paired-count">1<' in year and "18" in year
    receipt = liaison.get("/supervisor/receipts").get_data(as_text=True)
    assert "区委组织部" in receipt and "member_a1" in receipt
    assert liaison.get(f"/supervisor/receipts?unit={world.unit2.id}").status_code == 404


def test_other_units_and_members_get_404(world, session, browse):
    proposal = pairings.propose(world.liaison, {"community_id": world.a.id, "agreement": "共建", "ends_on": day(100)})
    project = projects.publish(world.staff, {"title": "t", "description": "d", "category": "其他",
                                             "starts_on": day(0), "ends_on": day(10)})
    pairings.fire(proposal.id, "accept", world.staff, {})
    projects.fire(project.id, "take", world.liaison, {})
    other = browse("liaison_2")
    assert other.get(f"/pairings/{proposal.id}").status_code == 404
    assert other.get(f"/projects/{project.id}").status_code == 404
    assert browse("staff_b").get(f"/pairings/{proposal.id}").status_code == 404
    assert browse("member_a1").get(f"/pairings/{proposal.id}").status_code == 403  # not a member's page at all
    assert browse("sup_unit").get(f"/projects/{project.id}").status_code == 200  # unit 1's supervisor


def test_supervisor_rates_and_exports(world, session, browse):
    for liaison in (world.liaison, world.liaison2):
        p = pairings.propose(liaison, {"community_id": world.a.id, "agreement": "共建", "ends_on": day(100)})
        pairings.fire(p.id, "accept", world.staff, {})
    project = projects.publish(world.staff, {"title": "t", "description": "d", "category": "其他",
                                             "starts_on": day(0), "ends_on": day(10)})
    projects.fire(project.id, "take", world.liaison, {})
    projects.publish(world.staff, {"title": "t2", "description": "d", "category": "其他",
                                   "starts_on": day(0), "ends_on": day(10)})
    sup = browse("sup_district") if False else browse("admin")
    page = sup.get("/supervisor/pairings").get_data(as_text=True)
    assert "区委组织部" in page and "区教育和体育局" in page and "东升社区" in page and "50%" in page
    download = sup.get("/supervisor/pairings/download?by=community&fmt=csv")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["社区（村）", "所属镇（街道）", "共建中"]
    assert rows[1][0] == "东升社区" and rows[1][2] == "2"
    assert sup.get("/supervisor/pairings/download?by=unit&fmt=xlsx").status_code == 200
    town = browse("sup_town").get("/supervisor/pairings").get_data(as_text=True)
    assert "东升社区" in town
    assert browse("sup_town2").get(f"/projects/{project.id}").status_code == 404
    assert browse("sup_town").get(f"/projects/{project.id}").status_code == 200
    assert session.scalar(select(Task.id)) is None


def test_the_inbox_links_to_the_pairing_and_the_project_and_opening_them_reads(world, session, browse):
    from workflow.models import Notification

    proposal = pairings.propose(world.liaison, {"community_id": world.a.id, "agreement": "共建", "ends_on": day(90)})
    staff = browse("staff_a")
    inbox = staff.get("/notifications").get_data(as_text=True)
    assert f'href="/pairings/{proposal.id}"' in inbox and "区委组织部申请与东升社区结对共建" in inbox
    assert staff.get(f"/pairings/{proposal.id}/accept").status_code == 200  # acting on it reads it
    session.rollback()
    assert session.scalar(select(Notification.read_at).where(Notification.user_id == world.staff.id)) is not None
    liaison = browse("liaison_1")
    pairings.fire(proposal.id, "decline", world.staff, {"reason": "名额已满"})
    page = liaison.get("/notifications").get_data(as_text=True)
    assert f'href="/pairings/{proposal.id}"' in page and "名额已满" in page
    liaison.get(f"/pairings/{proposal.id}")
    session.rollback()
    assert session.scalar(select(Notification.read_at).where(Notification.user_id == world.liaison.id)) is not None
    # A registration's notification links to the registration's page.
    from workflow.services import registrations
    registrations.apply(world.member3, {"community_id": world.a.id})
    assert "/registrations/" in staff.get("/notifications").get_data(as_text=True)


def test_the_pages_in_english(world, session, browse):
    proposal = pairings.propose(world.liaison, {"community_id": world.a.id, "agreement": "共建", "ends_on": day(90)})
    liaison = browse("liaison_1")
    home = liaison.get("/liaison/?lang=en").get_data(as_text=True)
    assert "Propose a pairing" in home and "What our unit can offer" in home and "Proposed" in home
    page = liaison.get(f"/pairings/{proposal.id}").get_data(as_text=True)  # the language is remembered
    assert "What the two sides agree to do" in page and "Withdraw the proposal" in page
    staff = browse("staff_a")
    assert "Proposals waiting" in staff.get("/staff/pairings?lang=en").get_data(as_text=True)
    assert "Publish a project" in staff.get("/staff/projects/new").get_data(as_text=True)
    assert "Pairings & projects" in browse("admin").get("/supervisor/pairings?lang=en").get_data(as_text=True)
