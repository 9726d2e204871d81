"""The whole run through the API, on SQLite and PostgreSQL: claim → check-in with a photo →
report → return → check-in → report → approve → points and unit feedback."""
from sqlalchemy import select

from workflow.models import AuditEvent, HouseholdNoteRead, Upload


def test_full_lifecycle_over_http(api, world, session, jpeg):
    task = world.task(points=12)
    m, staff = world.member, world.staff

    listed = api.get("/api/v1/tasks", m)
    assert listed.status_code == 200 and [t["id"] for t in listed.get_json()] == [task.id]
    assert "X-Pagination" in listed.headers
    public = listed.get_json()[0]
    assert public["community"] == {"code": world.a.code, "name": world.a.name}
    assert public["town"]["code"] == world.town.code and "household_note" not in public

    # Before claiming, the member does not see the household note; afterwards they do.
    assert api.get(f"/api/v1/tasks/{task.id}", m).get_json()["household_note"] is None
    created = api.post(f"/api/v1/tasks/{task.id}/claims", m, headers={"X-Request-ID": "req-claim-1"})
    assert created.status_code == 201, created.get_json()
    claim = created.get_json()
    cid = claim["id"]
    assert created.headers["ETag"] == claim["etag"] == f'"claim-{cid}-v1"'
    assert created.headers["Location"] == f"/api/v1/claims/{cid}"
    assert created.headers["X-Request-ID"] == "req-claim-1"
    assert claim["state"] == "claimed" and claim["definition"] == {"name": "dual_reporting", "version": 1}
    assert claim["member"] == {"id": m.id, "name": m.name}
    assert sorted(claim["allowed_triggers"]) == ["check_in", "withdraw"]
    assert "王大爷" in api.get(f"/api/v1/tasks/{task.id}", m).get_json()["household_note"]

    photo = api.upload(m, jpeg)
    assert photo.status_code == 201, photo.get_json()
    pid = photo.get_json()["id"]
    assert photo.get_json()["content_type"] == "image/jpeg"

    def fire(user, trigger, body, etag):
        r = api.post(f"/api/v1/claims/{cid}/{trigger}", user, json=body, headers={"If-Match": etag})
        assert r.status_code == 200, (trigger, r.get_json())
        assert r.headers["ETag"] == r.get_json()["etag"]
        return r

    r = fire(m, "check_in", {"note": "上门了解需求", "lat": 36.21, "lon": 117.67, "photos": [pid]}, created.headers["ETag"])
    assert r.get_json()["state"] == "visiting" and "visits" not in r.get_json()  # trigger answers stay lean
    assert api.get(f"/api/v1/claims/{cid}", m).get_json()["visits"][0]["photos"] == [pid]
    r = fire(m, "submit_report", {"summary": "已购买", "hours": 2, "households": 1}, r.headers["ETag"])
    assert r.get_json()["state"] == "reported"
    # Staff see the claim with what they may do; the member can no longer fire anything.
    staff_view = api.get(f"/api/v1/claims/{cid}", staff).get_json()
    assert sorted(staff_view["allowed_triggers"]) == ["approve", "reject", "return"]
    assert api.get(f"/api/v1/claims/{cid}", m).get_json()["allowed_triggers"] == []
    # The staff can see the photo, another member cannot.
    assert api.get(f"/api/v1/uploads/{pid}", staff).status_code == 200
    assert api.get(f"/api/v1/uploads/{pid}", world.member2).status_code == 404

    r = fire(staff, "return", {"reason": "请补充照片说明"}, r.headers["ETag"])
    assert r.get_json()["state"] == "returned" and r.get_json()["last_reason"] == "请补充照片说明"
    r = fire(m, "check_in", {"note": "补充走访"}, r.headers["ETag"])
    r = fire(m, "submit_report", {"summary": "已补充", "hours": 3, "households": 2}, r.headers["ETag"])
    r = fire(staff, "approve", {"comment": "属实"}, r.headers["ETag"])
    done = r.get_json()
    assert done["state"] == "verified" and done["final"] is True and done["version"] == 7
    assert done["allowed_triggers"] == []
    full = api.get(f"/api/v1/claims/{cid}", m).get_json()
    assert len(full["visits"]) == 2 and len(full["reports"]) == 2

    points = api.get("/api/v1/me/points", m).get_json()
    assert points["total"] == 12 and points["entries"][0]["claim_id"] == cid
    month = done["updated_at"][:7]
    feedback = api.get(f"/api/v1/units/{world.unit1.id}/feedback?month={month}", world.supervisor)
    assert feedback.status_code == 200, feedback.get_json()
    fb = feedback.get_json()
    assert (fb["verified_claims"], fb["hours"], fb["points"]) == (1, 3.0, 12)
    assert fb["members"][0]["member_id"] == m.id

    timeline = api.get(f"/api/v1/claims/{cid}/events", m).get_json()
    assert [e["trigger"] for e in timeline] == [
        "claim", "check_in", "submit_report", "return", "check_in", "submit_report", "approve"]
    assert timeline[0]["request_id"] == "req-claim-1"
    assert all(e["prev_hash"] == (timeline[i - 1]["hash"] if i else None) for i, e in enumerate(timeline))
    assert timeline[6]["actor"] == {"id": staff.id, "name": staff.name, "role": "staff"}

    verify = api.get(f"/api/v1/audit/verify?subject=claim:{cid}", world.supervisor).get_json()
    assert verify["ok"] is True and verify["checked"] == 7 and verify["head"] == timeline[-1]["hash"]
    assert api.get("/api/v1/audit/verify", world.admin).get_json()["ok"] is True

    # Request ids reach the events; household-note reads were logged; the photo is bound to the claim.
    assert session.scalar(select(AuditEvent.request_id).where(AuditEvent.subject_id == cid,
                                                              AuditEvent.subject_type == "claim",
                                                              AuditEvent.seq == 1)) == "req-claim-1"
    assert session.scalar(select(Upload.claim_id).where(Upload.id == pid)) == cid
    assert session.scalars(select(HouseholdNoteRead.user_id)).all().count(m.id) >= 1
