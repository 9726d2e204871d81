"""The unit's 报到 in real Chromium at 390×844: the liaison of 区委组织部 proposes a pairing to a
community, its staff accept, publish a project, the liaison takes it on and reports, the staff
approve. No page scrolls sideways."""
import re

from tests.browser.conftest import PHONE


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_liaison_proposes_staff_accept_publish_liaison_takes_and_reports_staff_approve(login, shots):
    # staff3 works for a 凤城街道 community that 区委组织部 is not paired with in the demo (its name
    # starts the staff member's name in the header).
    staff = login("staff3")
    community = staff.inner_text("header .who").split(" ")[0].strip()

    liaison = login("liaison1")
    assert "区委组织部" in liaison.inner_text("h1")
    assert "东升社区" in liaison.inner_text("#pairings")  # the demo's active pairing
    _no_sideways_scroll(liaison)
    shots(liaison, "22-liaison-home")
    liaison.click("a.button:has-text('申请结对共建')")
    liaison.wait_for_url(re.compile(r"/pairings/new"))
    liaison.select_option("select[name=town]", label="凤城街道")
    liaison.click("button:has-text('显示所辖社区')")
    liaison.wait_for_url(re.compile(r"town=370116001"))
    liaison.select_option("select[name=community_id]", label=community)
    liaison.fill("textarea[name=agreement]", "每季度开展一次党课进社区；部机关党员周末参加社区志愿服务。")
    _no_sideways_scroll(liaison)
    shots(liaison, "23-liaison-propose")
    liaison.click("#propose-form button[type=submit]")
    liaison.wait_for_url(re.compile(r"/pairings/\d+$"))
    assert "结对申请已提交" in liaison.inner_text(".flash")
    assert "待社区确认" in liaison.inner_text("h1")

    staff.click("nav.roles a:has-text('结对单位')")
    staff.wait_for_url(re.compile(r"/staff/pairings$"))
    card = staff.locator(".card", has=staff.locator("h3 a:text-is('区委组织部')"))
    assert "党课进社区" in card.inner_text()
    shots(staff, "20-staff-pairings")
    card.locator("button:has-text('同意结对')").click()
    staff.wait_for_url(re.compile(r"/staff/pairings$"))
    assert "已同意结对" in staff.inner_text(".flash")
    paired = staff.locator(".card", has=staff.locator("h3 a:text-is('区委组织部')"))
    assert "党课辅导进社区" in paired.inner_text()  # the unit's resources, now the community's to call on
    _no_sideways_scroll(staff)

    paired.locator("a.button:has-text('转为项目')").first.click()  # one action, prefilled
    staff.wait_for_url(re.compile(r"/staff/projects/new\?resource=\d+"))
    assert staff.input_value("input[name=title]") == "党课辅导进社区"
    staff.fill("input[name=title]", "社区党员冬训党课")
    _no_sideways_scroll(staff)
    staff.click("#publish-form button[type=submit]")
    staff.wait_for_url(re.compile(r"/projects/\d+$"))
    assert "项目已发布" in staff.inner_text(".flash") and "待认领" in staff.inner_text("h1")
    project_url = staff.url

    liaison.click("nav.roles a:has-text('项目清单')")
    liaison.wait_for_url(re.compile(r"/liaison/projects$"))
    card = liaison.locator(".card", has=liaison.locator("h3 a:text-is('社区党员冬训党课')"))
    liaison.once("dialog", lambda dialog: dialog.accept())  # the definition's confirmation, asked once
    card.locator("button:has-text('认领项目')").click()
    liaison.wait_for_url(re.compile(r"/liaison/projects$"))
    assert "已认领" in liaison.inner_text(".flash")
    liaison.goto(project_url)
    liaison.click("a.button:has-text('报告进展')")
    liaison.fill("textarea[name=text]", "第一次党课已开展，到课党员 36 人。")
    liaison.click("form.stack button[type=submit]")
    liaison.wait_for_url(re.compile(r"/projects/\d+$"))
    assert "进展已报告" in liaison.inner_text(".flash")
    liaison.click("a.button:has-text('报告完成')")
    liaison.fill("textarea[name=summary]", "共开展党课 3 次，覆盖社区党员 100 余人次。")
    liaison.fill("textarea[name=members]", "张伟、李娜、王强")
    liaison.fill("input[name=member_count]", "3")
    liaison.fill("input[name=hours]", "18")
    _no_sideways_scroll(liaison)
    liaison.click("form.stack button[type=submit]")
    liaison.wait_for_url(re.compile(r"/projects/\d+$"))
    assert "待验收" in liaison.inner_text("h1")

    staff.goto(project_url)
    assert "第一次党课已开展" in staff.inner_text("main") and "共开展党课 3 次" in staff.inner_text("main")
    shots(staff, "21-staff-project-review")
    staff.click("button:has-text('验收通过')")
    staff.wait_for_url(re.compile(r"/projects/\d+$"))
    assert "项目已验收完成" in staff.inner_text(".flash") and "已完成" in staff.inner_text("h1")
    assert "✔" in staff.inner_text("#chain-status")
    _no_sideways_scroll(staff)

    liaison.click("nav.roles a:has-text('年度报告')")
    assert "社区党员冬训党课" in liaison.inner_text("#yearbook")
    _no_sideways_scroll(liaison)
