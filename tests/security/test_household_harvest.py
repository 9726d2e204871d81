"""Issue 16, defect 5: household notes could be harvested — claim, read the note, withdraw, again —
reading every open task's phone and address and leaving nothing live.

Now a member opens at most BAODAO_HOUSEHOLD_READS_PER_DAY (10) different notes in 24 hours
(counted from the read log), sees phone numbers masked until an explicit, logged tap, and a
claim → note read → withdraw within an hour raises an anomaly flag for supervisors."""
from datetime import timedelta

from api_helpers import ApiClient, assert_error
from sqlalchemy import select

from api import create_app
from workflow import runtime
from workflow.clock import utcnow
from workflow.models import HouseholdNoteRead
from workflow.services import anomalies, household
from workflow.services import claims as claim_service


def phone(i: int) -> str:
    return f"1380000{i:04d}"


def tasks_with_notes(world, n: int):
    return [world.task(household_note=f"住户{i}号，电话 {phone(i)}，{i}号楼") for i in range(n)]


def reads(session, user):
    session.rollback()
    return session.scalars(select(HouseholdNoteRead).where(HouseholdNoteRead.user_id == user.id)
                           .order_by(HouseholdNoteRead.id)).all()


def test_the_harvest_loop_over_the_pages_stops_at_the_daily_limit(app, world, browse, session):
    member = browse("member_a1")
    tasks = tasks_with_notes(world, 12)
    shown = []
    for i, task in enumerate(tasks):
        claim = claim_service.start_claim(task.id, world.member)
        page = member.get(f"/claims/{claim.id}/check_in").get_data(as_text=True)
        assert phone(i) not in page  # never the whole number without a tap
        if f"住户{i}号" in page:
            assert f"*******{phone(i)[-4:]}" in page and "显示电话号码" in page
            shown.append(i)
        else:
            assert "已达每日上限" in page
        claim_service.fire(claim.id, "withdraw", world.member, {})
    assert shown == list(range(10))
    assert len({r.task_id for r in reads(session, world.member)}) == 10
    # rereading a note already opened today is free (a member going back to the check-in page)
    again = claim_service.start_claim(tasks[3].id, world.member)
    assert "住户3号" in member.get(f"/claims/{again.id}/check_in").get_data(as_text=True)
    # another member is not affected
    other = claim_service.start_claim(tasks[11].id, world.member2)
    assert "住户11号" in browse("member_a2").get(f"/claims/{other.id}/check_in").get_data(as_text=True)


def test_the_limit_is_configurable_and_counts_a_rolling_day(app, world, monkeypatch, session):
    monkeypatch.setenv("BAODAO_HOUSEHOLD_READS_PER_DAY", "3")
    configured = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "t"})
    assert configured.config["BAODAO_HOUSEHOLD_READS_PER_DAY"] == 3
    assert configured.extensions[runtime.EXTENSION].policy.household_reads_per_day == 3
    assert runtime.current().policy.household_reads_per_day == 10  # each app its own; this test's app:
    monkeypatch.setattr(runtime.current().policy, "household_reads_per_day", 3)
    tasks = tasks_with_notes(world, 4)
    now = utcnow()
    for task in tasks:
        claim_service.start_claim(task.id, world.member)
    for task in tasks[:3]:
        assert household.read_household_note(world.member, task, now=now - timedelta(hours=23))
    assert household.read_household_note(world.member, tasks[3], now=now) is None
    view = household.open_household_note(world.member, tasks[3], now=now)
    assert view.limit is not None and view.limit.limit == 3 and 3500 <= view.limit.retry_after <= 3602
    # a day after the first reads, one more fits
    assert household.read_household_note(world.member, tasks[3], now=now + timedelta(hours=1, seconds=1))
    # staff and admins are not limited
    for task in tasks:
        assert household.read_household_note(world.staff, task, now=now) == task_note(task)


def task_note(task):
    from workflow.extensions import db
    from workflow.models import HouseholdNote
    return db.session.get(HouseholdNote, task.id).note


def test_the_phone_is_shown_only_on_an_explicit_logged_tap(app, world, browse, session):
    task = tasks_with_notes(world, 1)[0]
    claim = claim_service.start_claim(task.id, world.member)
    member = browse("member_a1")
    member.get(f"/claims/{claim.id}/check_in")
    assert member.post(f"/claims/{claim.id}/household/phone", {}, csrf=False).status_code == 400
    r = member.post(f"/claims/{claim.id}/household/phone", {})
    assert r.status_code == 200 and phone(0) in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    assert [x.purpose for x in reads(session, world.member)] == ["page:check_in", "phone"]
    # another member's claim, a staff member, a supervisor: no
    assert browse("member_a2").post(f"/claims/{claim.id}/household/phone", {}).status_code == 404
    assert browse("staff_a").post(f"/claims/{claim.id}/household/phone", {}).status_code == 403
    # after the claim ends, not even its member
    claim_service.fire(claim.id, "withdraw", world.member, {})
    assert member.post(f"/claims/{claim.id}/household/phone", {}).status_code == 403


def test_the_api_masks_the_phone_reveals_it_on_request_and_refuses_past_the_limit(app, world, session, monkeypatch):
    monkeypatch.setattr(runtime.current().policy, "household_reads_per_day", 2)
    api = ApiClient(app)
    tasks = tasks_with_notes(world, 3)
    claims = [claim_service.start_claim(t.id, world.member) for t in tasks]
    body = api.get(f"/api/v1/claims/{claims[0].id}", world.member).get_json()
    assert body["household_note"] == "住户0号，电话 *******0000，0号楼"
    assert api.get(f"/api/v1/tasks/{tasks[0].id}", world.member).get_json()["household_note"].count("*") == 7
    full = api.get(f"/api/v1/claims/{claims[0].id}/household_note", world.member)
    assert full.status_code == 200 and full.get_json()["household_note"] == "住户0号，电话 13800000000，0号楼"
    assert full.headers["Cache-Control"] == "no-store"
    assert "api:phone" in [r.purpose for r in reads(session, world.member)]
    assert api.get(f"/api/v1/claims/{claims[1].id}/household_note", world.member).status_code == 200
    refused = api.get(f"/api/v1/claims/{claims[2].id}/household_note", world.member)
    body = assert_error(refused, 429, "household_read_limit")
    assert body["limit"] == 2 and int(refused.headers["Retry-After"]) == body["retry_after"] > 0
    assert api.get(f"/api/v1/claims/{claims[2].id}", world.member).get_json()["household_note"] is None
    # staff see the whole note in the claim, and are not limited
    assert api.get(f"/api/v1/claims/{claims[2].id}", world.staff).get_json()["household_note"].endswith("2号楼")
    assert_error(api.get(f"/api/v1/claims/{claims[2].id}/household_note", world.supervisor), 403, "forbidden")


def test_claim_read_withdraw_within_an_hour_is_flagged_for_supervisors(app, world, browse):
    tasks = tasks_with_notes(world, 4)
    now = utcnow() - timedelta(days=2)
    # two quick harvests by member_a1 (unit 1): claim, read, withdraw within minutes
    for i, task in enumerate(tasks[:2]):
        t = now + timedelta(hours=i)
        claim = claim_service.start_claim(task.id, world.member, now=t)
        household.read_household_note(world.member, task, purpose="check-in page", now=t + timedelta(minutes=2))
        claim_service.fire(claim.id, "withdraw", world.member, {}, now=t + timedelta(minutes=20))
    # not flagged: withdrawn after more than an hour; withdrawn without reading the note
    slow = claim_service.start_claim(tasks[2].id, world.member2, now=now)
    household.read_household_note(world.member2, tasks[2], now=now + timedelta(minutes=1))
    claim_service.fire(slow.id, "withdraw", world.member2, {}, now=now + timedelta(minutes=61))
    unread = claim_service.start_claim(tasks[3].id, world.member2, now=now)
    claim_service.fire(unread.id, "withdraw", world.member2, {}, now=now + timedelta(minutes=5))

    from workflow.extensions import db
    for reader in (world.supervisor, world.supervisor_town, world.supervisor_unit, world.admin):
        flags = anomalies.anomalies(db.session, reader)["note_harvest"]
        assert len(flags) == 1, reader.username
        assert flags[0].who == world.member.name and flags[0].params == {"count": 2, "minutes": 60}
        assert len(flags[0].claim_ids) == 2
    assert anomalies.anomalies(db.session, world.supervisor_other_town)["note_harvest"] == []
    page = browse("sup_district").get("/supervisor/anomalies").get_data(as_text=True)
    assert "查看住户信息后撤回认领" in page and "有 2 次在认领后查看住户信息" in page
