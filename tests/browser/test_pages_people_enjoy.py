"""Issue 15 in real Chromium at 390×844: the prefilled resubmit and the primary action, search and
pages, a batch approval, the certificate's PDF text (pdftotext) and its public verify page, with
no sideways scroll on any of these pages."""
import re
import shutil
import subprocess

import pytest

from .conftest import PHONE


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _claim_and_report(member, task_title, *, photo=None, summary="入户完成服务。", hours="2"):
    """From the member's home: find the task, claim it, check in, report. Returns the claim id."""
    member.goto("/")
    member.fill("#task-q", task_title)
    member.click("form[role=search] button[type=submit]")
    member.wait_for_load_state()
    member.click(f"article.task a.stretched:text('{task_title}')")
    member.click("button:has-text('认领')")
    member.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(member.url.rsplit("/", 1)[1])
    member.click("a.button:has-text('入户签到')")
    member.fill("textarea[name=note]", "与住户见面，了解需求。")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    # after a check-in the main action is the report, not another check-in
    assert member.locator("a.button:not(.secondary):not(.danger)").first.inner_text() == "提交报告"
    member.click("a.button:has-text('提交报告')")
    member.fill("textarea[name=summary]", summary)
    member.fill("input[name=hours]", hours)
    if photo:
        member.set_input_files("input[type=file][name=photos]", photo)
    member.click("form.stack button[type=submit]")  # waits for the photo's upload, then goes
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    return claim_id


def test_a_returned_report_is_resubmitted_from_a_prefilled_form(login, shots, photo_file):
    member = login("member2")
    claim_id = _claim_and_report(member, "社区老年食堂助餐志愿服务", photo=photo_file, summary="协助分餐两小时。")
    staff = login("staff1")
    staff.goto("/staff/queue")
    staff.fill(f"#decide-{claim_id}-text", "请写明为几户老人送餐。")
    staff.click(f"#claim-{claim_id} button:has-text('退回补充')")
    staff.wait_for_url(re.compile(r"/staff/queue"))

    member.goto("/")
    card = member.locator(f"#claim-card-{claim_id}")
    assert "请写明为几户老人送餐" in card.inner_text()
    # on a returned claim the main action is the report
    assert card.locator("a.button:not(.secondary)").first.inner_text() == "提交报告"
    member.goto(f"/claims/{claim_id}")
    assert member.locator("a.button:not(.secondary):not(.danger)").first.inner_text() == "提交报告"
    member.click("a.button:has-text('提交报告')")
    assert "请写明为几户老人送餐" in member.inner_text("#return-reason")
    assert member.input_value("textarea[name=summary]") == "协助分餐两小时。"
    assert float(member.input_value("input[name=hours]")) == 2
    assert member.locator(".photo-list li img").count() == 1  # the last report's photo, kept …
    assert member.locator(".photo-list .remove-photo").count() == 1  # … and removable
    _no_sideways_scroll(member)
    shots(member, "07-resubmit-prefilled")
    member.fill("textarea[name=summary]", "协助分餐两小时，为三户老人送餐上门。")
    member.fill("input[name=households]", "3")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    assert "待核实" in member.inner_text("h1")

    staff.goto("/staff/queue?resubmitted=1")
    item = staff.locator(f"#claim-{claim_id}")
    text = item.inner_text()
    assert "上次退回原因" in text and "请写明为几户老人送餐" in text
    assert "服务情况已修改" in text and "服务户数: 0 → 3" in text
    _no_sideways_scroll(staff)
    item.scroll_into_view_if_needed()
    shots(staff, "16-staff-queue-resubmitted")
    staff.click(f"#claim-{claim_id} button:has-text('核实通过')")
    staff.wait_for_url(re.compile(r"/staff/queue"))
    assert "核实通过" in staff.inner_text(".flash")


def test_search_filters_and_pages(login, shots):
    member = login("member1")
    _no_sideways_scroll(member)
    total = int(member.inner_text("#open-total"))
    pages = -(-total // 10)
    assert total > 10 and f"第 1 / {pages} 页" in member.inner_text("#page-of")
    first = member.locator("article.task").evaluate_all("els => els.map(e => e.id)")
    member.click("a[rel=next]")
    member.wait_for_url(re.compile(r"page=2"))
    second = member.locator("article.task").evaluate_all("els => els.map(e => e.id)")
    assert len(first) == 10 and second and not set(first) & set(second)
    member.goto("/")
    member.fill("#task-q", "垃圾分类")
    member.select_option("#task-category", "环境整治")
    member.click("form[role=search] button[type=submit]")
    member.wait_for_load_state()
    titles = member.locator("article.task h3").all_inner_texts()
    assert titles and all("垃圾分类" in t for t in titles)
    shots(member, "02-member-search")
    # the whole card is the tap target: a tap on its facts, not its title, opens the task
    box = member.locator("article.task dl.facts").first.bounding_box()
    assert member.evaluate(f"document.elementFromPoint({box['x'] + 5}, {box['y'] + 5}).className") == "stretched"
    member.mouse.click(box["x"] + 5, box["y"] + 5)
    member.wait_for_url(re.compile(r"/tasks/\d+$"))
    member.click("a.chip:has-text('分享')")
    member.wait_for_url(re.compile(r"/share/tasks/\d+$"))
    assert member.locator("#share-card svg.qr").count() == 1 and "/tasks/" in member.inner_text("#share-link")
    _no_sideways_scroll(member)
    shots(member, "04-share-card")


def test_batch_approval_then_a_certificate_anyone_can_verify(login, shots, browser, server):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run scripts/ensure-pdftotext.sh (make test does)")
    ids = [_claim_and_report(login(name), "垃圾分类入户宣传", hours="1.5") for name in ("member1", "member2")]
    staff = login("staff1")
    staff.goto("/staff/queue")
    for claim_id in ids:
        staff.check(f"#claim-{claim_id} input[name=subject]")
    staff.fill("#batch-text", "情况属实。")
    shots(staff, "17-staff-batch")
    staff.click("#batch-form button[name=trigger][value=approve]")
    staff.wait_for_url(re.compile(r"/staff/queue"))
    assert f"已完成 2 份：#{ids[0]}, #{ids[1]}" in staff.inner_text("main")
    assert all(staff.locator(f"#claim-{i}").count() == 0 for i in ids)

    member = login("member2")
    member.goto("/me/record")
    hours = float(member.inner_text("#record-hours"))
    assert hours >= 1.5
    _no_sideways_scroll(member)
    member.click("button:has-text('出具证明')")
    member.wait_for_load_state()
    assert "已出具" in member.inner_text(".flash")
    shots(member, "09-service-record")
    link = member.locator("ul.issued a.button").first.get_attribute("href")
    code = re.search(r"/me/certificates/(\w+)\.pdf", link).group(1)
    pdf = member.request.get(link)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    words = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.body(), capture_output=True,
                           check=True).stdout.decode("utf-8")
    flat = re.sub(r"\s+", "", words)
    assert "志愿服务记录证明" in flat and "莱芜区" in flat and f"{hours:g}小时" in flat, words
    verify_url = re.search(r"https?://\S+/verify/\w+", words).group(0)
    assert verify_url.endswith(f"/verify/{code}")

    # whoever holds the paper: no login
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", base_url=server)
    public = context.new_page()
    public.goto(f"/verify/{code}")
    assert "真实有效" in public.inner_text("#verdict") and f"{hours:g}" == public.inner_text("#v-hours")
    _no_sideways_scroll(public)
    shots(public, "10-verify-genuine")
    altered = code[:-1] + ("0" if code[-1] != "0" else "1")
    public.goto(f"/verify/{altered}")
    assert "证明编号无效" in public.inner_text("#verdict")
    context.close()
