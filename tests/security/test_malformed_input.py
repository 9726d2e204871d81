"""Malformed input on every input schema, API and page forms: 400/422 with field messages,
never a 5xx, and nothing stored (every table's row count unchanged).

Each schema is described once (its route, a valid body, its fields' kinds); the mutations
are generated from the kinds: malformed JSON, not an object, wrong types, huge strings,
unknown fields, negative and overflowing numbers, NaN/Infinity, bad dates, and unicode
edge cases (NUL, a lone surrogate, a right-to-left override). Runs on both databases:
NUL bytes and 64-bit numbers are exactly what PostgreSQL refuses where SQLite does not.
"""
import json
from datetime import timedelta

from sqlalchemy import func, select

from workflow.clock import utcnow
from workflow.extensions import db
from workflow.services import claims as claim_service

from tests.api.api_helpers import PASSWORD, ApiClient  # noqa: F401  (PASSWORD for readers)

# Task deadlines may be at most two years ahead (issue 16): next New Year always is.
NEXT_YEAR = utcnow().year + 1

STR, TEXT_REQUIRED, INT, FLOAT, DATE, PHOTOS, CATEGORY = "str", "text!", "int", "float", "date", "photos", "category"
HUGE = "长" * 150_000  # ~450 KB of UTF-8: under the 1 MB body limit, over every field's length
UNICODE = {"NUL": "a\u0000b", "lone surrogate": "\ud800x", "RTL override": "abc\u202edcba", "C0 control": "a\x07b"}


def wrong_types(kind):
    return {STR: [123, ["x"], {"a": 1}, True], TEXT_REQUIRED: [123, ["x"], {"a": 1}, None],
            CATEGORY: [1, ["微心愿"]], INT: ["12", 1.5, [1], True], FLOAT: ["x", [1], {"a": 1}, True],
            DATE: [20260101, "yesterday", "2026-02-30T00:00:00Z", "2026-13-01", "", "9999-99-99T99:99"],
            PHOTOS: ["1", [1.5], [{"id": 1}], ["x"], 7]}[kind]


def bad_numbers(kind):
    if kind == INT:
        return [-1, 2**31, 2**63, -(2**63) - 1, 10**30]
    if kind == FLOAT:
        return [-1e308, 1e308, 10**30]
    if kind == PHOTOS:
        return [[-1], [2**31], [2**63]]
    return []


def mutations(fields: dict, valid: dict):
    """(label, raw body bytes, the field the error must name or None)."""
    out = [("malformed JSON", b'{"a": ', None), ("not an object", b"[1, 2]", None),
           ("not UTF-8", b'{"a": "\xff\xfe"}', None), ("unknown field", _dump({**valid, "evil": 1}), "evil"),
           ("NaN", _dump(valid)[:-1] + b', "zz": NaN}', None)]
    for name, kind in fields.items():
        for value in wrong_types(kind):
            out.append((f"{name}={value!r}", _dump({**valid, name: value}), name))
        for value in bad_numbers(kind):
            out.append((f"{name}={value!r}", _dump({**valid, name: value}), name))
        if kind in (STR, TEXT_REQUIRED):
            out.append((f"{name} huge", _dump({**valid, name: HUGE}), name))
            for label, text in UNICODE.items():
                out.append((f"{name} {label}", _dump({**valid, name: text}), name))
    return out


def _dump(value) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()  # \ud800 stays an escape: a lone surrogate on the wire


def row_counts() -> dict:
    counts = {}
    for table in db.metadata.sorted_tables:
        # The test client's own tokens and page sessions; the log of who was shown a household note
        # (a form shown again with its errors shows the note again) is a read log, not input.
        if table.name in ("api_tokens", "household_note_reads"):
            continue
        counts[table.name] = db.session.scalar(select(func.count()).select_from(table))
    db.session.rollback()
    return counts


def check_schema(api, user, method, path, fields, valid, *, good_status, failures):
    before = row_counts()
    for label, raw, field in mutations(fields, valid):
        r = api.request(method, path, user, raw=raw, content_type="application/json")
        status = r.status_code
        body = r.get_json(silent=True) or {}
        if status not in (400, 422):
            failures.append(f"{method} {path} [{label}]: {status} {r.get_data(as_text=True)[:160]}")
            continue
        errors = body.get("errors", {})
        if not errors or (field and field not in json.dumps(errors, ensure_ascii=False)):
            failures.append(f"{method} {path} [{label}]: no field message for {field}: {errors}")
    after = row_counts()
    if after != before:
        failures.append(f"{method} {path}: rows changed {before} → {after}")
    # The valid body still works: the refusals above were the mutations' doing.
    r = api.request(method, path, user, raw=_dump(valid), content_type="application/json")
    if r.status_code != good_status:
        failures.append(f"{method} {path} valid body: {r.status_code} {r.get_data(as_text=True)[:200]}")


TASK_FIELDS = {"title": TEXT_REQUIRED, "description": STR, "category": CATEGORY, "address": STR,
               "household_note": STR, "capacity": INT, "points": INT, "deadline": DATE, "grid": INT}


def test_every_api_input_schema_refuses_malformed_input_and_stores_nothing(app, world):
    api = ApiClient(app)
    for user in (world.member, world.staff, world.liaison):
        api.token(user)
    task = world.task()
    deadline = (utcnow() + timedelta(days=5)).isoformat() + "Z"
    valid_task = {"title": "清理楼道", "category": "环境整治", "capacity": 2, "points": 5, "deadline": deadline,
                  "description": "d", "address": "a", "household_note": "n"}
    claimed = claim_service.start_claim(task.id, world.member)
    other = world.task()
    visiting = claim_service.start_claim(other.id, world.member)
    visiting = claim_service.fire(visiting.id, "check_in", world.member, {"note": "n"})
    reported = []
    for _ in range(3):
        t = world.task()
        c = claim_service.start_claim(t.id, world.member2)
        c = claim_service.fire(c.id, "check_in", world.member2, {"note": "n"})
        reported.append(claim_service.fire(c.id, "submit_report", world.member2, {"summary": "s", "hours": 1}))
    withdrawable = claim_service.start_claim(world.task().id, world.member)
    cancellable = world.task()
    # Registrations (报到): member2 applies (the case below), member's one waits to be accepted,
    # member3's is active in community A (to move and to end; a second grid to move to).
    from workflow.services import grids, registrations
    waiting = registrations.apply(world.member, {"community_id": world.a.id})
    second_grid = grids.add_grid(world.staff, world.a.id, "第二网格").grid
    placed = registrations.apply(world.member3, {"community_id": world.a.id})
    placed = registrations.fire(placed.id, "accept", world.staff, {"grid_id": world.grid_a.id})

    # The unit's 报到: unit 1 paired with community B (so its liaison's proposal to A is new), a project
    # of B taken by unit 1 (to report on), an open one of A (to publish beside), a resource line.
    from workflow.clock import district_date
    from workflow.services import pairings, projects, resources
    today = district_date(utcnow())
    paired = pairings.propose(world.liaison, {"community_id": world.b.id, "agreement": "共建",
                                              "ends_on": (today + timedelta(days=90)).isoformat()})
    paired = pairings.fire(paired.id, "accept", world.staff_b, {})
    dates = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()}
    taken = projects.publish(world.staff_b, {"title": "t", "description": "d", "category": "其他", **dates})
    taken = projects.fire(taken.id, "take", world.liaison, {})
    line = resources.add_resource(world.liaison, world.unit1.id, {"title": "法律咨询", "category": "法律服务"})
    project_fields = {"title": TEXT_REQUIRED, "description": TEXT_REQUIRED, "category": CATEGORY,
                      "expected_outcome": STR, "starts_on": DATE, "ends_on": DATE}
    resource_fields = {"title": TEXT_REQUIRED, "category": CATEGORY, "description": STR, "frequency": STR,
                       "contact": STR}

    failures = []
    cases = [
        (world.liaison, "POST", "/api/v1/pairings", {"community_id": INT, "agreement": TEXT_REQUIRED, "ends_on": DATE},
         {"community_id": world.a.id, "agreement": "共建", "ends_on": (today + timedelta(days=60)).isoformat()}, 201),
        (world.liaison, "POST", f"/api/v1/pairings/{paired.id}/renew", {"ends_on": DATE},
         {"ends_on": (today + timedelta(days=200)).isoformat()}, 200),
        (world.staff, "POST", "/api/v1/projects", project_fields,
         {"title": "图书角", "description": "d", "category": "教育培训", **dates}, 201),
        (world.liaison, "POST", f"/api/v1/projects/{taken.id}/report_progress", {"text": TEXT_REQUIRED,
                                                                                "photos": PHOTOS},
         {"text": "进展"}, 200),
        (world.liaison, "POST", f"/api/v1/projects/{taken.id}/report",
         {"summary": TEXT_REQUIRED, "members": TEXT_REQUIRED, "member_count": INT, "hours": FLOAT, "photos": PHOTOS},
         {"summary": "完成", "members": "张三", "member_count": 1, "hours": 3}, 200),
        (world.liaison, "POST", f"/api/v1/units/{world.unit1.id}/resources", resource_fields,
         {"title": "健康义诊", "category": "医疗健康"}, 201),
        (world.liaison, "PATCH", f"/api/v1/units/{world.unit1.id}/resources/{line['id']}", resource_fields,
         {"frequency": "每月一次"}, 200),
        (None, "POST", "/api/v1/auth/token", {"username": TEXT_REQUIRED, "password": TEXT_REQUIRED},
         {"username": "member_a1", "password": PASSWORD}, 200),
        (world.staff, "POST", f"/api/v1/tasks?community={world.a.code}", TASK_FIELDS, valid_task, 201),
        (world.staff, "PATCH", f"/api/v1/tasks/{task.id}", TASK_FIELDS, {"title": "新标题"}, 200),
        (world.staff, "POST", f"/api/v1/tasks/{cancellable.id}/cancel", {"reason": TEXT_REQUIRED},
         {"reason": "取消"}, 200),
        (world.member, "POST", f"/api/v1/claims/{claimed.id}/check_in",
         {"time": DATE, "lat": FLOAT, "lon": FLOAT, "note": TEXT_REQUIRED, "photos": PHOTOS},
         {"note": "n", "lat": 36.2, "lon": 117.6}, 200),
        (world.member, "POST", f"/api/v1/claims/{visiting.id}/submit_report",
         {"summary": TEXT_REQUIRED, "hours": FLOAT, "households": INT, "photos": PHOTOS},
         {"summary": "s", "hours": 2, "households": 1}, 200),
        (world.staff, "POST", f"/api/v1/claims/{reported[0].id}/approve", {"comment": STR}, {"comment": "好"}, 200),
        (world.staff, "POST", f"/api/v1/claims/{reported[1].id}/return", {"reason": TEXT_REQUIRED},
         {"reason": "补充"}, 200),
        (world.staff, "POST", f"/api/v1/claims/{reported[2].id}/reject", {"reason": TEXT_REQUIRED},
         {"reason": "不符"}, 200),
        (world.member, "POST", f"/api/v1/claims/{withdrawable.id}/withdraw", {"reason": STR}, {"reason": "忙"}, 200),
        (world.member2, "POST", "/api/v1/registrations", {"community_id": INT, "skills": STR, "availability": STR},
         {"community_id": world.a.id, "skills": "法律咨询"}, 201),
        (world.staff, "POST", f"/api/v1/registrations/{placed.id}/move_grid",
         {"grid_id": INT, "reason": TEXT_REQUIRED}, {"grid_id": second_grid.id, "reason": "就近"}, 200),
        (world.staff, "POST", f"/api/v1/registrations/{waiting.id}/accept",
         {"grid_id": INT, "households": INT, "comment": STR}, {"grid_id": world.grid_a.id, "households": 2}, 200),
        (world.staff, "POST", f"/api/v1/registrations/{placed.id}/end", {"reason": CATEGORY, "note": STR},
         {"reason": "moved"}, 200),
        (world.staff, "POST", f"/api/v1/communities/{world.a.id}/grids", {"name": TEXT_REQUIRED},
         {"name": "第三网格"}, 201),
    ]
    for user, method, path, fields, valid, good in cases:
        check_schema(api, user, method, path, fields, valid, good_status=good, failures=failures)
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:40])


def test_query_strings_refuse_bad_values_with_field_messages(app, world):
    api = ApiClient(app)
    bad = [("/api/v1/tasks?page=-1", "page"), ("/api/v1/tasks?page_size=100000", "page_size"),
           ("/api/v1/tasks?status=nope", "status"), ("/api/v1/tasks?town=abc", "town"),
           ("/api/v1/tasks?q=%00", "q"), ("/api/v1/tasks?q=%E2%80%AEx", "q"),
           ("/api/v1/claims?since=2026-02-30", "since"), ("/api/v1/claims?since=yesterday", "since"),
           ("/api/v1/claims?task=99999999999999999999", "task"), ("/api/v1/claims?member=-5", None),
           (f"/api/v1/units/{world.unit1.id}/feedback?month=2026-00", "month"),
           ("/api/v1/audit/verify?subject=claim:abc", "subject"),
           ("/api/v1/audit/verify?subject=claim:99999999999999999999", "subject")]
    failures = []
    for path, field in bad:
        r = api.get(path, world.admin)
        body = r.get_json(silent=True) or {}
        if r.status_code not in (400, 404, 422) or (r.status_code != 404 and field and field not in json.dumps(
                body.get("errors", {}))):
            failures.append(f"{path}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    assert not failures, "\n".join(failures)


def test_page_forms_answer_malformed_input_with_a_readable_message(app, world, browse):
    """Page forms: a 4xx page or the form again with a message — never a 500, nothing stored."""
    staff = browse("staff_a")
    member = browse("member_a1")
    liaison = browse("liaison_1")
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    visiting = claim_service.start_claim(world.task().id, world.member)
    visiting = claim_service.fire(visiting.id, "check_in", world.member, {"note": "n"})
    before = row_counts()
    cases = [
        (staff, "/staff/tasks/new", {"title": "a\u0000b", "category": "微心愿", "capacity": "2", "points": "1",
                                     "deadline": f"{NEXT_YEAR}-01-01T00:00"}),
        (staff, "/staff/tasks/new", {"title": "t", "category": "微心愿", "capacity": str(2**63), "points": "1",
                                     "deadline": f"{NEXT_YEAR}-01-01T00:00"}),
        (staff, "/staff/tasks/new", {"title": "t", "category": "微心愿", "capacity": "-3", "points": "-1",
                                     "deadline": "2026-02-30T00:00"}),
        (staff, "/staff/tasks/new", {"title": HUGE[:5000], "category": "不存在", "capacity": "x", "points": "y",
                                     "deadline": "yesterday"}),
        (staff, f"/staff/tasks/{task.id}/edit", {"title": "abc\u202edcba", "category": "微心愿", "capacity": "2",
                                                 "points": "1", "deadline": f"{NEXT_YEAR}-01-01T00:00"}),
        (member, f"/claims/{claim.id}/check_in", b"note=\xed\xa0\x80"),  # a surrogate, CESU-8 encoded: not UTF-8
        (member, f"/claims/{claim.id}/check_in", b"note=ok&lat=\xff\xfe&lon=1"),
        (member, f"/claims/{claim.id}/check_in", {"note": "n", "lat": "1e400", "lon": "nan"}),
        (member, f"/claims/{claim.id}/check_in", {"note": HUGE[:20000]}),
        (member, f"/claims/{visiting.id}/submit_report", {"summary": "s", "hours": "-1", "households": str(2**40)}),
        (member, f"/claims/{visiting.id}/submit_report", {"summary": "s", "hours": "1e999", "households": "1"}),
        (member, f"/claims/{visiting.id}/submit_report", {"summary": "s", "hours": "NaN", "households": "1"}),
        (member, f"/claims/{claim.id}/withdraw", {"reason": "a\x00"}),
        # 报到: a community id that is no id, not of the chosen town, or beyond 32 bits; text with NUL
        (member, "/me/registration", {"town": "370116001", "community_id": str(2**63)}),
        (member, "/me/registration", {"town": "370116001", "community_id": "-1"}),
        (member, "/me/registration", {"town": "370116001", "community_id": str(world.c.id)}),
        (member, "/me/registration", {"town": "370116001", "community_id": str(world.a.id), "skills": "a\u0000b"}),
        (member, "/me/registration", {"town": "370116001", "community_id": str(world.a.id),
                                      "availability": HUGE[:5000]}),
        (staff, "/staff/grids", {"name": "a\u0000b"}),
        (staff, "/staff/grids", {"name": HUGE[:500]}),
        (staff, f"/staff/grids/{world.grid_a.id}/rename", {"name": "abc\u202edcba"}),
        # the unit's 报到: a proposal with NUL, a far date, an id beyond 32 bits; a project whose end is before
        # its start; a resource line with a control character
        (liaison, "/pairings/new", {"town": "370116001", "community_id": str(world.a.id), "agreement": "a\u0000b",
                                    "ends_on": "2027-01-01"}),
        (liaison, "/pairings/new", {"town": "370116001", "community_id": str(world.a.id), "agreement": "共建",
                                    "ends_on": "9999-12-31"}),
        (liaison, "/pairings/new", {"town": "370116001", "community_id": str(2**63), "agreement": "共建",
                                    "ends_on": "2027-01-01"}),
        (staff, "/staff/projects/new", {"title": "t", "description": "d", "category": "其他",
                                        "starts_on": "2030-01-10", "ends_on": "2030-01-01"}),
        (staff, "/staff/projects/new", {"title": "t", "description": HUGE[:5000], "category": "打卡",
                                        "starts_on": "yesterday", "ends_on": "2026-02-30"}),
        (liaison, "/liaison/resources/new", {"title": "a\x07b", "category": "其他"}),
        (liaison, "/liaison/resources/new", {"title": HUGE[:500], "category": "不存在"}),
    ]
    failures = []
    for who, path, data in cases:
        if isinstance(data, bytes):
            with app.app_context():
                r = who.client.post(path, data=f"csrf_token={who.token}&".encode() + data,
                                    content_type="application/x-www-form-urlencoded")
        else:
            r = who.post(path, data)
        text = r.get_data(as_text=True)
        refused = r.status_code >= 400 or (r.status_code == 200 and 'class="error' in text)
        if r.status_code >= 500 or not refused or "Traceback" in text:
            failures.append(f"{path} {data if isinstance(data, bytes) else list(data)}: {r.status_code} {text[:200]}")
    assert row_counts() == before
    assert not failures, "\n".join(failures)
