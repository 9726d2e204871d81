"""报到 in real Chromium at 390×844: a member applies by town then community, staff accept them
into a grid, the unit's supervisor sees them on the receipt report."""
import re


def test_member_applies_staff_accepts_into_a_grid_unit_supervisor_sees_the_receipt(login, shots):
    member = login("member3")  # demo: lives in 东升社区, of 区教育和体育局, not registered yet
    name = member.inner_text("header .who").split(" · ")[0].strip()
    member.click("nav.roles a:has-text('我的报到')")
    member.wait_for_url(re.compile(r"/me/registration$"))
    member.select_option("select[name=town]", label="凤城街道")
    member.click("button:has-text('显示所辖社区')")
    member.wait_for_url(re.compile(r"town=370116001"))
    member.select_option("select[name=community_id]", label="东升社区")
    member.fill("input[name=skills]", "政策宣讲")
    member.fill("input[name=availability]", "周末")
    shots(member, "11-member-registration-apply")
    member.click("#apply-form button[type=submit]")
    member.wait_for_url(re.compile(r"/me/registration$"))
    assert "报到申请已提交" in member.inner_text(".flash")
    assert "待审核" in member.inner_text("#registration")

    staff = login("staff1")
    staff.click("nav.roles a:has-text('报到审核')")
    staff.wait_for_url(re.compile(r"/staff/registrations$"))
    card = staff.locator(".card", has=staff.locator(f"h3 a:text-is('{name}')"))
    assert "政策宣讲" in card.inner_text()
    shots(staff, "19-staff-registrations")
    card.locator("a.button:has-text('接收报到')").click()
    staff.wait_for_url(re.compile(r"/registrations/\d+/accept"))
    staff.select_option("select[name=grid_id]", label="第二网格")
    staff.fill("input[name=households]", "3")
    staff.click("form.stack button[type=submit]")
    staff.wait_for_url(re.compile(r"/staff/registrations$"))
    assert "已接收报到" in staff.inner_text(".flash")
    staff.goto("/staff/roster")
    second = staff.locator("h2:has-text('第二网格') + div table")
    assert name in second.inner_text()

    member.reload()
    assert "已报到" in member.inner_text("#registration") and "第二网格" in member.inner_text("#my-grid")
    member.click("a:has-text('报到回执（打印）')")
    assert "报到回执" in member.inner_text("h1") and "区教育和体育局" in member.inner_text("#receipt")
    shots(member, "12-registration-receipt")

    supervisor = login("supervisor_unit")
    supervisor.click("nav.roles a:has-text('报到回执')")
    supervisor.wait_for_url(re.compile(r"/supervisor/receipts"))
    row = supervisor.locator("#receipt-table tr", has=supervisor.locator(f"td a:text-is('{name}')"))
    assert "东升社区" in row.inner_text() and "第二网格" in row.inner_text() and "已报到" in row.inner_text()
    unregistered = int(supervisor.inner_text("#unregistered-count"))
    first_rows = supervisor.locator("#receipt-table tbody tr").all()[:unregistered]
    assert all("未报到" in r.inner_text() for r in first_rows)  # the unregistered come first
    shots(supervisor, "28-supervisor-receipts")
