"""Issue 16, defect 8: a unit-scoped supervisor saw other units' members by name on task timelines and
in the events export — a task's `fill` and `reopen` events name the member whose claim caused them.

Names of members outside the reader's scope are shown as a role ("另一单位的党员"), without their id,
in the pages, the API (task and claim events) and the exports: one rule, services/names.py."""
import csv
import io
import zipfile

from api_helpers import ApiClient

from workflow.extensions import db
from workflow.services import claims as claim_service
from workflow.services.names import visible_names, visible_person_name

OTHER_UNIT = "另一单位的党员"


def _a_task_filled_and_freed_by_another_units_member(world):
    """member_a2 (unit 2) fills the one-place task and withdraws (fill, reopen); member_a1 (unit 1) fills it."""
    task = world.task(capacity=1)
    theirs = claim_service.start_claim(task.id, world.member2)
    claim_service.fire(theirs.id, "withdraw", world.member2, {})
    mine = claim_service.start_claim(task.id, world.member)
    return task, theirs, mine


def test_the_rule_in_one_place(app, world):
    _a_task_filled_and_freed_by_another_units_member(world)
    ids = [world.member.id, world.member2.id, world.member3.id, world.staff.id, None]
    unit = visible_names(db.session, world.supervisor_unit, ids)
    assert unit[world.member.id] == "member_a1" and unit[world.member2.id] == OTHER_UNIT
    assert unit[world.member3.id] == OTHER_UNIT and unit[world.staff.id] == "staff_a"  # staff act in office
    assert unit.hidden(world.member2.id) and not unit.hidden(None) and unit.get(None, "system") == "system"
    town = visible_names(db.session, world.supervisor_town, ids)  # both claimed in the town; member_c1 did not
    assert (town[world.member2.id], town[world.member3.id]) == ("member_a2", "其他党员")
    assert visible_names(db.session, world.staff, ids)[world.member2.id] == "member_a2"  # claimed in A
    assert visible_names(db.session, world.staff_c, ids)[world.member2.id] == "其他党员"
    assert visible_names(db.session, world.member, ids)[world.member2.id] == "其他党员"
    for everyone in (world.supervisor, world.admin):
        assert visible_names(db.session, everyone, ids)[world.member3.id] == "member_c1"
    assert visible_person_name(db.session, world.member2, world.member2) == "member_a2"  # oneself


def test_the_task_timeline_page_shows_another_units_member_as_a_role(app, world, browse):
    task, _, _ = _a_task_filled_and_freed_by_another_units_member(world)
    page = browse("sup_unit").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "名额已满" in page and "重新开放" in page  # the fill and reopen events are there
    assert "member_a2" not in page and OTHER_UNIT in page
    assert "member_a1" in page  # the unit's own member fills it last
    english = browse("sup_unit")
    english.get("/lang/en?next=/")
    assert "a member of another unit" in english.get(f"/tasks/{task.id}").get_data(as_text=True)
    for reader in ("sup_district", "sup_town", "staff_a", "admin"):
        assert "member_a2" in browse(reader).get(f"/tasks/{task.id}").get_data(as_text=True), reader


def test_the_api_task_and_claim_events_show_another_units_member_as_a_role_without_id(app, world):
    task, theirs, mine = _a_task_filled_and_freed_by_another_units_member(world)
    api = ApiClient(app)
    r = api.get(f"/api/v1/tasks/{task.id}/events", world.supervisor_unit)
    assert r.status_code == 200
    actors = {(e["trigger"], e["actor"]["name"], e["actor"]["id"]) for e in r.get_json()}
    assert ("fill", OTHER_UNIT, None) in actors and ("reopen", OTHER_UNIT, None) in actors
    assert ("fill", "member_a1", world.member.id) in actors
    assert "member_a2" not in r.get_data(as_text=True)
    everyone = api.get(f"/api/v1/tasks/{task.id}/events", world.supervisor).get_data(as_text=True)
    assert "member_a2" in everyone
    # the claim's own timeline: the claimant and the staff who act on it are within scope
    events = api.get(f"/api/v1/claims/{mine.id}/events", world.supervisor_unit).get_json()
    assert {e["actor"]["name"] for e in events} == {"member_a1"}
    assert api.get(f"/api/v1/claims/{theirs.id}/events", world.supervisor_unit).status_code == 404


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))


def test_the_events_export_shows_another_units_member_as_a_role_without_id(app, world, browse):
    task, _, _ = _a_task_filled_and_freed_by_another_units_member(world)
    b = browse("sup_unit")
    text = b.get("/supervisor/exports/download?kind=events&fmt=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    task_rows = {(r["操作"], r["操作人"], r["操作人编号"]) for r in rows if r["对象"] == f"task:{task.id}"}
    assert ("名额已满", OTHER_UNIT, "") in task_rows and ("重新开放", OTHER_UNIT, "") in task_rows
    assert ("名额已满", "member_a1", str(world.member.id)) in task_rows
    assert "member_a2" not in text and f",{world.member2.id},member" not in text
    xlsx = _xlsx_text(b.get("/supervisor/exports/download?kind=events&fmt=xlsx").get_data())
    assert OTHER_UNIT in xlsx and "member_a2" not in xlsx
    district = browse("sup_district").get("/supervisor/exports/download?kind=events&fmt=csv").get_data(as_text=True)
    assert "member_a2" in district
