"""The unit's 报到 over the API: propose, accept, publish a project, take it (409 with the reason
without an active pairing), report progress with a photo, report, approve; tasks with a
project_id of the same community; the unit's resource list (contact only for the unit, paired
staff and admins); bad input is 422 naming the field."""
from datetime import timedelta

from api_helpers import assert_error

from workflow.clock import district_date, utcnow


def day(n):
    return (district_date(utcnow()) + timedelta(days=n)).isoformat()


def test_pairing_and_project_through_the_api(api, world, jpeg):
    created = api.post("/api/v1/pairings", world.liaison, headers={"Idempotency-Key": "propose-1"},
                       json={"community_id": world.a.id, "agreement": "每季度一次政策宣讲", "ends_on": day(365)})
    assert created.status_code == 201, created.get_json()
    pairing = created.get_json()
    assert (pairing["state"], pairing["unit"]["name"], pairing["allowed_triggers"]) == ("proposed", "区委组织部",
                                                                                       ["withdraw"])
    assert created.headers["Location"] == f"/api/v1/pairings/{pairing['id']}"
    replay = api.post("/api/v1/pairings", world.liaison, headers={"Idempotency-Key": "propose-1"},
                      json={"community_id": world.a.id, "agreement": "每季度一次政策宣讲", "ends_on": day(365)})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    again = assert_error(api.post("/api/v1/pairings", world.liaison, json={
        "community_id": world.a.id, "agreement": "再来", "ends_on": day(100)}), 409, "transition_not_allowed")
    assert again["reason"] == "one_live_pairing"

    project = api.post("/api/v1/projects", world.staff, json={
        "title": "村小图书角", "description": "建图书角", "category": "教育培训", "starts_on": day(0),
        "ends_on": day(60)})
    assert project.status_code == 201, project.get_json()
    ident = project.get_json()["id"]
    refused = assert_error(api.post(f"/api/v1/projects/{ident}/take", world.liaison), 409, "transition_not_allowed")
    assert refused["reason"] == "paired_with_community" and "东升社区" in refused["message"]

    listed = api.get("/api/v1/pairings?state=proposed", world.staff).get_json()
    assert [p["id"] for p in listed] == [pairing["id"]] and listed[0]["allowed_triggers"] == ["accept", "decline"]
    assert_error(api.post(f"/api/v1/pairings/{pairing['id']}/decline", world.staff, json={}), 422, "invalid_input")
    accepted = api.post(f"/api/v1/pairings/{pairing['id']}/accept", world.staff, json={},
                        headers={"If-Match": created.headers["ETag"]})
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "active"

    taken = api.post(f"/api/v1/projects/{ident}/take", world.liaison)
    assert taken.status_code == 200 and taken.get_json()["unit"]["name"] == "区委组织部"
    task = api.post(f"/api/v1/tasks?community={world.a.code}", world.staff, json={
        "title": "图书分类整理", "category": "志愿服务", "capacity": 3, "deadline": f"{utcnow().year + 1}-01-01T00:00:00Z",
        "project_id": ident})
    assert task.status_code == 201 and task.get_json()["project_id"] == ident
    assert api.post(f"/api/v1/tasks/{task.get_json()['id']}/publish", world.staff).status_code == 200
    photo = api.upload(world.liaison, jpeg).get_json()["id"]
    progress = api.post(f"/api/v1/projects/{ident}/report_progress", world.liaison,
                        json={"text": "已收集图书 80 册", "photos": [photo]})
    assert progress.status_code == 200, progress.get_json()
    assert api.get(f"/api/v1/uploads/{photo}", world.staff).status_code == 200  # the project's photo
    assert api.get(f"/api/v1/uploads/{photo}", world.liaison2).status_code == 404
    bad = assert_error(api.post(f"/api/v1/projects/{ident}/report", world.liaison, json={
        "summary": "完成", "members": "张三", "member_count": 0, "hours": -1}), 422, "invalid_input")
    assert set(bad["errors"]["json"]) == {"member_count", "hours"}
    reported = api.post(f"/api/v1/projects/{ident}/report", world.liaison, json={
        "summary": "图书角建成", "members": "张三、李四", "member_count": 2, "hours": 12})
    assert reported.status_code == 200 and reported.get_json()["state"] == "reported"
    done = api.post(f"/api/v1/projects/{ident}/approve", world.staff, json={"comment": "好"})
    assert done.get_json()["state"] == "done"
    detail = api.get(f"/api/v1/projects/{ident}", world.liaison).get_json()
    assert [r["kind"] for r in detail["reports"]] == ["progress", "completion"]
    assert detail["reports"][0]["photos"] == [photo]
    assert [t["id"] for t in detail["tasks"]] == [task.get_json()["id"]]
    events = api.get(f"/api/v1/projects/{ident}/events", world.supervisor).get_json()
    assert [e["trigger"] for e in events] == ["publish", "take", "report_progress", "report", "approve"]
    verify = api.get(f"/api/v1/audit/verify?subject=project:{ident}", world.supervisor).get_json()
    assert verify["ok"] and verify["checked"] == 5


def test_bad_input_and_tasks_of_another_communitys_project(api, world):
    for body, field in (({"community_id": world.a.id, "agreement": "x", "ends_on": "2026-02-30"}, "ends_on"),
                        ({"community_id": world.a.id, "agreement": "x", "ends_on": day(-1)}, "ends_on"),
                        ({"community_id": 2**31 - 1, "agreement": "x", "ends_on": day(9)}, "community_id"),
                        ({"community_id": world.a.id, "agreement": " ", "ends_on": day(9)}, "agreement"),
                        ({"community_id": world.a.id, "agreement": "x", "ends_on": day(9), "extra": 1}, "extra")):
        error = assert_error(api.post("/api/v1/pairings", world.liaison, json=body), 422, "invalid_input")
        assert field in error["errors"]["json"], (body, error)
    other = api.post("/api/v1/projects", world.staff_c, json={
        "title": "t", "description": "d", "category": "其他", "starts_on": day(0), "ends_on": day(5)}).get_json()
    error = assert_error(api.post(f"/api/v1/tasks?community={world.a.code}", world.staff, json={
        "title": "t", "category": "志愿服务", "capacity": 1, "deadline": f"{utcnow().year + 1}-01-01T00:00:00Z",
        "project_id": other["id"]}), 422, "invalid_input")
    assert "project_id" in error["errors"]["json"]
    error = assert_error(api.post("/api/v1/projects", world.staff, json={
        "title": "t", "description": "d", "category": "其他", "starts_on": day(5), "ends_on": day(1)}), 422)
    assert "ends_on" in error["errors"]["json"]


def test_the_units_resource_list(api, world):
    line = api.post(f"/api/v1/units/{world.unit1.id}/resources", world.liaison, json={
        "title": "法律咨询进社区", "category": "法律服务", "frequency": "每月一次", "contact": "王老师 0634-1234567"})
    assert line.status_code == 201, line.get_json()
    body = line.get_json()
    assert body["contact"] == "王老师 0634-1234567" and line.headers["ETag"] == f'"resource-{body["id"]}-v1"'
    path = f"/api/v1/units/{world.unit1.id}/resources"
    assert_error(api.get(path, world.staff), 404)  # not paired yet
    pairing = api.post("/api/v1/pairings", world.liaison, json={
        "community_id": world.a.id, "agreement": "共建", "ends_on": day(100)}).get_json()
    api.post(f"/api/v1/pairings/{pairing['id']}/accept", world.staff, json={})
    seen = api.get(path, world.staff).get_json()
    assert [r["contact"] for r in seen] == ["王老师 0634-1234567"]  # paired staff call them
    assert [r["contact"] for r in api.get(path, world.supervisor).get_json()] == [None]  # auditors read, no contact
    assert_error(api.get(path, world.liaison2), 404)
    assert_error(api.get(path, world.member), 404)
    assert_error(api.get(path, world.staff_c), 404)
    assert_error(api.patch(f"{path}/{body['id']}", world.staff, json={"title": "x"}), 403)
    assert_error(api.patch(f"{path}/{body['id']}", world.liaison, json={"retired": True},
                           headers={"If-Match": '"resource-1-v7"'}), 412)
    retired = api.patch(f"{path}/{body['id']}", world.liaison, json={"retired": True},
                        headers={"If-Match": line.headers["ETag"]})
    assert retired.status_code == 200 and retired.get_json()["retired"] is True
    error = assert_error(api.post(path, world.liaison, json={"title": "", "category": "打卡"}), 422)
    assert set(error["errors"]["json"]) == {"title", "category"}
    assert_error(api.get(f"/api/v1/units/{world.unit2.id}/registrations", world.liaison), 404)
    assert api.get(f"/api/v1/units/{world.unit1.id}/registrations", world.liaison).status_code == 200
