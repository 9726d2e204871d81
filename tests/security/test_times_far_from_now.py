"""Issue 16, defect 2 (outside the claim engine): times far from now.

A task deadline of 9999-12-31T23:59:59-14:00 was a 500 on the API (its UTC time is in the year
10000); `?since=0001-01-01T00:00:00+14:00` too (the year 0); a page form's deadline of
0001-01-01T00:00 and report hours `sNaN` were 500s; an export to 9999-12-31 overflowed. Stored
times at the ends of the calendar broke every page that showed them in the district's zone.
"""
import io
import json
import zipfile
from datetime import datetime, timedelta

from api_helpers import ApiClient, assert_error
from sqlalchemy import func, select, update

from workflow.clock import utcnow
from workflow.models import Claim, Report, Task, Visit
from workflow.services import claims as claim_service
from workflow.services.tx import write_transaction

FIRST = datetime(1, 1, 1)
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999)
LATE_VISIT = datetime(9999, 12, 31, 20, 0)  # the probe's check-in: the year 10000 in Beijing


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _task_body(deadline):
    return {"title": "清理楼道杂物", "category": "环境整治", "capacity": 2, "deadline": deadline}


def test_api_task_deadlines_out_of_range_are_a_422_naming_the_field(app, world, session):
    api = ApiClient(app)
    task = world.task()
    before = _count(session, Task)
    in_three_years = (utcnow() + timedelta(days=3 * 365)).isoformat() + "Z"
    for deadline in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                     in_three_years, "2001-01-01T00:00:00Z"):
        body = assert_error(api.post("/api/v1/tasks", world.staff, json=_task_body(deadline)), 422)
        assert list(body["errors"]["json"]) == ["deadline"], (deadline, body)
        body = assert_error(api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"deadline": deadline}), 422)
        assert list(body["errors"]["json"]) == ["deadline"], (deadline, body)
    assert _count(session, Task) == before
    # two years ahead less a day is fine
    ok = (utcnow() + timedelta(days=729)).isoformat() + "Z"
    assert api.post("/api/v1/tasks", world.staff, json=_task_body(ok)).status_code == 201


def test_api_query_string_times_get_a_range(app, world):
    api = ApiClient(app)
    for since in ("0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z",
                  "2100-01-01T00:00:00Z"):
        body = assert_error(api.get(f"/api/v1/claims?since={since}", world.staff), 422)
        assert "since" in body["errors"]["query"], body
    assert api.get("/api/v1/claims?since=2026-01-01T00:00:00%2B08:00", world.staff).status_code == 200


def _form(deadline):
    return {"title": "清理楼道杂物", "category": "环境整治", "capacity": "2", "points": "5", "deadline": deadline,
            "description": "", "address": "", "household_note": ""}


def test_page_task_deadlines_out_of_range_are_a_422_form_naming_the_field(app, world, browse, session):
    staff = browse("staff_a")
    task = world.task()
    before = _count(session, Task)
    cases = {"0001-01-01T00:00": "请输入有效的日期和时间", "9999-12-31T23:59": "两年以内",
             f"{utcnow().year + 3}-01-01T00:00": "两年以内", "2001-01-01T00:00": "必须晚于现在"}
    for deadline, message in cases.items():
        for path in ("/staff/tasks/new", f"/staff/tasks/{task.id}/edit"):
            staff.get(path)
            r = staff.post(path, _form(deadline))
            page = r.get_data(as_text=True)
            assert r.status_code == 422, (path, deadline, r.status_code)
            assert message in page and 'name="deadline"' in page, (path, deadline)
    session.rollback()
    assert _count(session, Task) == before
    assert session.get(Task, task.id).title != "清理楼道杂物"


def test_page_report_hours_that_are_no_number_are_a_422_form(app, world, browse, session):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "到了"})
    member = browse("member_a1")
    before = _count(session, Report)
    for hours in ("sNaN", "-sNaN", "NaN", "Infinity", "-Infinity", "snan"):
        member.get(f"/claims/{claim.id}/submit_report")
        r = member.post(f"/claims/{claim.id}/submit_report", {"summary": "完成", "hours": hours, "households": "1"})
        assert r.status_code == 422, (hours, r.status_code)
        assert 'id="hours-errors"' in r.get_data(as_text=True), hours  # the field marked, in the page's language
    assert _count(session, Report) == before
    r = member.post(f"/claims/{claim.id}/submit_report", {"summary": "完成", "hours": "1.5", "households": "1"})
    assert r.status_code == 302


def test_a_page_check_in_time_outside_the_utc_calendar_is_a_field_error(app, world, browse, session):
    """The check-in form's `time` (made from the definition) converts the district's time to UTC:
    0001-01-01 00:00 in Beijing is in the year 0 there. (How far from now a visit may be is the claim
    engine's rule; this is only the page's conversion.)"""
    claim = claim_service.start_claim(world.task().id, world.member)
    member = browse("member_a1")
    before = _count(session, Visit)
    member.get(f"/claims/{claim.id}/check_in")
    r = member.post(f"/claims/{claim.id}/check_in", {"note": "到了", "time": "0001-01-01T00:00"})
    assert r.status_code == 422 and 'id="time-errors"' in r.get_data(as_text=True)
    assert "请输入有效的日期和时间" in r.get_data(as_text=True)
    assert _count(session, Visit) == before


def test_export_dates_out_of_range_are_a_422_form_not_an_overflow(app, world, browse):
    b = browse("sup_district")
    for query in ("end=9999-12-31", "start=0001-01-01", "start=1999-12-31", "end=2100-01-01"):
        for kind, fmt in (("claims", "csv"), ("events", "xlsx")):
            r = b.get(f"/supervisor/exports/download?kind={kind}&fmt={fmt}&{query}")
            assert r.status_code == 422, (query, r.status_code)
            assert "2000-01-01 至 2100-01-01" in r.get_data(as_text=True)
    assert b.get("/supervisor/exports/download?kind=events&fmt=csv&start=2000-01-01&end=2099-12-31").status_code == 200


def _store_extremes(world):
    """Two tasks and two claims whose times sit at the calendar's ends, written straight to the
    database (as the old code let them in): a claim reported, so it is in the staff queue."""
    early, late = world.task(title="年份为一的任务"), world.task(title="年份为九九九九的任务")
    live = claim_service.start_claim(early.id, world.member)  # live and overdue: on the dashboard
    reported = claim_service.start_claim(late.id, world.member)
    claim_service.fire(reported.id, "check_in", world.member, {"note": "到了"})
    claim_service.fire(reported.id, "submit_report", world.member, {"summary": "完成", "hours": 2})
    with write_transaction() as s:
        s.execute(update(Task).where(Task.id == early.id).values(deadline=FIRST, created_at=FIRST))
        s.execute(update(Task).where(Task.id == late.id).values(deadline=LAST, updated_at=LAST))
        s.execute(update(Claim).where(Claim.id == live.id).values(created_at=FIRST, updated_at=LAST))
        s.execute(update(Claim).where(Claim.id == reported.id).values(created_at=FIRST, updated_at=LAST))
        s.execute(update(Visit).where(Visit.claim_id == reported.id).values(visited_at=LATE_VISIT, created_at=LAST))
        s.execute(update(Report).where(Report.claim_id == reported.id).values(created_at=LAST))
    return early, late, live, reported


def _iso_times(value, found):
    """Every string in an API answer that looks like a time."""
    if isinstance(value, dict):
        for item in value.values():
            _iso_times(item, found)
    elif isinstance(value, list):
        for item in value:
            _iso_times(item, found)
    elif isinstance(value, str) and len(value) == 27 and value.endswith("Z") and value[10] == "T":
        found.append(value)
    return found


def test_stored_times_at_the_ends_of_the_calendar_never_break_a_page_an_export_or_the_api(app, world, browse):
    early, late, live, reported = _store_extremes(world)
    pages = {
        "member_a1": ["/", f"/tasks/{early.id}", f"/tasks/{late.id}", f"/claims/{live.id}",
                      f"/claims/{reported.id}", f"/claims/{live.id}/check_in", "/me/points"],
        "staff_a": ["/staff/queue", "/staff/tasks", f"/staff/tasks/{late.id}/edit",
                    f"/staff/tasks/{early.id}/edit", f"/tasks/{late.id}", f"/claims/{reported.id}",
                    f"/tasks/{late.id}/cancel"],
        "sup_district": ["/supervisor/", "/supervisor/anomalies", f"/tasks/{early.id}", f"/claims/{reported.id}",
                         f"/claims/{live.id}"],
        "sup_unit": ["/supervisor/", f"/claims/{reported.id}", f"/tasks/{late.id}"],
        "admin": [f"/tasks/{late.id}", f"/claims/{reported.id}", "/supervisor/anomalies"],
    }
    for username, urls in pages.items():
        b = browse(username)
        for url in urls:
            r = b.get(url)
            assert r.status_code == 200, (username, url, r.status_code)
    queue = browse("staff_a").get("/staff/queue").get_data(as_text=True)
    assert "9999-12-31" in queue  # the report time, shown in UTC since Beijing has no year 10000
    claim_page = browse("member_a1").get(f"/claims/{reported.id}").get_data(as_text=True)
    assert "9999-12-31 20:00 UTC" in claim_page  # the visit
    edit = browse("staff_a").get(f"/staff/tasks/{early.id}/edit").get_data(as_text=True)
    assert 'name="deadline"' in edit

    b = browse("sup_district")
    for kind in ("claims", "events"):
        csv_text = b.get(f"/supervisor/exports/download?kind={kind}&fmt=csv").get_data(as_text=True)
        if kind == "claims":
            # Beijing time, to the minute; the calendar's last minute is beyond Beijing's year 9999: UTC, marked
            assert "0001-01-01 08:05" in csv_text and "9999-12-31 23:59 UTC" in csv_text
        xlsx = b.get(f"/supervisor/exports/download?kind={kind}&fmt=xlsx")
        assert xlsx.status_code == 200 and zipfile.is_zipfile(io.BytesIO(xlsx.get_data()))

    api = ApiClient(app)
    answers = [api.get(f"/api/v1/tasks/{t.id}", world.staff) for t in (early, late)]
    answers += [api.get("/api/v1/tasks", world.staff), api.get("/api/v1/claims", world.staff),
                api.get(f"/api/v1/claims/{reported.id}", world.member),
                api.get(f"/api/v1/claims/{reported.id}/events", world.supervisor),
                api.get(f"/api/v1/claims/{live.id}", world.member)]
    times = []
    for r in answers:
        assert r.status_code == 200, (r.request.path, r.get_data(as_text=True)[:300])
        _iso_times(r.get_json(), times)
    assert "0001-01-01T00:00:00.000000Z" in times and "9999-12-31T23:59:59.999999Z" in times
    assert "9999-12-31T20:00:00.000000Z" in times
    for text in times:  # every one an ISO 8601 time with a four-digit year
        datetime.fromisoformat(text[:-1])
    assert json.dumps(answers[0].get_json()).count("0001-01-01") >= 1
