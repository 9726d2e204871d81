"""Registration (报到) pages, in Chinese by default: a member applies by town then community, staff
accept into a grid and manage grids, the unit supervisor reads (and exports) the receipt."""
import csv
import io
import zipfile

from sqlalchemy import select

from workflow.models import Grid, Registration
from workflow.services import registrations


def reload(session, member_id):
    session.rollback()
    session.expire_all()
    return registrations.live_registration(session, member_id)


def test_member_applies_staff_accept_into_a_grid_unit_supervisor_reads_the_receipt(world, session, browse):
    member = browse("member_a1")
    page = member.get("/me/registration").get_data(as_text=True)
    assert "我的报到" in page and "第一步" in page and "凤城街道" in page and "张家洼街道" in page
    assert 'name="community_id"' not in page  # a town first: no codes typed, no list of 861
    page = member.get("/me/registration?town=370116001").get_data(as_text=True)
    assert "东升社区" in page and "小曹村社区" in page and "张家洼社区" not in page and "370116001001" not in page
    assert 'name="skills"' in page and "服务特长（可选）" in page
    # A community of another town than the one chosen is not one of the options.
    refused = member.post("/me/registration", {"town": "370116001", "community_id": str(world.c.id)})
    assert refused.status_code == 422
    done = member.post("/me/registration", {"town": "370116001", "community_id": str(world.a.id),
                                            "skills": "法律咨询", "availability": "周末"})
    assert done.status_code == 302
    page = member.get("/me/registration").get_data(as_text=True)
    assert "报到申请已提交" in page and "待审核" in page and "撤回申请" in page and "第一步" not in page
    again = member.post("/me/registration", {"town": "370116001", "community_id": str(world.b.id)})
    assert again.status_code == 302
    assert "您已在东升社区报到" in member.get("/me/registration").get_data(as_text=True)
    reg = reload(session, world.member.id)
    assert (reg.state, reg.community_id, reg.skills) == ("applied", world.a.id, "法律咨询")

    staff = browse("staff_a")
    review = staff.get("/staff/registrations").get_data(as_text=True)
    assert "待审核的报到申请" in review and "member_a1" in review and "法律咨询" in review and "接收报到" in review
    form = staff.get(f"/registrations/{reg.id}/accept").get_data(as_text=True)
    assert f'<option value="{world.grid_a.id}">第一网格</option>' in form and "联系户数（可选）" in form
    missing = staff.post(f"/registrations/{reg.id}/accept", {"grid_id": "", "households": "2"})
    assert missing.status_code == 422 and "此项为必填项" in missing.get_data(as_text=True)
    accepted = staff.post(f"/registrations/{reg.id}/accept?next=/staff/registrations",
                          {"grid_id": str(world.grid_a.id), "households": "2", "comment": "欢迎"})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/staff/registrations")
    reg = reload(session, world.member.id)
    assert (reg.state, reg.grid_id, reg.households) == ("active", world.grid_a.id, 2)
    roster = staff.get("/staff/roster").get_data(as_text=True)
    assert "网格名册" in roster and "第一网格" in roster and "member_a1" in roster and "区委组织部" in roster

    page = member.get("/me/registration").get_data(as_text=True)
    assert "已报到" in page and "第一网格" in page and "staff_a" in page and "报到回执（打印）" in page
    receipt = member.get(f"/registrations/{reg.id}/receipt").get_data(as_text=True)
    assert "报到回执" in receipt and "东升社区居民委员会" in receipt and "区委组织部" in receipt and 'id="print"' in receipt

    unit = browse("sup_unit")
    report = unit.get("/supervisor/receipts").get_data(as_text=True)
    assert "报到回执" in report and "member_a1" in report and "东升社区" in report and "第一网格" in report
    assert '<span class="big" id="unregistered-count">0</span>' in report
    exported = unit.get("/supervisor/receipts/download?fmt=csv", buffered=True)
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["姓名", "报到状态", "报到社区（村）", "所属镇（街道）"]
    assert rows[1][:5] == ["member_a1", "已报到", "东升社区", "凤城街道", "第一网格"]
    xlsx = unit.get("/supervisor/receipts/download?fmt=xlsx", buffered=True)
    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as book:
        strings = book.read("xl/worksheets/sheet1.xml").decode("utf-8")  # constant memory: inline strings
    assert "报到社区（村）" in strings and "member_a1" in strings
    feedback = unit.get(f"/supervisor/feedback?unit={world.unit1.id}").get_data(as_text=True)
    assert "党员到社区报到情况" in feedback and "本月接收报到" in feedback
    detail = unit.get(f"/registrations/{reg.id}").get_data(as_text=True)
    assert "记录链校验通过" in detail and "接收报到" in detail  # the timeline, in the definition's words
    verified = unit.post("/supervisor/verify", {"subject": f"registration:{reg.id}"})
    assert verified.status_code == 302 and verified.headers["Location"].endswith(f"/registrations/{reg.id}")
    assert browse("sup_town").post("/supervisor/verify", {"subject": f"registration:{reg.id}"}).status_code == 302
    other_unit = browse("admin")
    assert other_unit.get(f"/registrations/{reg.id}").status_code == 200


def test_the_unregistered_come_first_with_their_count(world, session, browse):
    registrations.fire(registrations.apply(world.member2, {"community_id": world.a.id}).id, "accept", world.staff,
                       {"grid_id": world.grid_a.id})
    admin = browse("admin")
    page = admin.get(f"/supervisor/receipts?unit={world.unit2.id}").get_data(as_text=True)
    assert '<span class="big" id="unregistered-count">1</span>' in page
    assert page.index("member_c1") < page.index("member_a2")  # 未报到 first
    assert 'class="unregistered"' in page and "未报到" in page
    chooser = admin.get("/supervisor/receipts").get_data(as_text=True)
    assert 'name="unit"' in chooser and "区教育和体育局" in chooser
    rates = browse("sup_town").get("/supervisor/registrations").get_data(as_text=True)
    assert "报到率" in rates and "入格率" in rates and "东升社区" in rates and "member_a2" not in rates


def test_staff_manage_grids_a_grid_with_members_stays(world, session, browse):
    staff = browse("staff_a")
    assert staff.post("/staff/grids", {"name": "第二网格"}).status_code == 302
    twice = staff.post("/staff/grids", {"name": "第二网格"})
    assert twice.status_code == 422 and "本社区已有同名网格" in twice.get_data(as_text=True)
    session.rollback()
    second = session.scalar(select(Grid).where(Grid.name == "第二网格"))
    second_id = second.id
    registrations.fire(registrations.apply(world.member, {"community_id": world.a.id}).id, "accept", world.staff,
                       {"grid_id": second.id})
    page = staff.get("/staff/grids").get_data(as_text=True)
    assert "有党员" in page
    staff.post(f"/staff/grids/{second.id}/delete")
    assert "该网格内还有党员" in staff.get("/staff/grids").get_data(as_text=True)
    assert staff.post(f"/staff/grids/{second.id}/rename", {"name": "东区网格"}).status_code == 302
    reg = reload(session, world.member.id)
    move = staff.get(f"/registrations/{reg.id}/move_grid").get_data(as_text=True)
    assert "调整网格" in move and f'<option value="{world.grid_a.id}">第一网格</option>' in move
    same = staff.post(f"/registrations/{reg.id}/move_grid", {"grid_id": str(second.id), "reason": "调整"})
    assert same.status_code == 422 and "该党员已在这个网格" in same.get_data(as_text=True)
    assert staff.post(f"/registrations/{reg.id}/move_grid",
                      {"grid_id": str(world.grid_a.id), "reason": "就近服务"}).status_code == 302
    assert staff.post(f"/staff/grids/{second.id}/delete").status_code == 302
    session.rollback()
    assert session.get(Grid, second_id) is None
    assert session.get(Registration, reg.id).grid_id == world.grid_a.id


def test_ending_and_applying_elsewhere_in_english(world, session, browse):
    registrations.fire(registrations.apply(world.member, {"community_id": world.a.id}).id, "accept", world.staff,
                       {"grid_id": world.grid_a.id})
    member = browse("member_a1")
    member.get("/me/registration?lang=en")
    reg = reload(session, world.member.id)
    page = member.get(f"/registrations/{reg.id}/end").get_data(as_text=True)
    assert "End registration" in page and "Moved away" in page and 'type="radio"' in page
    assert member.post(f"/registrations/{reg.id}/end", {"reason": "moved", "note": "搬家"}).status_code == 302
    page = member.get("/me/registration").get_data(as_text=True)
    assert "Earlier registrations" in page and "Ended" in page and "1. Your town or street" in page
    assert member.post("/me/registration", {"town": "370116002", "community_id": str(world.c.id)}).status_code == 302
    assert reload(session, world.member.id).community_id == world.c.id


def test_a_member_registered_nowhere_sees_the_whole_district_s_tasks(world, session, browse):
    # Before: a member without a community saw no open tasks at all (the town filter matched nothing).
    registrations.fire(registrations.apply(world.member, {"community_id": world.a.id}).id, "accept", world.staff,
                       {"grid_id": world.grid_a.id})
    reg = reload(session, world.member.id)
    registrations.fire(reg.id, "end", world.member, {"reason": "left_unit"})
    world.task(title="清理楼道杂物")
    page = browse("member_a1").get("/").get_data(as_text=True)
    assert "清理楼道杂物" in page  # claiming is not gated by registration
