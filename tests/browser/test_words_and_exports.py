"""Issue 15, points 2, 7 and 8 in real Chromium at 390×844: messages in Chinese by their field, scope badges
in words, no process codes or hashes on member and staff pages, a supervisor reviewing a flag, and an
export downloaded with Chinese headers and a local-time file name."""
import csv
import io
import re

from openpyxl import load_workbook

from .conftest import PHONE
from .test_pages_people_enjoy import _claim_and_report


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def _visible_text(page) -> str:
    return page.inner_text("body")


def _some_open_task(member) -> str:
    member.goto("/")
    titles = member.locator("article.task a.stretched").all_inner_texts()
    assert titles, "no open task for the member"
    return titles[-1].strip()


def test_a_reviewed_flag_a_scope_badge_in_words_and_no_codes_for_members(login, shots):
    member = login("member7")
    claim_id = _claim_and_report(member, _some_open_task(member))  # reported within minutes: a flag
    member.goto(f"/claims/{claim_id}")
    text = _visible_text(member)
    assert not re.search(r"\w+@\d+", text) and not re.search(r"\b[0-9a-f]{16,}\b", text) and "哈希" not in text
    assert not re.search(r"^\s*#\d+\s*$", text, flags=re.M)  # no event numbers on the timeline

    staff = login("staff1")
    for url in ("/staff/queue", "/staff/tasks"):
        staff.goto(url)
        text = _visible_text(staff)
        assert not re.search(r"\w+@\d+", text) and not re.search(r"\b[0-9a-f]{16,}\b", text), url

    supervisor = login("supervisor")
    supervisor.goto("/supervisor/")
    badge = supervisor.inner_text("h1 .badge")
    assert badge == "全区" and "district" not in _visible_text(supervisor)
    town = login("supervisor_town")
    town.goto("/supervisor/")
    assert town.inner_text("h1 .badge") == "凤城街道" and "town:" not in _visible_text(town)

    supervisor.goto("/supervisor/anomalies")
    card = supervisor.locator("#quick_report ~ .card.flag", has=supervisor.locator(f"a[href='/claims/{claim_id}']"))
    assert card.count() == 1
    card.locator("summary:has-text('标记为已复核')").click()
    card.locator("textarea[name=note]").fill("已电话回访，入户属实。")
    card.locator("button:has-text('标记为已复核')").click()
    supervisor.wait_for_load_state()
    card = supervisor.locator("#quick_report ~ .card.flag", has=supervisor.locator(f"a[href='/claims/{claim_id}']"))
    reviewed = card.locator(".reviewed").inner_text()
    assert "已复核" in reviewed and "已电话回访，入户属实。" in reviewed
    _no_sideways_scroll(supervisor)
    shots(supervisor, "38-supervisor-flag-reviewed")
    # filtered by a date long past: the flag is not among them
    supervisor.goto("/supervisor/anomalies?end=2020-01-01")
    assert supervisor.locator(f"a[href='/claims/{claim_id}']").count() == 0


def test_a_bad_month_is_answered_in_chinese_by_its_field(login):
    supervisor = login("supervisor")
    supervisor.goto("/supervisor/exports")
    supervisor.fill("#month", "2026-13")
    supervisor.click("form[action$='/supervisor/feedback'] button:has-text('查看报告')")
    supervisor.wait_for_load_state()
    assert "/supervisor/feedback" in supervisor.url  # the same form, not another page
    assert supervisor.inner_text("#month-errors") == "请按“年-月”填写月份，例如 2026-11。"
    assert supervisor.input_value("#month") == "2026-13"
    _no_sideways_scroll(supervisor)


def test_an_export_downloads_with_chinese_headers_and_a_local_file_name(login, tmp_path):
    supervisor = login("supervisor")
    supervisor.goto("/supervisor/exports")
    supervisor.select_option("select[name=fmt]", "xlsx")
    with supervisor.expect_download() as info:
        supervisor.click("form[action$='/supervisor/exports/download'] button[type=submit]")
    download = info.value
    assert re.fullmatch(r"服务记录-\d{4}-\d\d-\d\d-\d{4}\.xlsx", download.suggested_filename), download.suggested_filename
    path = tmp_path / "claims.xlsx"
    download.save_as(path)
    rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    assert rows[0][:3] == ["认领编号", "状态", "任务编号"] and len(rows) > 1
    states = {r[1] for r in rows[1:]}
    assert states and all(re.fullmatch(r"[\u4e00-\u9fff]+", s) for s in states), states  # words, not codes
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r[13]) for r in rows[1:])  # 认领时间, Beijing time

    supervisor.select_option("select[name=fmt]", "csv")
    with supervisor.expect_download() as info:
        supervisor.click("form[action$='/supervisor/exports/download'] button[type=submit]")
    download = info.value
    assert re.fullmatch(r"服务记录-\d{4}-\d\d-\d\d-\d{4}\.csv", download.suggested_filename)
    text = open(download.path(), encoding="utf-8-sig").read()
    assert next(csv.reader(io.StringIO(text)))[:2] == ["认领编号", "状态"]
