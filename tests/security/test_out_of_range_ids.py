"""Issue 16, defect 3: ids and page numbers beyond 32 bits, and the API's one error shape.

`/tasks/9223372036854775808` and friends reached the views, whose queries the databases refused
(a 500); the API answered a wrong method on such a path with `{"code": "method_not_allowed"}`,
where its OpenAPI description says `code` is an integer. Every route of the app with an id is
walked here (from the url_map, so a new route is covered without a new line).
"""
import re

from api_helpers import ApiClient, assert_error

from workflow.services import claims as claim_service

TOO_LARGE = ("2147483648", "9223372036854775808", "99999999999999999999999")
INT_PART = re.compile(r"<int(?:\([^)]*\))?:[a-z_]+>")
OTHER_PART = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _paths(rule, value):
    """The rule's path with every id replaced by `value` (other parts by a plausible word)."""
    path = INT_PART.sub(value, rule.rule)
    return OTHER_PART.sub(lambda m: {"trigger": "check_in", "action": "publish", "code": "en",
                                     "filename": "x.css", "path": "x"}.get(m.group(1), "x"), path)


def _id_rules(app, api: bool):
    return [r for r in app.url_map.iter_rules()
            if INT_PART.search(r.rule) and r.rule.startswith("/api/") == api]


def test_every_page_with_an_id_answers_404_for_an_id_beyond_32_bits(app, world, browse):
    failures = []
    rules = _id_rules(app, api=False)
    assert len(rules) >= 10, [r.rule for r in rules]
    for username in ("member_a1", "staff_a", "sup_district", "admin"):
        b = browse(username)
        for rule in rules:
            for value in TOO_LARGE:
                path = _paths(rule, value)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    r = b.get(path) if method == "GET" else b.post(path, {})
                    if r.status_code != 404 or "Traceback" in r.get_data(as_text=True):
                        failures.append(f"{username} {method} {path}: {r.status_code}")
    assert not failures, "\n".join(failures[:30])


def test_the_largest_id_is_still_an_id(app, world, browse):
    """2147483647 is a valid id (not found here), 0 too; neither is refused by the router."""
    b = browse("admin")
    for path in ("/tasks/2147483647", "/claims/2147483647", "/admin/users/2147483647/edit", "/uploads/0"):
        assert b.get(path).status_code == 404, path
    task = world.task()
    assert b.get(f"/tasks/{task.id}").status_code == 200


def test_page_query_numbers_beyond_range_are_a_400_naming_the_parameter(app, world, browse):
    admin, supervisor = browse("admin"), browse("sup_district")
    cases = [(admin, "/admin/?page=9223372036854775808", "page"), (admin, "/admin/?page=0", "page"),
             (admin, "/admin/?page=-1", "page"), (admin, "/admin/?page=abc", "page"),
             (admin, "/admin/?page=100001", "page"),
             (admin, "/admin/places?town=9223372036854775808", "town"), (admin, "/admin/places?town=x", "town"),
             (supervisor, "/supervisor/feedback?unit=9223372036854775808", "unit"),
             (supervisor, "/supervisor/feedback?unit=2147483648", "unit")]
    for who, path, name in cases:
        r = who.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 400, (path, r.status_code)
        assert f"“{name}”" in page and "整数" in page, (path, page[-600:])
    # in range, the pages work as before
    assert admin.get("/admin/?page=2").status_code == 200
    assert admin.get(f"/admin/places?town={world.town.id}").status_code == 200
    assert supervisor.get(f"/supervisor/feedback?unit={world.unit1.id}").status_code == 200
    assert supervisor.get("/supervisor/feedback?unit=2147483647").status_code == 404


def test_every_api_route_with_an_id_answers_404_in_the_error_shape_for_any_method(app, world):
    api = ApiClient(app)
    failures = []
    rules = _id_rules(app, api=True)
    assert len(rules) >= 10
    for rule in rules:
        for value in TOO_LARGE:
            path = _paths(rule, value)
            for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                r = api.request(method, path, world.admin, json={})
                try:
                    assert_error(r, 404, "not_found")
                except AssertionError as exc:
                    failures.append(f"{method} {path}: {exc}")
    assert not failures, "\n".join(failures[:30])


def test_api_errors_outside_the_views_keep_the_documented_shape(app, world):
    """The issue's case, and every other error the router or the app answers for /api/."""
    api = ApiClient(app)
    body = assert_error(api.patch("/api/v1/tasks/2147483648", world.staff, json={"title": "x"}), 404, "not_found")
    assert isinstance(body["code"], int)
    task = world.task()
    r = api.request("PUT", f"/api/v1/tasks/{task.id}", world.staff, json={})
    assert_error(r, 405, "method_not_allowed")
    assert "PATCH" in r.headers["Allow"]
    r = api.request("TRACE", "/api/v1/tasks", world.staff)
    body = assert_error(r, 405, "method_not_allowed")
    r = api.get("/api/v2/tasks", world.staff)  # outside /api/v1: still JSON in the one shape
    assert r.status_code == 404 and r.get_json()["code"] == 404 and r.get_json()["error"] == "not_found"


def test_the_openapi_document_bounds_every_id_and_its_error_code_is_an_integer(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    ids = [p for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)
           for p in op.get("parameters", []) if p.get("in") == "path" and p["name"].endswith("_id")]
    ids += [p for item in spec["paths"].values() for p in item.get("parameters", [])
            if p.get("in") == "path" and p["name"].endswith("_id")]
    assert ids and all(p["schema"].get("maximum") == 2**31 - 1 for p in ids), ids
    assert spec["components"]["schemas"]["Error"]["properties"]["code"]["type"] == "integer"


def test_a_claim_in_range_still_works_over_both_interfaces(app, world, browse):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    assert browse("member_a1").get(f"/claims/{claim.id}").status_code == 200
    assert ApiClient(app).get(f"/api/v1/claims/{claim.id}", world.member).status_code == 200
