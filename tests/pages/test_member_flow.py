"""The member's and staff's pages through a claim's whole run, in Chinese by default."""
import io

from sqlalchemy import select

from workflow.clock import utcnow
from workflow.models import Claim, PointsEntry, Upload
from workflow.services import claims as claim_service

from .conftest import photo_bytes

# Task deadlines may be at most two years ahead (issue 16): next New Year always is.
NEXT_YEAR = utcnow().year + 1


def reload(session, model, ident):
    session.rollback()  # end the test's read transaction: the pages wrote in other sessions
    session.expire_all()
    return session.get(model, ident)


def _claim_id(session, member, task):
    session.rollback()
    return session.scalar(select(Claim.id).where(Claim.member_id == member.id, Claim.task_id == task.id))


def test_member_claims_checks_in_reports_staff_returns_then_approves_and_points_show(world, session, browse):
    task = world.task(points=15, title="帮助高龄老人代购药品")
    member = browse("member_a1")
    home = member.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert "可认领的任务" in html and "帮助高龄老人代购药品" in html and "剩余 2 / 2 个名额" in html

    page = member.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "认领" in page and "王大爷" not in page  # no household details before claiming
    response = member.post(f"/tasks/{task.id}/claim")
    assert response.status_code == 302
    claim_id = _claim_id(session, world.member, task)
    assert response.headers["Location"].endswith(f"/claims/{claim_id}")

    form = member.get(f"/claims/{claim_id}/check_in").get_data(as_text=True)
    assert "王大爷" in form  # the household note, to the claimant only
    # the form is the definition's: inputs named after its fields, the album allowed (no forced camera)
    assert 'name="note"' in form and 'name="photos"' in form and 'name="lat"' in form and 'name="lon"' in form
    assert "capture" not in form and 'accept="image/*,.heic,.heif"' in form and "multiple" in form
    assert 'maxlength="1000"' in form and "走访情况" in form and "required" in form
    response = member.post(f"/claims/{claim_id}/check_in", {
        "note": "上门了解需求", "lat": "36.2", "lon": "117.6",
        "photos": [(io.BytesIO(photo_bytes()), "a.png"), (io.BytesIO(photo_bytes((0, 90, 0))), "b.png")],
    }, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    claim = reload(session, Claim, claim_id)
    assert claim.state == "visiting" and len(claim.visits[0].photo_ids) == 2
    assert claim.visits[0].lat == 36.2

    member.get(f"/claims/{claim_id}/submit_report")
    assert member.post(f"/claims/{claim_id}/submit_report",
                       {"summary": "已代购药品", "hours": "2", "households": "1"}).status_code == 302

    staff = browse("staff_a")
    queue = staff.get("/staff/queue").get_data(as_text=True)
    assert "已代购药品" in queue and f"/uploads/" in queue
    session.rollback()
    photo_id = session.scalars(select(Upload.id).where(Upload.claim_id == claim_id)).first()
    assert staff.get(f"/uploads/{photo_id}/thumb").mimetype == "image/jpeg"
    assert staff.get(f"/uploads/{photo_id}").status_code == 200
    assert browse("member_a2").get(f"/uploads/{photo_id}").status_code == 404

    response = staff.post(f"/claims/{claim_id}/return?next=/staff/queue", {"reason": "请补充照片说明"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/queue")
    claim_page = member.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "已退回" in claim_page and "请补充照片说明" in claim_page

    member.get(f"/claims/{claim_id}/check_in")
    assert member.post(f"/claims/{claim_id}/check_in", {"note": "补充走访"}).status_code == 302
    member.get(f"/claims/{claim_id}/submit_report")
    assert member.post(f"/claims/{claim_id}/submit_report",
                       {"summary": "已补充", "hours": "1.5", "households": "2"}).status_code == 302
    staff.get("/staff/queue")
    assert staff.post(f"/claims/{claim_id}/approve", {"comment": "属实"}).status_code == 302

    points = member.get("/me/points").get_data(as_text=True)
    assert 'id="points-total">15<' in points and "帮助高龄老人代购药品" in points
    session.rollback()
    assert session.scalar(select(PointsEntry.points).where(PointsEntry.member_id == world.member.id)) == 15
    timeline = member.get(f"/claims/{claim_id}").get_data(as_text=True)
    for label in ("认领", "入户签到", "提交报告", "退回补充", "核实通过"):
        assert label in timeline


def test_claim_button_is_disabled_with_the_reason_when_the_task_is_full(world, browse):
    task = world.task(capacity=1)
    claim_service.start_claim(task.id, world.member2)
    member = browse("member_a1")
    page = member.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "disabled" in page and ("名额已满" in page or "不可认领" in page)


def test_invalid_check_in_shows_the_form_again_with_errors(world, browse):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    member = browse("member_a1")
    member.get(f"/claims/{claim.id}/check_in")
    response = member.post(f"/claims/{claim.id}/check_in", {
        "note": "x", "photos": [(io.BytesIO(b"not an image"), "x.png")]}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "无法识别的图片" in html and "UnidentifiedImageError" not in html
    assert "x</textarea>" in html  # what was typed is kept


def test_withdraw_asks_once(world, session, browse):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    member = browse("member_a1")
    page = member.get(f"/claims/{claim.id}").get_data(as_text=True)
    # one question, asked by the action itself (the definition's confirm), not a checkbox as well
    assert page.count("data-confirm=") == 1 and "撤回后名额将让给其他党员" in page
    assert member.post(f"/claims/{claim.id}/withdraw", {"reason": "出差"}).status_code == 302
    assert reload(session, Claim, claim.id).state == "withdrawn"


def test_staff_create_edit_publish_and_cancel_a_task(world, session, browse):
    from workflow.models import Task
    staff = browse("staff_a")
    assert "新建任务" in staff.get("/staff/tasks").get_data(as_text=True)
    staff.get("/staff/tasks/new")
    response = staff.post("/staff/tasks/new", {
        "title": "清理楼道杂物", "category": "环境整治", "description": "三号楼", "address": "东升社区3号楼前",
        "household_note": "", "capacity": "3", "points": "10", "deadline": f"{NEXT_YEAR}-01-01T09:00"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    session.rollback()
    task = session.scalar(select(Task).where(Task.title == "清理楼道杂物"))
    assert task.status == "draft" and task.deadline.hour == 1  # 09:00 Beijing time is 01:00 UTC
    staff.get(f"/staff/tasks/{task.id}/edit")
    assert staff.post(f"/staff/tasks/{task.id}/edit", {
        "title": "清理楼道杂物（周六）", "category": "环境整治", "description": "三号楼", "address": "东升社区3号楼前",
        "household_note": "联系楼长", "capacity": "4", "points": "10", "deadline": f"{NEXT_YEAR}-01-01T09:00"}).status_code == 302
    listing = staff.get("/staff/tasks").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/publish' in listing  # the task definition's action, on the list
    assert staff.post(f"/tasks/{task.id}/publish").status_code == 302
    page = staff.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "取消后，所有进行中的认领将一并取消" in page  # cancel asks before it acts
    assert staff.post(f"/tasks/{task.id}/cancel", {"reason": "天气原因"}).status_code == 302
    task = reload(session, Task, task.id)
    assert (task.title, task.capacity, task.status) == ("清理楼道杂物（周六）", 4, "cancelled")
    # staff of another community cannot even see it
    other = browse("staff_b")
    assert other.get(f"/staff/tasks/{task.id}/edit").status_code == 404
    assert other.get(f"/tasks/{task.id}").status_code == 404
