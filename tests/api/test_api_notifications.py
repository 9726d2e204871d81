"""The inbox over the API: GET /api/v1/me/notifications (unread filter, paging, text in the
caller's language) and POST /api/v1/me/notifications/read ({"ids": [...]} or {"all": true})."""
import json

import pytest
from api_helpers import assert_error

from workflow.services import claims

from tests.test_notifications import reported_claim


def returned_claims(world, n):
    out = []
    for i in range(n):
        claim = reported_claim(world, task=world.task(capacity=1))
        claims.fire(claim.id, "return", world.staff, {"reason": f"原因{i}"})
        out.append(claim)
    return out


def test_the_inbox_lists_newest_first_in_chinese_by_default_and_in_english_on_request(api, world):
    made = returned_claims(world, 3)
    response = api.get("/api/v1/me/notifications", world.member)
    assert response.status_code == 200
    items = response.get_json()
    assert [i["subject_id"] for i in items] == [c.id for c in reversed(made)]
    first = items[0]
    assert set(first) == {"id", "kind", "subject_type", "subject_id", "text", "created_at", "read_at"}
    assert (first["kind"], first["subject_type"], first["read_at"]) == ("claim_returned", "claim", None)
    assert first["text"] == "您在“为独居老人购买取暖用品”的报告被退回补充：原因2"
    assert first["created_at"].endswith("Z") and response.headers["Content-Language"] == "zh-CN"
    english = api.get("/api/v1/me/notifications", world.member, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.get_json()[0]["text"] == "Your report on “为独居老人购买取暖用品” was returned for more: 原因2"
    assert english.headers["Content-Language"] == "en"
    # Staff were told of the reports; each person sees only their own.
    staff_items = api.get("/api/v1/me/notifications", world.staff).get_json()
    assert {i["kind"] for i in staff_items} == {"claim_reported"}
    assert api.get("/api/v1/me/notifications", world.member2).get_json() == []


def test_paging_and_the_unread_filter(api, world):
    returned_claims(world, 5)
    page = api.get("/api/v1/me/notifications?page=2&page_size=2", world.member)
    assert len(page.get_json()) == 2
    assert json.loads(page.headers["X-Pagination"])["total"] == 5
    all_ids = [i["id"] for i in api.get("/api/v1/me/notifications", world.member).get_json()]
    assert [i["id"] for i in page.get_json()] == all_ids[2:4]

    marked = api.post("/api/v1/me/notifications/read", world.member, json={"ids": all_ids[:2]})
    assert marked.status_code == 200 and marked.get_json() == {"marked": 2, "unread": 3}
    unread = api.get("/api/v1/me/notifications?unread=true", world.member).get_json()
    assert [i["id"] for i in unread] == all_ids[2:]
    read = api.get("/api/v1/me/notifications", world.member).get_json()
    assert all(i["read_at"] for i in read[:2]) and not any(i["read_at"] for i in read[2:])

    assert api.post("/api/v1/me/notifications/read", world.member, json={"all": True}).get_json() == \
        {"marked": 3, "unread": 0}
    assert api.get("/api/v1/me/notifications?unread=true", world.member).get_json() == []


def test_nobody_marks_another_persons_notifications(api, world):
    returned_claims(world, 1)
    theirs = api.get("/api/v1/me/notifications", world.member).get_json()[0]["id"]
    response = api.post("/api/v1/me/notifications/read", world.member2, json={"ids": [theirs]})
    assert response.get_json() == {"marked": 0, "unread": 0}
    assert api.get("/api/v1/me/notifications", world.member).get_json()[0]["read_at"] is None
    api.post("/api/v1/me/notifications/read", world.staff, json={"all": True})
    assert api.get("/api/v1/me/notifications?unread=true", world.member).get_json() != []


@pytest.mark.parametrize("body, field", [
    ({}, "_schema"),
    ({"ids": [1], "all": True}, "_schema"),
    ({"all": False}, "all"),
    ({"ids": []}, "ids"),
    ({"ids": ["1"]}, "ids"),
    ({"ids": [2**31]}, "ids"),
    ({"ids": list(range(1, 1002))}, "ids"),
    ({"all": True, "everything": True}, "everything"),
])
def test_a_bad_mark_read_body_is_a_422_naming_the_field(api, world, body, field):
    response = api.post("/api/v1/me/notifications/read", world.member, json=body)
    errors = assert_error(response, 422, "invalid_input")["errors"]
    assert any(name.split(".")[0] == field for name in errors.get("json", errors)), errors


def test_bad_query_and_body_shapes(api, world):
    assert_error(api.get("/api/v1/me/notifications?unread=maybe", world.member), 422)
    assert_error(api.post("/api/v1/me/notifications/read", world.member, raw=b"{", content_type="application/json"),
                 400, "malformed_json")
    assert_error(api.post("/api/v1/me/notifications/read", world.member, data="ids=1",
                          content_type="application/x-www-form-urlencoded"), 415)
    assert_error(api.get("/api/v1/me/notifications"), 401)


def test_me_shows_the_callers_email(api, world):
    from workflow.models import User
    from workflow.services.tx import write_transaction

    assert api.get("/api/v1/me", world.member).get_json()["email"] is None
    with write_transaction() as s:
        s.get(User, world.member.id).email = "member@example.test"
    assert api.get("/api/v1/me", world.member).get_json()["email"] == "member@example.test"
