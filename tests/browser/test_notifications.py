"""The bell and the inbox in Chromium at 390×844: staff return a report, the member's bell counts
one more, the inbox links to the claim, and opening it reads the notification."""
import re
from datetime import datetime, timedelta


def bell_count(page) -> int:
    page.wait_for_selector("#bell")
    count = page.locator("#bell-count")
    return int(count.inner_text()) if count.count() else 0


def test_the_bell_counts_a_return_and_the_inbox_links_to_the_claim(login, shots):
    staff = login("staff1")
    staff.goto("/staff/tasks/new")
    staff.fill("input[name=title]", "楼道消防通道清理")
    staff.select_option("select[name=category]", "环境整治")
    staff.fill("input[name=capacity]", "2")
    staff.fill("input[name=deadline]", (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"))
    staff.click("form.stack button[type=submit]")
    staff.wait_for_url(re.compile(r"/tasks/\d+$"))
    task_url = staff.url
    staff.click("button:has-text('发布')")
    staff.wait_for_load_state()

    member = login("member2")
    member.goto(task_url)
    member.click("button:has-text('认领')")
    member.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(member.url.rsplit("/", 1)[1])
    member.click("a.button:has-text('入户签到')")
    member.fill("textarea[name=note]", "清理了三楼楼道堆放的纸箱。")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    member.click("a.button:has-text('提交报告')")
    member.fill("textarea[name=summary]", "楼道已清空，消防通道畅通。")
    member.fill("input[name=hours]", "1.5")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    member.goto("/")
    before = bell_count(member)

    staff.goto("/staff/queue")
    assert bell_count(staff) >= 1  # the report was announced to the community's staff
    card = staff.locator(f"#claim-{claim_id}")
    card.locator(f"#decide-{claim_id}-text").fill("请补充清理后的照片。")
    card.locator("button:has-text('退回补充')").click()
    staff.wait_for_url(re.compile(r"/staff/queue$"))

    member.reload()
    assert bell_count(member) == before + 1
    box = member.locator("#bell").bounding_box()
    assert box["x"] + box["width"] <= 390 and box["height"] >= 32  # on screen and big enough to tap
    member.click("#bell")
    member.wait_for_url(re.compile(r"/notifications$"))
    first = member.locator("ul.inbox li").first
    assert "unread" in first.get_attribute("class")
    link = first.locator("a.text")
    assert link.get_attribute("href") == f"/claims/{claim_id}"
    assert "请补充清理后的照片" in link.inner_text() and "楼道消防通道清理" in link.inner_text()
    shots(member, "13-member-notifications")
    link.click()
    member.wait_for_url(re.compile(rf"/claims/{claim_id}$"))
    assert "已退回" in member.inner_text("h1")
    assert bell_count(member) == before  # opening the claim read it
