"""Issue 15, point 8: exports an office can file — headers in the page's language, states as words,
Beijing time without microseconds, hours and points, file names in local time."""
import csv
import io
import re
from datetime import timedelta, timezone
from urllib.parse import unquote

from openpyxl import load_workbook

from workflow.clock import DISTRICT_TZ, district_month
from workflow.services import claims as claim_service


def _verified(world, hours=2.5):
    claim = claim_service.start_claim(world.task(points=15).id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "n"})
    claim_service.fire(claim.id, "submit_report", world.member, {"summary": "s", "hours": hours, "households": 3})
    return claim_service.fire(claim.id, "approve", world.staff, {})


def _rows(text: str) -> list[dict]:
    assert text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def _filename(response) -> tuple[str, str]:
    """(the RFC 5987 name, the ASCII fallback) of an attachment."""
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment;")
    star = re.search(r"filename\*=UTF-8''([^;]+)", header)
    plain = re.search(r'filename="([^"]+)"', header)
    assert star and plain, header
    assert plain.group(1).isascii()
    return unquote(star.group(1)), plain.group(1)


def test_the_claims_export_in_chinese_words_and_beijing_time(app, world, session, browse):
    claim = _verified(world)
    b = browse("sup_district")
    response = b.get("/supervisor/exports/download?kind=claims&fmt=csv")
    rows = _rows(response.get_data(as_text=True))
    assert list(rows[0])[:4] == ["认领编号", "状态", "任务编号", "任务"]
    assert {"核实服务时长（小时）", "服务户数", "获得积分", "任务截止时间", "认领时间"} <= set(rows[0])
    row = next(r for r in rows if r["认领编号"] == str(claim.id))
    assert row["状态"] == "已核实"  # the definition's word, not `verified`
    assert (row["核实服务时长（小时）"], row["服务户数"], row["获得积分"]) == ("2.5", "3", "15")
    created = claim.created_at.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ)
    assert row["认领时间"] == created.strftime("%Y-%m-%d %H:%M")  # Beijing time, to the minute
    for value in (row["认领时间"], row["最后更新时间"], row["任务截止时间"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", value), value  # no T, Z, seconds or microseconds
    assert "dual_reporting@" not in response.get_data(as_text=True)  # no process codes for an office
    name, fallback = _filename(response)
    assert re.fullmatch(r"服务记录-\d{4}-\d\d-\d\d-\d{4}\.csv", name), name
    assert re.fullmatch(r"service-records-\d{4}-\d\d-\d\d-\d{4}\.csv", fallback), fallback
    # the stamp is Beijing time: its date is today's in Beijing (within a minute or so of the request)
    assert name[5:15] in {(claim.updated_at + timedelta(hours=8) + timedelta(minutes=m)).strftime("%Y-%m-%d")
                          for m in (0, 5)}


def test_the_claims_export_in_english_when_the_page_is(app, world, browse):
    claim = _verified(world)
    b = browse("sup_district")
    b.client.set_cookie("lang", "en")
    response = b.get("/supervisor/exports/download?kind=claims&fmt=csv")
    rows = _rows(response.get_data(as_text=True))
    assert list(rows[0])[:4] == ["Claim no.", "State", "Task no.", "Task"]
    row = next(r for r in rows if r["Claim no."] == str(claim.id))
    assert row["State"] == "Verified" and row["Hours (verified)"] == "2.5" and row["Points awarded"] == "15"
    name, fallback = _filename(response)
    assert name.startswith("Service records-") and fallback.startswith("service-records-")


def test_the_xlsx_opens_with_openpyxl_with_chinese_headers_and_words(app, world, browse, tmp_path):
    claim = _verified(world)
    response = browse("sup_district").get("/supervisor/exports/download?kind=claims&fmt=xlsx")
    assert response.status_code == 200
    name, fallback = _filename(response)
    assert name.startswith("服务记录-") and name.endswith(".xlsx") and fallback.endswith(".xlsx")
    path = tmp_path / "claims.xlsx"
    path.write_bytes(response.get_data())
    sheet = load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["认领编号", "状态", "任务编号"]
    mine = next(r for r in rows[1:] if r[0] == claim.id)
    assert mine[1] == "已核实" and 2.5 in mine and 15 in mine
    assert not any(isinstance(v, str) and re.search(r"\d\.\d{6}|T\d\d:\d\d", v) for v in mine)
    # the audit events: triggers and states as words, seconds but no microseconds
    events = browse("sup_district").get("/supervisor/exports/download?kind=events&fmt=csv").get_data(as_text=True)
    event_rows = [r for r in _rows(events) if r["对象"] == f"claim:{claim.id}"]
    assert [r["操作"] for r in event_rows] == ["认领", "入户签到", "提交报告", "核实通过"]
    assert event_rows[0]["新状态"] == "已认领" and event_rows[0]["角色"] == "党员"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["时间"]) for r in event_rows)
    assert event_rows[-1]["新状态"] == "已核实" and event_rows[-1]["角色"] == "社区工作人员"


def test_the_monthly_feedback_title_in_proper_chinese(app, world, browse, tmp_path):
    claim = _verified(world)
    month = district_month(claim.updated_at)
    year, number = int(month[:4]), int(month[5:])
    title = f"区委组织部 {year}年{number}月 在职党员服务情况反馈"
    b = browse("sup_district")
    page = b.get(f"/supervisor/feedback?unit={world.unit1.id}&month={month}").get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page and ": " not in page.split("<h1>")[1].split("</h1>")[0]
    response = b.get(f"/supervisor/feedback?unit={world.unit1.id}&month={month}&format=xlsx")
    name, fallback = _filename(response)
    assert name == f"区委组织部-{year}年{number}月-在职党员服务情况反馈.xlsx" and fallback.isascii()
    path = tmp_path / "feedback.xlsx"
    path.write_bytes(response.get_data())
    rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    assert rows[0][0] == title
    assert rows[1] == ["党员", "核实服务次数", "时长（小时）", "服务户数", "积分"]
    assert rows[2][1:] == [1, 2.5, 3, 15] and rows[3][0] == "合计"
