"""The issue's walk-through in real Chromium at 390×844, plus language, CSRF and scope checks."""
import re

TASK = "社区老年食堂助餐志愿服务"


def _number(page, selector) -> int:
    return int(page.inner_text(selector).strip())


def test_claim_return_approve_points_and_supervisor_timeline(login, shots, photo_file):
    supervisor = login("supervisor")
    verified_before = _number(supervisor, "#month-verified")
    total_before = _number(supervisor, "#total-claims")

    member = login("member1")
    assert member.locator("html").get_attribute("lang") == "zh-CN"
    shots(member, "01-member-home")
    points_before = int(member.goto("/me/points") and member.inner_text("#points-total"))
    member.goto(f"/?q={TASK}")  # found by search
    member.click(f"article.task a:text('{TASK}')")
    member.wait_for_url(re.compile(r"/tasks/\d+$"))
    shots(member, "03-task")
    member.click("button:has-text('认领')")
    member.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(member.url.rsplit("/", 1)[1])
    assert "认领成功" in member.inner_text(".flash")

    member.click("a.button:has-text('入户签到')")
    member.fill("textarea[name=note]", "到老年食堂协助分餐，了解老人用餐需求。")
    member.set_input_files("input[name=photos]", photo_file)
    shots(member, "05-check-in")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    assert member.locator(".photos img").count() == 1
    member.click("a.button:has-text('提交报告')")
    member.fill("textarea[name=summary]", "协助分餐两小时，为三户老人送餐上门。")
    member.fill("input[name=hours]", "2")
    member.fill("input[name=households]", "3")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    assert "待核实" in member.inner_text("h1")

    staff = login("staff1")
    assert staff.url.endswith("/staff/queue")
    card = staff.locator(f"#claim-{claim_id}")
    card.locator(f"#decide-{claim_id}-text").fill("请补充送餐老人的签收情况。")
    shots(staff, "15-staff-queue")
    card.locator("button:has-text('退回补充')").click()
    staff.wait_for_url(re.compile(r"/staff/queue$"))
    assert staff.locator(f"#claim-{claim_id}").count() == 0

    member.reload()
    assert "已退回" in member.inner_text("h1") and "请补充送餐老人的签收情况" in member.inner_text(".reason")
    shots(member, "06-member-claim-returned")
    member.click("a.button:has-text('入户签到')")
    member.fill("textarea[name=note]", "补充走访，三户老人均已签收。")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    member.click("a.button:has-text('提交报告')")
    member.fill("textarea[name=summary]", "已补充签收情况。")
    member.fill("input[name=hours]", "2.5")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))

    staff.reload()
    staff.locator(f"#claim-{claim_id} button:has-text('核实通过')").click()
    staff.wait_for_url(re.compile(r"/staff/queue$"))
    assert "核实通过" in staff.inner_text(".flash")
    staff.goto("/staff/tasks")
    shots(staff, "18-staff-tasks")

    member.goto("/me/points")
    assert int(member.inner_text("#points-total")) == points_before + 10
    shots(member, "08-member-points")

    supervisor.goto(f"/claims/{claim_id}")
    assert "记录链校验通过" in supervisor.inner_text("#chain-status")
    timeline = supervisor.inner_text("ol.timeline")
    for step in ("认领", "入户签到", "提交报告", "退回补充", "核实通过"):
        assert step in timeline
    supervisor.click("button:has-text('重新校验记录链')")
    assert "记录链校验通过：共 7 条记录" in supervisor.inner_text(".flash")
    shots(supervisor, "25-supervisor-timeline")
    supervisor.goto("/supervisor/")
    assert _number(supervisor, "#month-verified") == verified_before + 1
    assert _number(supervisor, "#total-claims") == total_before + 1
    shots(supervisor, "24-supervisor-dashboard")
    supervisor.goto("/supervisor/anomalies")
    shots(supervisor, "26-supervisor-anomalies")
    supervisor.goto("/supervisor/exports")
    shots(supervisor, "27-supervisor-exports")

    # another member may not open this claim; a member may not open the staff queue
    other = login("member2")
    response = other.goto(f"/claims/{claim_id}")
    assert response.status == 404 and "未找到" in other.inner_text("h1")
    response = other.goto("/staff/queue")
    assert response.status == 403 and "您无权打开此页面" in other.inner_text("h1")
    shots(other, "33-forbidden")


def test_language_switch_and_back(login, shots):
    page = login("member1")
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Open to claim" in page.inner_text("main")
    shots(page, "14-member-home-english")
    page.goto("/me/points")
    assert "My points" in page.inner_text("h1")  # remembered across pages
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN" and "我的积分" in page.inner_text("h1")


def test_a_form_post_without_csrf_token_is_refused(login):
    page = login("member1")
    page.goto("/?q=垃圾分类入户宣传")
    page.click("article.task a:text('垃圾分类入户宣传')")
    page.wait_for_url(re.compile(r"/tasks/\d+$"))  # the task's page, not the list, loses its tokens
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_navigation() as nav:
        page.click("main button[type=submit]")
    assert nav.value.status == 400
    assert "表单已过期" in page.inner_text("main")


def test_admin_pages(login, shots):
    page = login("admin")
    assert page.url.endswith("/admin/")
    shots(page, "29-admin-users")
    page.goto("/admin/workflow")
    assert page.locator("svg.diagram").count() == 7  # dual_reporting v1, v2, task v1, v2, registration, pairing, project v1
    shots(page, "30-admin-workflow")


def test_login_page(browser, server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.goto("/login")
    assert "登录" in page.inner_text("h1")
    shots(page, "00-login")
    context.close()
