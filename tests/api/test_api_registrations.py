"""The registration (报到) API: apply, the staff's triggers, grids, /me, the unit's receipt report."""
from api_helpers import assert_error

from workflow.models import Grid
from workflow.services.tx import write_transaction


def test_apply_accept_and_the_receipt_through_the_api(api, world):
    created = api.post("/api/v1/registrations", world.member,
                       json={"community_id": world.a.id, "skills": "法律咨询", "availability": "周末"},
                       headers={"Idempotency-Key": "apply-1"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["state"], body["allowed_triggers"], body["community"]["code"]) == ("applied", ["withdraw"],
                                                                                   "370116001001")
    assert created.headers["Location"] == f"/api/v1/registrations/{body['id']}"
    assert created.headers["ETag"] == f'"registration-{body["id"]}-v1"'
    replay = api.post("/api/v1/registrations", world.member, json={"community_id": world.a.id, "skills": "法律咨询",
                                                                   "availability": "周末"},
                      headers={"Idempotency-Key": "apply-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == body["id"]

    again = assert_error(api.post("/api/v1/registrations", world.member, json={"community_id": world.b.id}), 409,
                         "transition_not_allowed")
    assert again["reason"] == "one_live_registration" and "东升社区" in again["message"]

    me = api.get("/api/v1/me", world.member).get_json()
    assert me["registration"]["state"] == "applied" and me["registration"]["community"]["id"] == world.a.id

    ident = body["id"]
    listed = api.get("/api/v1/registrations?state=applied&community=370116001001", world.staff).get_json()
    assert [r["id"] for r in listed] == [ident] and listed[0]["allowed_triggers"] == ["accept", "decline"]
    missing = assert_error(api.post(f"/api/v1/registrations/{ident}/accept", world.staff, json={}), 422,
                           "invalid_input")
    assert list(missing["errors"]["json"]) == ["grid_id"]
    assert_error(api.post(f"/api/v1/registrations/{ident}/accept", world.staff, json={"grid_id": world.grid_a.id},
                          headers={"If-Match": f'"registration-{ident}-v9"'}), 412, "stale_version")
    accepted = api.post(f"/api/v1/registrations/{ident}/accept", world.staff,
                        json={"grid_id": world.grid_a.id, "households": 3}, headers={"If-Match": created.headers["ETag"]})
    assert accepted.status_code == 200, accepted.get_json()
    out = accepted.get_json()
    assert (out["state"], out["grid"]["name"], out["households"], out["accepted_by"]["id"]) == (
        "active", "第一网格", 3, world.staff.id)
    assert out["term"]["ends_at"].endswith("-12-31T16:00:00.000000Z")

    me = api.get("/api/v1/me", world.member).get_json()
    assert me["registration"]["state"] == "active" and me["community"]["code"] == "370116001001"
    assert me["registration"]["grid"]["name"] == "第一网格"
    events = api.get(f"/api/v1/registrations/{ident}/events", world.supervisor_unit).get_json()
    assert [e["trigger"] for e in events] == ["apply", "accept"]
    # The applicant's name is shown to whoever sees the registration (here: staff of the community,
    # where the member has claimed nothing; services/names.py counts registrations as scope too).
    staff_view = api.get(f"/api/v1/registrations/{ident}/events", world.staff).get_json()
    assert staff_view[0]["actor"] == {"id": world.member.id, "name": "member_a1", "role": "member"}
    verified = api.get(f"/api/v1/audit/verify?subject=registration:{ident}", world.supervisor_unit).get_json()
    assert verified["ok"] and verified["checked"] == 2

    receipt = api.get(f"/api/v1/units/{world.unit1.id}/registrations", world.supervisor_unit)
    assert receipt.status_code == 200, receipt.get_json()
    report = receipt.get_json()
    assert report["unregistered"] == 0 and report["registered"] == 1
    assert report["members"] == [{"user_id": world.member.id, "name": "member_a1", "verified_claims": 0, "hours": 0.0,
                                  "registration": {**me["registration"]}}]
    other = api.get(f"/api/v1/units/{world.unit2.id}/registrations", world.admin).get_json()
    assert other["unregistered"] == 2 and [m["registration"] for m in other["members"]] == [None, None]
    feedback = api.get(f"/api/v1/units/{world.unit1.id}/feedback", world.supervisor_unit).get_json()
    assert feedback["registration"]["registered"] == 1 and feedback["registration"]["accepted"] == 1


def test_bad_registration_input_is_a_422_naming_the_field(api, world):
    for body, field in (({}, "community_id"), ({"community_id": 999_999}, "community_id"),
                        ({"community_id": "1"}, "community_id"), ({"community_id": world.a.id, "x": 1}, "x"),
                        ({"community_id": world.a.id, "skills": "长" * 201}, "skills")):
        error = assert_error(api.post("/api/v1/registrations", world.member, json=body), 422, "invalid_input")
        assert field in error["errors"]["json"], (body, error)
    with write_transaction() as s:
        elsewhere = Grid(community_id=world.c.id, name="第一网格")
        s.add(elsewhere)
    ident = api.post("/api/v1/registrations", world.member, json={"community_id": world.a.id}).get_json()["id"]
    error = assert_error(api.post(f"/api/v1/registrations/{ident}/accept", world.staff,
                                  json={"grid_id": elsewhere.id}), 422, "invalid_input")
    assert error["errors"]["json"] == {"grid_id": ["请从选项中选择。"]}  # Chinese unless Accept-Language says en
    error = assert_error(api.post(f"/api/v1/registrations/{ident}/accept", world.staff, json={"grid_id": elsewhere.id},
                                  headers={"Accept-Language": "en"}), 422, "invalid_input")
    assert error["errors"]["json"] == {"grid_id": ["Choose one of the options."]}
    assert_error(api.post(f"/api/v1/registrations/{ident}/end", world.member, json={"reason": "moved"}), 409,
                 "transition_not_allowed")


def test_grids_of_a_community(api, world):
    listed = api.get(f"/api/v1/communities/{world.a.id}/grids", world.staff).get_json()
    assert listed == [{"id": world.grid_a.id, "name": "第一网格", "members": 0}]
    added = api.post(f"/api/v1/communities/{world.a.id}/grids", world.staff, json={"name": " 第二网格 "})
    assert added.status_code == 201 and added.get_json()["name"] == "第二网格"
    assert_error(api.post(f"/api/v1/communities/{world.a.id}/grids", world.staff, json={"name": "第二网格"}), 422)
    assert_error(api.post(f"/api/v1/communities/{world.a.id}/grids", world.staff, json={"name": ""}), 422)
    assert_error(api.post(f"/api/v1/communities/{world.a.id}/grids", world.staff, json={"name": 5}), 422)
    assert_error(api.post(f"/api/v1/communities/{world.a.id}/grids", world.staff, json={"name": "x" * 65}), 422)
    assert_error(api.get(f"/api/v1/communities/{world.c.id}/grids", world.staff), 404)
    assert_error(api.get(f"/api/v1/communities/{world.a.id}/grids", world.member), 403)
    towns = api.get("/api/v1/communities?town=370116001", world.member).get_json()
    assert [c["short_name"] for c in towns] == ["东升社区", "小曹村社区"]
    workflow = api.get("/api/v1/workflows/registration/1", world.member).get_json()
    accept = next(t for t in workflow["triggers"] if t["name"] == "accept")
    assert [(f["name"], f["type"], f["ref"]) for f in accept["fields"]][:2] == [("grid_id", "ref", "grid"),
                                                                                ("households", "integer", None)]
