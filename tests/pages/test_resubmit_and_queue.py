"""Issue 15, points 1 and 6: the fix-and-resubmit loop and the staff queue (both databases).

- After a return, the report form starts from the last report (summary, hours, households, its
  photos kept as removable attachments) under the return reason; the queue then shows the
  reason and what changed.
- The queue: one form per report whose buttons carry the trigger names, the age and an overdue
  mark, filters, pages; several approved together, each its own audited transition.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.images import jpeg_bytes
from workflow.clock import utcnow
from workflow.models import AuditEvent, Claim
from workflow.services import claims as claim_service
from workflow.services import review
from workflow.services import uploads as upload_service
from workflow.services.event_input import read_inputs


def _reported(world, app, *, title="为独居老人购买取暖用品", member=None, photo=False, category="微心愿"):
    member = member or world.member
    task = world.task(title=title, category=category, capacity=5)
    claim = claim_service.start_claim(task.id, member)
    claim_service.fire(claim.id, "check_in", member, {"note": "上门了解需求"})
    report = {"summary": "已购买取暖器一台", "hours": 2, "households": 1}
    if photo:
        report["photos"] = [upload_service.save_upload(member, jpeg_bytes(), app.config["BAODAO_UPLOAD_DIR"]).id]
    claim_service.fire(claim.id, "submit_report", member, report)
    return claim.id, report


def _returned(world, app, **kw):
    claim_id, report = _reported(world, app, photo=True, **kw)
    claim_service.fire(claim_id, "return", world.staff, {"reason": "请补充取暖器发票照片"})
    return claim_id, report


def test_the_resubmit_form_starts_from_the_last_report_under_the_return_reason(world, app, browse):
    claim_id, report = _returned(world, app)
    member = browse("member_a1")
    page = member.get(f"/claims/{claim_id}/submit_report").get_data(as_text=True)
    assert "请补充取暖器发票照片" in page and 'id="return-reason"' in page
    assert "已按上次报告预填" in page
    assert re.search(r'<textarea[^>]*name="summary"[^>]*>\s*已购买取暖器一台</textarea>', page)
    assert re.search(r'name="hours"[^>]*value="2(\.0)?"', page) and re.search(r'name="households"[^>]*value="1"', page)
    photo = report["photos"][0]
    # the last report's photo is an attachment again, removable (a hidden id with a remove button)
    assert f'<input type="hidden" name="photos" value="{photo}">' in page and "remove-photo" in page

    # sent as prefilled with a corrected summary: the same photo goes with the new report
    response = member.post(f"/claims/{claim_id}/submit_report",
                           {"summary": "已购买取暖器一台，发票照片已补充", "hours": "2.5", "households": "1",
                            "photos": str(photo)})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]


def test_a_first_report_and_other_triggers_start_empty(world, app, browse):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "上门"})
    member = browse("member_a1")
    page = member.get(f"/claims/{claim.id}/submit_report").get_data(as_text=True)
    assert "已按上次报告预填" not in page and re.search(r'<textarea[^>]*name="summary"[^>]*>\s*</textarea>', page)
    claim_id, _ = _returned(world, app, title="另一个任务")
    check_in = member.get(f"/claims/{claim_id}/check_in").get_data(as_text=True)
    assert "已按上次报告预填" not in check_in  # a visit is a new visit: nothing carried over


def test_the_queue_shows_the_return_reason_and_what_changed(world, app, browse, session):
    claim_id, report = _returned(world, app)
    claim_service.fire(claim_id, "check_in", world.member, {"note": "补拍发票"})
    claim_service.fire(claim_id, "submit_report", world.member,
                       {"summary": "已购买取暖器一台，附发票", "hours": 2.5, "households": 1})
    session.rollback()
    found = review.resubmission(session, session.get(Claim, claim_id))
    assert found.reason == "请补充取暖器发票照片"
    changed = {c.what: c for c in found.changes}
    assert set(changed) == {"summary", "hours", "photos_removed", "visits"}
    assert (changed["hours"].before, changed["hours"].after) == (2, 2.5)
    assert changed["photos_removed"].before == report["photos"]
    assert [v.note for v in changed["visits"].after] == ["补拍发票"]

    page = browse("staff_a").get("/staff/queue").get_data(as_text=True)
    item = page[page.index(f'id="claim-{claim_id}"'):]
    assert "重新提交。上次退回原因：" in item and "请补充取暖器发票照片" in item
    assert "时长（小时）: 2 → 2.5" in item
    assert "移除照片 1 张" in item and "新增走访 1 次" in item and "服务情况已修改" in item


def test_one_decision_form_per_report_whose_buttons_carry_the_trigger(world, app, browse, session):
    claim_id, _ = _reported(world, app)
    staff = browse("staff_a")
    page = staff.get("/staff/queue").get_data(as_text=True)
    item = page[page.index(f'id="claim-{claim_id}"'):page.index("</article>", page.index(f'id="claim-{claim_id}"'))]
    assert item.count("<form") == 1  # not three stacked forms
    assert all(f'name="trigger" value="{t}"' in item for t in ("approve", "return", "reject"))
    assert f'<label for="decide-{claim_id}-text">' in item and f'id="decide-{claim_id}-text"' in item
    assert 'data-confirm="不予通过后' in item  # only the reject button asks

    # a return without a reason: its own page, the error next to the field, what was typed kept
    response = staff.post(f"/claims/{claim_id}?next=/staff/queue", {"trigger": "return", "text": "  "})
    assert response.status_code == 422
    assert "此项为必填项" in response.get_data(as_text=True)
    response = staff.post(f"/claims/{claim_id}?next=/staff/queue", {"trigger": "return", "text": "请补充照片"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/queue")
    session.rollback()
    claim = session.get(Claim, claim_id)
    assert claim.state == "returned" and claim.last_reason == "请补充照片"
    # a trigger that is not a decision on this page is not fired from here
    assert staff.post(f"/claims/{claim_id}", {"trigger": "expire", "text": ""}).status_code == 404
    assert staff.post(f"/claims/{claim_id}", {"trigger": "check_in", "text": "x"}).status_code == 404


@pytest.mark.app_config(BAODAO_REVIEW_DAYS=2, BAODAO_OPEN_CLAIM_LIMIT=100)
def test_age_overdue_mark_filters_and_pages(world, app, browse, session):
    old_id, _ = _reported(world, app, title="清理楼道杂物", category="环境整治")
    new_id, _ = _reported(world, app, title="宣讲医保缴费新政策", category="政策宣讲", member=world.member2)
    session.execute(update(Claim).where(Claim.id == old_id).values(updated_at=utcnow() - timedelta(days=3)))
    session.commit()
    staff = browse("staff_a")
    page = staff.get("/staff/queue").get_data(as_text=True)
    assert page.index(f'id="claim-{old_id}"') < page.index(f'id="claim-{new_id}"')  # oldest first
    old_item = page[page.index(f'id="claim-{old_id}"'):page.index(f'id="claim-{new_id}"')]
    assert f'class="card queue-item overdue" id="claim-{old_id}"' in page
    assert "已超时" in old_item and "已等待3天" in old_item
    assert "已超时" not in page[page.index(f'id="claim-{new_id}"'):].split("</article>")[0]

    def listed(query):
        html = staff.get("/staff/queue" + query).get_data(as_text=True)
        return {int(i) for i in re.findall(r'id="claim-(\d+)"', html)}

    assert listed("?overdue=1") == {old_id}
    assert listed("?category=政策宣讲") == {new_id}
    assert listed("?q=楼道") == {old_id}
    assert listed("?q=member_a2") == {new_id}  # the member's name
    assert listed("?resubmitted=1") == set()
    claim_service.fire(old_id, "return", world.staff, {"reason": "补充"})
    claim_service.fire(old_id, "submit_report", world.member, {"summary": "补充了", "hours": 1})
    assert listed("?resubmitted=1") == {old_id}

    for n in range(review.PAGE_SIZE):
        _reported(world, app, title=f"任务{n}")
    first, second = listed(""), listed("?page=2")
    assert len(first) == review.PAGE_SIZE and len(second) == 2 and not first & second
    assert "第 1 / 2 页" in staff.get("/staff/queue").get_data(as_text=True)


def test_several_approved_together_each_its_own_event_and_failures_reported(world, app, browse, session):
    ids = [_reported(world, app, title=f"批量任务{n}")[0] for n in range(3)]
    claim_service.fire(ids[1], "approve", world.staff, {})  # decided meanwhile by a colleague
    staff = browse("staff_a")
    assert 'id="batch-form"' in staff.get("/staff/queue").get_data(as_text=True)
    response = staff.post("/claims/batch", {"trigger": "approve", "text": "情况属实", "next": "/staff/queue",
                                            "subject": [str(i) for i in ids]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/queue")
    page = staff.get("/staff/queue").get_data(as_text=True)
    assert f"已完成 2 份：#{ids[0]}, #{ids[2]}" in page and f"#{ids[1]} 未能处理" in page
    session.rollback()
    assert [session.get(Claim, i).state for i in ids] == ["verified"] * 3
    approvals = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "claim", AuditEvent.trigger == "approve", AuditEvent.subject_id.in_(ids))).all()
    inputs = read_inputs(session, approvals)  # (the comment is personal: a digest in the payload, its value apart)
    by_claim = {e.subject_id: inputs[e.id].input for e in approvals}
    assert len(approvals) == 3  # one event per claim, none twice
    assert by_claim[ids[0]]["comment"] == by_claim[ids[2]]["comment"] == "情况属实"
    # a member may not decide in batches; another community's claim is "not found", nothing changes
    other = _reported(world, app, title="别的社区", member=world.member3)
    assert browse("member_a1").post("/claims/batch", {"trigger": "approve", "subject": str(other[0])}).status_code == 403


def test_a_batch_never_touches_a_claim_outside_the_callers_scope(world, app, browse, session):
    other_task = world.task(staff=world.staff_c, title="张家洼的任务")
    claim = claim_service.start_claim(other_task.id, world.member3)
    claim_service.fire(claim.id, "check_in", world.member3, {"note": "走访"})
    claim_service.fire(claim.id, "submit_report", world.member3, {"summary": "完成", "hours": 1})
    staff = browse("staff_a")
    staff.post("/claims/batch", {"trigger": "approve", "subject": str(claim.id), "next": "/staff/queue"})
    page = staff.get("/staff/queue").get_data(as_text=True)
    assert f"#{claim.id} 未能处理：未找到" in page
    session.rollback()
    assert session.get(Claim, claim.id).state == "reported"


def test_close_and_cancel_are_not_primary_ask_and_say_what_follows(world, browse):
    task = world.task()
    page = browse("staff_a").get(f"/tasks/{task.id}").get_data(as_text=True)
    close = re.search(r'<form method="post" action="/tasks/\d+/close"[^>]*>\s*<input[^>]*>\s*<button[^>]*>', page)
    assert close and 'data-confirm="关闭后不再接受新的认领' in close.group(0) and 'class="button secondary"' in close.group(0)
    # cancelling is folded until wanted, says what follows, and asks once more
    folded = page[page.index('<details class="danger-action">'):page.index("</details>")]
    assert "取消任务" in folded and 'class="confirm-note">取消后，所有进行中的认领将一并取消' in folded
    assert 'data-confirm="取消后' in folded and 'class="button danger"' in folded
    # the primary action on a draft is publishing; nothing else looks primary
    draft = world.task(publish=False)
    page = browse("staff_a").get(f"/tasks/{draft.id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="button">发布</button>', page)
