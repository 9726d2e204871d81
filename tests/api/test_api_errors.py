"""One error shape for every status the API promises, and never a 500 for bad input."""
from datetime import timedelta

import pytest
from api_helpers import PASSWORD, assert_error
from sqlalchemy import select

from workflow.models import ApiToken
from workflow.services import auth as auth_service
from workflow.services import claims as claim_service


def test_400_malformed_json_and_422_field_messages(api, world):
    r = api.post("/api/v1/tasks", world.staff, raw=b'{"title": ', content_type="application/json")
    assert_error(r, 400, "malformed_json")
    r = api.post("/api/v1/tasks", world.staff, raw=b"\xff\xfe", content_type="application/json")
    assert_error(r, 400, "malformed_json")
    r = api.post("/api/v1/tasks", world.staff, raw=b"[1, 2]", content_type="application/json")
    assert_error(r, 422)
    body = assert_error(api.post("/api/v1/tasks", world.staff, json={"title": "", "capacity": "x"}), 422,
                        "invalid_input")
    assert {"title", "capacity", "category", "deadline"} <= set(body["errors"]["json"])
    # Query strings are checked too, with their location.
    body = assert_error(api.get("/api/v1/tasks?community=12", world.member), 422)
    assert "community" in body["errors"]["query"]
    body = assert_error(api.get("/api/v1/units/1/feedback?month=2026-13", world.admin), 422)
    assert "month" in body["errors"]["query"]


def test_trigger_input_is_checked_by_the_pinned_schema(api, world):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    body = assert_error(api.post(f"/api/v1/claims/{claim.id}/check_in", world.member,
                                 json={"lat": 91, "lon": 10, "extra": 1}), 422)
    assert {"note", "lat", "extra"} <= set(body["errors"]["json"])
    body = assert_error(api.post(f"/api/v1/claims/{claim.id}/check_in", world.member,
                                 json={"note": "n", "photos": [12345]}), 422)
    assert "photos" in body["errors"]["json"]


def test_401_without_a_token_with_a_bad_one_an_expired_one_and_a_revoked_one(api, world):
    r = assert_error(api.get("/api/v1/me"), 401, "unauthorized")
    assert r["message"]
    assert api.get("/api/v1/me").headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401)
    assert_error(api.get("/api/v1/me", headers={"Authorization": "Bearer bd_nope"}), 401, "invalid_token")
    expired = auth_service.issue_token_for(world.member, ttl=timedelta(seconds=-1)).token
    assert_error(api.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401, "invalid_token")
    token = auth_service.issue_token_for(world.member).token
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert api.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert_error(api.get("/api/v1/me", headers=headers), 401, "invalid_token")


def test_login_issues_a_token_stored_only_as_a_hash(api, world, session):
    r = api.post("/api/v1/auth/token", json={"username": "member_a1", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert body["access_token"] not in stored and auth_service.hash_token(body["access_token"]) in stored
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}).get_json()
    assert me["username"] == "member_a1" and me["unit"]["code"] == world.unit1.code
    assert me["community"]["code"] == world.a.code and me["scope"]["kind"] == "own"
    assert_error(api.post("/api/v1/auth/token", json={"username": "member_a1"}), 422)


def test_failed_logins_are_limited_per_account_and_address_then_429(api, world):
    for _ in range(auth_service.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert_error(api.post("/api/v1/auth/token", json={"username": "staff_a", "password": "wrong"}), 401,
                     "invalid_credentials")
    r = api.post("/api/v1/auth/token", json={"username": "staff_a", "password": PASSWORD})
    body = assert_error(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    # Another account from the same address is not locked out yet; nor is this one from another address.
    assert api.post("/api/v1/auth/token", json={"username": "staff_b", "password": PASSWORD}).status_code == 200
    assert api.post("/api/v1/auth/token", json={"username": "staff_a", "password": PASSWORD},
                    headers={"X-Forwarded-For": "203.0.113.77"}).status_code == 200  # via the trusted proxy


def test_failed_logins_are_limited_per_address(api, world, monkeypatch):
    monkeypatch.setattr(auth_service, "MAX_FAILURES_PER_ADDRESS", 3)
    for name in ("nobody1", "nobody2", "nobody3"):
        assert_error(api.post("/api/v1/auth/token", json={"username": name, "password": "x"}), 401)
    assert_error(api.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}), 429)


def test_403_404_409_and_412(api, world):
    task = world.task(capacity=1)
    assert_error(api.post("/api/v1/tasks", world.member, json={}), 403, "forbidden")
    assert_error(api.get("/api/v1/claims/999999", world.member), 404, "not_found")
    assert_error(api.get("/api/v1/nowhere", world.member), 404)
    r = api.delete("/api/v1/me", world.member)
    assert_error(r, 405)
    assert "GET" in r.headers["Allow"]
    claim = api.post(f"/api/v1/tasks/{task.id}/claims", world.member).get_json()
    # Another member's claim is not found, not forbidden.
    assert_error(api.get(f"/api/v1/claims/{claim['id']}", world.member2), 404)
    # The last slot is gone: 409 with the reason.
    body = assert_error(api.post(f"/api/v1/tasks/{task.id}/claims", world.member2), 409, "transition_not_allowed")
    assert body["reason"] == "free_slot"
    # A trigger from the wrong state: 409 with the triggers that are allowed.
    body = assert_error(api.post(f"/api/v1/claims/{claim['id']}/submit_report", world.member,
                                 json={"summary": "s", "hours": 1}), 409)
    assert body["state"] == "claimed" and sorted(body["allowed_triggers"]) == ["check_in", "withdraw"]
    # Internal triggers are not routes.
    assert_error(api.post(f"/api/v1/claims/{claim['id']}/expire", world.member), 404)
    # A stale If-Match: 412 with the current version, nothing changed.
    body = assert_error(api.post(f"/api/v1/claims/{claim['id']}/withdraw", world.member,
                                 headers={"If-Match": f'"claim-{claim["id"]}-v0"'}), 412, "stale_version")
    assert body["current_version"] == 1
    assert_error(api.post(f"/api/v1/claims/{claim['id']}/withdraw", world.member,
                          headers={"If-Match": '"something-else"'}), 412)
    assert api.get(f"/api/v1/claims/{claim['id']}", world.member).get_json()["state"] == "claimed"


def test_413_by_content_length_before_reading_and_415_for_wrong_types(api, world, app):
    # A claimed 50 MB body is refused from the header alone (the test sends none of it).
    huge = api.client.post("/api/v1/uploads", headers={
        "Authorization": f"Bearer {api.token(world.member)}", "Content-Type": "multipart/form-data; boundary=x"},
        data=b"", environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)})
    assert_error(huge, 413, "too_large")
    big_json = api.post("/api/v1/tasks", world.staff, raw=b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                        content_type="application/json")
    assert_error(big_json, 413)
    # The service's own limit for a body that fits the envelope but not the photo limit.
    r = api.upload(world.member, b"\xff" * (10 * 1024 * 1024 + 10))
    assert_error(r, 413)
    assert_error(api.post("/api/v1/tasks", world.staff, raw=b"title=x", content_type="application/x-www-form-urlencoded"),
                 415, "unsupported_media_type")
    assert_error(api.post("/api/v1/uploads", world.member, json={"file": "x"}), 415)
    body = assert_error(api.upload(world.member, b"GIF89a not really"), 422)
    assert "file" in body["errors"]["files"]
    r = api.client.post("/api/v1/uploads", headers={"Authorization": f"Bearer {api.token(world.member)}"},
                        data={"other": "x"}, content_type="multipart/form-data")
    assert_error(r, 422)


def test_request_ids_are_echoed_or_made_and_no_cookie_is_ever_set(api, world):
    r = api.get("/api/v1/me", world.member, headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = api.get("/api/v1/me", world.member, headers={"X-Request-ID": "bad id with spaces" * 10})
    assert len(r.headers["X-Request-ID"]) == 32
    assert "Set-Cookie" not in api.get("/api/v1/openapi.json").headers
    for response in (api.get("/api/v1/me", world.member), api.get("/api/v1/me"), api.get("/api/v1/x")):
        assert response.headers.get("X-Request-ID")
        assert "Set-Cookie" not in response.headers
    # A session cookie from the pages does not authenticate the API.
    api.client.set_cookie("session", "anything")
    assert_error(api.get("/api/v1/me"), 401)


def test_an_unexpected_error_is_a_json_500_without_details(api, world, monkeypatch):
    from workflow.services import points
    monkeypatch.setattr(points, "ledger", lambda *a, **k: 1 / 0)
    body = assert_error(api.get("/api/v1/me/points", world.member), 500, "internal_error")
    assert "ZeroDivision" not in str(body)


def test_audit_verify_of_everything_is_for_district_supervisors_and_admins(api, world):
    world.task()
    assert api.get("/api/v1/audit/verify", world.supervisor).get_json()["ok"] is True
    assert_error(api.get("/api/v1/audit/verify", world.supervisor_town), 403)
    assert_error(api.get("/api/v1/audit/verify", world.staff), 403)
    assert_error(api.get("/api/v1/audit/verify?subject=claim:x", world.admin), 422)


def test_household_note_only_for_those_who_may_read_it(api, world):
    task = world.task()
    assert api.get(f"/api/v1/tasks/{task.id}", world.staff).get_json()["household_note"]
    assert api.get(f"/api/v1/tasks/{task.id}", world.admin).get_json()["household_note"]
    for user in (world.member, world.supervisor, world.supervisor_town):
        assert api.get(f"/api/v1/tasks/{task.id}", user).get_json()["household_note"] is None
    for row in api.get("/api/v1/tasks", world.staff).get_json():
        assert "household_note" not in row


@pytest.mark.parametrize("path", ["/api/v1/workflows", "/api/v1/workflows/dual_reporting/2"])
def test_workflows_describe_themselves(api, world, path):
    r = api.get(path, world.member)
    assert r.status_code == 200
    if path.endswith("/2"):
        d = r.get_json()
        assert d["mermaid"].startswith("---") or "stateDiagram" in d["mermaid"]
        check_in = next(t for t in d["triggers"] if t["name"] == "check_in")
        assert check_in["input_schema"]["properties"]["note"]["type"] == "string"
        assert any(f["required_for_categories"] == ["环境整治"] for f in check_in["fields"])
