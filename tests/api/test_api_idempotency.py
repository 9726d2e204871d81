"""Idempotency-Key on POSTs and If-Match on PATCH and triggers."""
from api_helpers import assert_error, make_jpeg
from sqlalchemy import func, select

from workflow.clock import utcnow
from workflow.models import AuditEvent, Claim, IdempotencyKey, Task, Upload

# Task deadlines may be at most two years ahead (issue 16): next New Year always is.
NEXT_YEAR = utcnow().year + 1

TASK = {"title": "清理楼道杂物", "category": "环境整治", "capacity": 3, "deadline": f"{NEXT_YEAR}-01-01T00:00:00Z"}


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_a_replayed_claim_returns_the_first_response_and_creates_nothing(api, world, session):
    task = world.task()
    key = {"Idempotency-Key": "claim-once-1"}
    first = api.post(f"/api/v1/tasks/{task.id}/claims", world.member, headers=key)
    assert first.status_code == 201
    events = count(session, AuditEvent)
    again = api.post(f"/api/v1/tasks/{task.id}/claims", world.member, headers=key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Idempotent-Replayed"] == "true"
    assert count(session, Claim) == 1 and count(session, AuditEvent) == events
    # The same key for another request (path or body) is refused.
    other = world.task()
    assert_error(api.post(f"/api/v1/tasks/{other.id}/claims", world.member, headers=key), 422,
                 "idempotency_key_reused")
    # Keys belong to a user: another member may use the same string.
    assert api.post(f"/api/v1/tasks/{task.id}/claims", world.member2, headers=key).status_code == 201


def test_same_key_and_body_replays_a_task_create_another_body_is_422(api, world, session):
    key = {"Idempotency-Key": "create-7"}
    first = api.post("/api/v1/tasks", world.staff, json=TASK, headers=key)
    assert first.status_code == 201
    # Key order and whitespace do not make a different body.
    reordered = api.post("/api/v1/tasks", world.staff, json=dict(reversed(list(TASK.items()))), headers=key)
    assert reordered.status_code == 201 and reordered.get_json()["id"] == first.get_json()["id"]
    assert count(session, Task) == 1
    assert_error(api.post("/api/v1/tasks", world.staff, json={**TASK, "capacity": 4}, headers=key), 422)
    assert count(session, Task) == 1
    assert session.scalar(select(IdempotencyKey.status_code)) == 201


def test_a_trigger_replay_does_not_fire_twice(api, world, session):
    task = world.task()
    claim = api.post(f"/api/v1/tasks/{task.id}/claims", world.member).get_json()
    key = {"Idempotency-Key": "visit-1"}
    body = {"note": "第一次走访"}
    first = api.post(f"/api/v1/claims/{claim['id']}/check_in", world.member, json=body, headers=key)
    again = api.post(f"/api/v1/claims/{claim['id']}/check_in", world.member, json=body, headers=key)
    assert first.status_code == again.status_code == 200 and first.get_json() == again.get_json()
    assert api.get(f"/api/v1/claims/{claim['id']}", world.member).get_json()["version"] == 2


def test_a_failed_request_stores_no_key_and_may_be_retried(api, world, session):
    task = world.task(publish=False)
    key = {"Idempotency-Key": "publish-1"}
    assert_error(api.post(f"/api/v1/tasks/{task.id}/cancel", world.staff, json={}, headers=key), 422)
    assert count(session, IdempotencyKey) == 0
    r = api.post(f"/api/v1/tasks/{task.id}/cancel", world.staff, json={"reason": "重复"}, headers=key)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


def test_an_upload_replay_returns_the_same_upload(api, world, session):
    photo = make_jpeg()
    key = {"Idempotency-Key": "photo-1"}
    first = api.upload(world.member, photo, headers=key)
    again = api.upload(world.member, photo, filename="renamed.jpg", headers=key)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert count(session, Upload) == 1
    assert_error(api.upload(world.member, make_jpeg(color=(0, 0, 255)), headers=key), 422)


def test_bad_keys_are_400(api, world):
    task = world.task()
    assert_error(api.post(f"/api/v1/tasks/{task.id}/claims", world.member, headers={"Idempotency-Key": "x" * 129}),
                 400, "bad_idempotency_key")


def test_if_match_on_task_edits(api, world):
    task = world.task(publish=False)
    current = api.get(f"/api/v1/tasks/{task.id}", world.staff)
    etag = current.headers["ETag"]
    assert etag == current.get_json()["etag"]
    edited = api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"title": "新标题"}, headers={"If-Match": etag})
    assert edited.status_code == 200 and edited.headers["ETag"] != etag
    body = assert_error(api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"title": "再改"},
                                  headers={"If-Match": etag}), 412)
    assert body["current_version"] == edited.get_json()["version"]
    assert api.get(f"/api/v1/tasks/{task.id}", world.staff).get_json()["title"] == "新标题"
    # `*` and a list that includes the current tag both match; no header means no check.
    assert api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"points": 3},
                     headers={"If-Match": "*"}).status_code == 200
    now = api.get(f"/api/v1/tasks/{task.id}", world.staff).headers["ETag"]
    assert api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"points": 4},
                     headers={"If-Match": f'"task-1-v0", {now}'}).status_code == 200
    assert api.patch(f"/api/v1/tasks/{task.id}", world.staff, json={"points": 5}).status_code == 200


def test_two_staff_approving_with_the_same_etag_only_one_wins(api, world, session):
    task = world.task()
    claim = api.post(f"/api/v1/tasks/{task.id}/claims", world.member).get_json()
    cid = claim["id"]
    api.post(f"/api/v1/claims/{cid}/check_in", world.member, json={"note": "n"})
    reported = api.post(f"/api/v1/claims/{cid}/submit_report", world.member, json={"summary": "s", "hours": 1})
    etag = reported.headers["ETag"]
    assert api.post(f"/api/v1/claims/{cid}/approve", world.staff, json={}, headers={"If-Match": etag}).status_code == 200
    assert_error(api.post(f"/api/v1/claims/{cid}/return", world.staff, json={"reason": "r"},
                          headers={"If-Match": etag}), 412)
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_type == "claim", AuditEvent.subject_id == cid, AuditEvent.trigger == "approve")) == 1
