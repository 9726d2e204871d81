"""The scope matrix's second half: every page route (and everything else in the url_map that
is not an API resource: health, metrics, static files, the API's docs and its 404/405
fallback) × every role × an object in the caller's scope and one outside it.

Together with tests/api/test_api_scope_matrix.py this covers the app's whole url_map:
`test_one_matrix_covers_every_route_of_the_app` fails for a route in neither matrix.
Statuses are the page's: 200 a page, 302 a redirect (a form done, or a role's home),
403 the page of another role, 404 outside the caller's scope (or no such object).
"""
import json
import os
from datetime import timedelta

from workflow.clock import utcnow


from tests.api.test_api_scope_matrix import MATRIX as API_MATRIX
from tests.conftest import PASSWORD
from tests.pages.conftest import Browser
from tests.security.scope_matrix import ACTORS, NOWHERE, Objects, all_routes
from workflow.clock import utcnow

# Task deadlines may be at most two years ahead (issue 16): next New Year always is.
NEXT_YEAR = utcnow().year + 1

ALL = dict.fromkeys
MEMBER_ONLY = {"member": None, "staff": 403, "sup_town": 403, "sup_unit": 403, "admin": 403}


def only(role_status: dict, others=403):
    return {a: role_status.get(a, others) for a in ACTORS}


def both(inside: dict, outside: dict):
    return {a: (inside[a], outside[a]) for a in ACTORS}


READERS_IN = only({"sup_town": 200, "sup_unit": 200, "admin": 200})
STAFF_IN = only({"staff": 200})
LIAISON_IN = only({"liaison": 200})
ADMIN_IN = only({"admin": 200})
NONE = ALL(ACTORS, None)

# route → {actor: (in-scope status, out-of-scope status or None)}
MATRIX = {
    # -- everyone ------------------------------------------------------------------------------
    "GET /": both(only({"member": 200}, 302), NONE),
    "GET /login": both(ALL(ACTORS, 302), NONE),
    "POST /login": both(ALL(ACTORS, 302), NONE),
    "GET /logout": both(ALL(ACTORS, 200), NONE),
    "POST /logout": both(ALL(ACTORS, 302), NONE),
    "GET /lang/<code>": both(ALL(ACTORS, 302), ALL(ACTORS, 302)),
    # Anyone's own password; posted with a wrong current one (422), so the matrix's users keep theirs.
    "GET /me/password": both(ALL(ACTORS, 200), NONE),
    "POST /me/password": both(ALL(ACTORS, 422), NONE),
    "GET /healthz": both(ALL(ACTORS, 200), NONE),
    "GET /readyz": both(ALL(ACTORS, 200), NONE),
    "GET /favicon.ico": both(ALL(ACTORS, 200), NONE),
    "GET /metrics": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),  # out: a caller forwarded by a proxy
    "GET /static/<path:filename>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    # -- the API's docs and fallback (JSON 404/405 for unknown paths and methods) ---------------
    "GET /api/v1/openapi.json": both(ALL(ACTORS, 200), NONE),
    "GET /api/v1/docs": both(ALL(ACTORS, 200), NONE),
    "GET /api/v1/docs/static/<path:filename>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    **{f"{m} /api/v1": both(ALL(ACTORS, 404), NONE) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    "GET /api/v1/<path:path>": both(ALL(ACTORS, 404), NONE),
    **{f"{m} /api/v1/<path:path>": both(ALL(ACTORS, 404), ALL(ACTORS, 405)) for m in ("POST", "PUT", "PATCH", "DELETE")},
    # -- tasks and claims ------------------------------------------------------------------------
    "GET /tasks/<int:task_id>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "POST /tasks/<int:task_id>/claim": both(only({"member": 302}), only({"member": 404})),
    "GET /claims/<int:claim_id>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    # a trigger's page: 403 for a caller who sees the subject but whose role may not fire it
    "GET /claims/<int:subject_id>/<trigger>": both(only({"member": 200, "staff": 200}),
                                                   ALL(ACTORS, 404)),
    "POST /claims/<int:subject_id>/<trigger>": both(only({"member": 302, "staff": 302}),
                                                    ALL(ACTORS, 404)),
    "GET /tasks/<int:subject_id>/<trigger>": both(only({"staff": 200, "admin": 200}),
                                                  only({"member": 403, "sup_unit": 403}, 404)),
    "POST /tasks/<int:subject_id>/<trigger>": both(only({"staff": 302, "admin": 302}),
                                                   only({"member": 403, "sup_unit": 403}, 404)),
    # a decision form (the staff queue's): the pressed button names the trigger
    "POST /claims/<int:subject_id>": both(only({"member": 302, "staff": 302}), ALL(ACTORS, 404)),
    "POST /tasks/<int:subject_id>": both(only({"staff": 302, "admin": 302}),
                                         only({"member": 403, "sup_unit": 403}, 404)),
    # one trigger on several subjects: done or not, each is reported (out of scope: "not found")
    "POST /claims/batch": both(only({"staff": 302, "admin": 302}), only({"staff": 302, "admin": 302})),
    "POST /tasks/batch": both(only({"staff": 302, "admin": 302}), only({"staff": 302, "admin": 302})),
    "GET /share/tasks/<int:task_id>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "GET /share/tasks/<int:task_id>/qr.png": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "GET /me/record": both(only({"member": 200}), NONE),
    "POST /me/certificates": both(only({"member": 302}), NONE),
    "GET /me/certificates/<code>.pdf": both(only({"member": 200}), only({"member": 404})),
    # public: whoever holds the paper checks it (an unknown code is a 404 page)
    "GET /verify": both(ALL(ACTORS, 200), NONE),
    "GET /verify/<code>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "POST /uploads": both(only({"member": 201, "staff": 201}), NONE),
    "POST /claims/<int:claim_id>/household/phone": both(only({"member": 200}), only({"member": 404})),
    "GET /uploads/<int:upload_id>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "GET /uploads/<int:upload_id>/thumb": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "GET /me/points": both(only({"member": 200}), NONE),
    # -- notifications: one's own only (out: another person's notification) -----------------------
    "GET /notifications": both(ALL(ACTORS, 200), NONE),
    "POST /notifications/read": both(ALL(ACTORS, 302), NONE),
    "POST /notifications/<int:notification_id>/read": both(ALL(ACTORS, 302), ALL(ACTORS, 404)),
    "GET /notifications/settings": both(ALL(ACTORS, 200), NONE),
    "POST /notifications/settings": both(ALL(ACTORS, 302), NONE),
    # -- privacy: the public notice; each person's own data, any role -----------------------------
    "GET /privacy": both(ALL(ACTORS, 200), NONE),
    "GET /me/data": both(ALL(ACTORS, 200), NONE),
    "GET /me/data/export": both(ALL(ACTORS, 200), NONE),
    # -- staff -----------------------------------------------------------------------------------
    "GET /staff/queue": both(STAFF_IN, NONE),
    "GET /staff/community": both(STAFF_IN, NONE),
    "POST /staff/community": both(only({"staff": 302}), NONE),
    "GET /staff/tasks": both(STAFF_IN, NONE),
    "GET /staff/tasks/new": both(STAFF_IN, NONE),
    "POST /staff/tasks/new": both(only({"staff": 302}), NONE),
    "GET /staff/tasks/<int:task_id>/edit": both(STAFF_IN, only({"staff": 404})),
    "POST /staff/tasks/<int:task_id>/edit": both(only({"staff": 302}), only({"staff": 404})),
    # -- supervisors (and admins) ----------------------------------------------------------------
    "GET /supervisor/": both(READERS_IN, NONE),
    "GET /supervisor/anomalies": both(READERS_IN, NONE),
    # a flag in scope is reviewed (or was already: both go back to the list); one outside is not found
    "POST /supervisor/anomalies/review": both(only({"sup_town": 302, "sup_unit": 302, "admin": 302}),
                                              only({"sup_town": 404, "sup_unit": 404, "admin": 404})),
    "GET /supervisor/claims": both(READERS_IN, NONE),
    "GET /supervisor/exports": both(READERS_IN, NONE),
    "GET /supervisor/exports/download": both(READERS_IN, NONE),
    "GET /supervisor/feedback": both(only({"sup_town": 404, "sup_unit": 200, "admin": 200}),
                                     only({"sup_town": 404, "sup_unit": 404, "admin": 404})),
    "POST /supervisor/verify": both(only({"sup_town": 302, "sup_unit": 302, "admin": 302}),  # to the timeline
                                    only({"sup_town": 404, "sup_unit": 404, "admin": 404})),
    # -- registrations (报到) -------------------------------------------------------------------------
    "GET /me/registration": both(only({"member": 200}), NONE),
    "POST /me/registration": both(only({"member": 302}), NONE),
    "GET /registrations/<int:registration_id>": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    "GET /registrations/<int:registration_id>/receipt": both(ALL(ACTORS, 200), ALL(ACTORS, 404)),
    # member: end (their own); staff: accept (a grid picker); admin: end; supervisors see it but change nothing
    "GET /registrations/<int:subject_id>/<trigger>": both(only({"member": 200, "staff": 200, "admin": 200}),
                                                          ALL(ACTORS, 404)),
    "POST /registrations/<int:subject_id>/<trigger>": both(only({"member": 302, "staff": 302, "admin": 302}),
                                                           ALL(ACTORS, 404)),
    "GET /staff/registrations": both(STAFF_IN, NONE),
    "GET /staff/roster": both(STAFF_IN, NONE),
    "GET /staff/grids": both(STAFF_IN, NONE),
    "POST /staff/grids": both(only({"staff": 302}), NONE),
    "POST /staff/grids/<int:grid_id>/rename": both(only({"staff": 302}), only({"staff": 404})),
    "POST /staff/grids/<int:grid_id>/delete": both(only({"staff": 302}), only({"staff": 404})),
    "GET /supervisor/receipts": both(only({"sup_town": 404, "sup_unit": 200, "admin": 200}),
                                     only({"sup_town": 404, "sup_unit": 404, "admin": 404})),
    "GET /supervisor/receipts/download": both(only({"sup_town": 404, "sup_unit": 200, "admin": 200}),
                                              only({"sup_town": 404, "sup_unit": 404, "admin": 404})),
    "GET /supervisor/registrations": both(only({"sup_town": 200, "sup_unit": 302, "admin": 200}), NONE),
    # -- the unit's 报到 (pairings, projects, resources) ---------------------------------------------------
    "GET /liaison/": both(LIAISON_IN, NONE),
    "GET /liaison/projects": both(LIAISON_IN, NONE),
    "GET /liaison/year": both(LIAISON_IN, NONE),
    "GET /liaison/resources/new": both(LIAISON_IN, NONE),
    "POST /liaison/resources/new": both(only({"liaison": 302}), NONE),
    "GET /liaison/resources/<int:resource_id>/edit": both(LIAISON_IN, only({"liaison": 404})),
    "POST /liaison/resources/<int:resource_id>/edit": both(only({"liaison": 302}), only({"liaison": 404})),
    "POST /liaison/resources/<int:resource_id>/retire": both(only({"liaison": 302}), only({"liaison": 404})),
    "GET /pairings/new": both(only({"liaison": 200, "admin": 200}), NONE),
    "POST /pairings/new": both(only({"liaison": 302, "admin": 302}), NONE),
    # members: not a member's page (403); another unit's, community's, town's: 404
    "GET /pairings/<int:pairing_id>": both(only({"staff": 200, "sup_town": 200, "sup_unit": 200, "liaison": 200,
                                                 "admin": 200}), only({"member": 403}, 404)),
    "GET /projects/<int:project_id>": both(only({"staff": 200, "sup_town": 200, "sup_unit": 200, "liaison": 200,
                                                 "admin": 200}), only({"member": 403}, 404)),
    # staff accept, the liaison withdraws, an admin ends; supervisors see it and change nothing
    "GET /pairings/<int:subject_id>/<trigger>": both(only({"member": 404, "staff": 200, "liaison": 200, "admin": 200}),
                                                     ALL(ACTORS, 404)),
    "POST /pairings/<int:subject_id>/<trigger>": both(only({"member": 404, "staff": 302, "liaison": 302,
                                                            "admin": 302}), ALL(ACTORS, 404)),
    # staff approve, the liaison reports progress, an admin cancels
    "GET /projects/<int:subject_id>/<trigger>": both(only({"member": 404, "staff": 200, "liaison": 200, "admin": 200}),
                                                     ALL(ACTORS, 404)),
    "POST /projects/<int:subject_id>/<trigger>": both(only({"member": 404, "staff": 302, "liaison": 302,
                                                            "admin": 302}), ALL(ACTORS, 404)),
    "GET /staff/pairings": both(STAFF_IN, NONE),
    "GET /staff/projects": both(STAFF_IN, NONE),
    "GET /staff/projects/new": both(STAFF_IN, NONE),
    "POST /staff/projects/new": both(only({"staff": 302}), NONE),
    "GET /supervisor/pairings": both(READERS_IN, NONE),
    "GET /supervisor/pairings/download": both(READERS_IN, NONE),
    "GET /supervisor/projects": both(READERS_IN, NONE),
    # -- admins ----------------------------------------------------------------------------------
    "GET /admin/": both(ADMIN_IN, NONE),
    "GET /admin/import": both(ADMIN_IN, NONE),
    "POST /admin/import": both(ADMIN_IN, NONE),
    "GET /admin/places": both(ADMIN_IN, NONE),
    "GET /admin/workflow": both(ADMIN_IN, NONE),
    "GET /admin/users/new": both(ADMIN_IN, NONE),
    "POST /admin/users/new": both(only({"admin": 302}), NONE),
    "GET /admin/users/<int:user_id>/edit": both(ADMIN_IN, only({"admin": 404})),
    "POST /admin/users/<int:user_id>/edit": both(only({"admin": 302}), only({"admin": 404})),
    "POST /admin/users/<int:user_id>/active": both(only({"admin": 302}), only({"admin": 404})),
    "GET /admin/outbox": both(ADMIN_IN, NONE),
    "POST /admin/outbox/retry": both(only({"admin": 302}), NONE),
    "POST /admin/users/<int:user_id>/sessions/end": both(only({"admin": 302}), only({"admin": 404})),
    "POST /admin/users/<int:user_id>/password": both(only({"admin": 302}), only({"admin": 404})),
    "GET /admin/towns/<code>/communities": both(ADMIN_IN, only({"admin": 404})),
    "GET /admin/import/template.<fmt>": both(ADMIN_IN, only({"admin": 404})),
    "GET /admin/security": both(ADMIN_IN, NONE),
    "GET /admin/audit": both(ADMIN_IN, NONE),
}


# Unit 1's liaison on the pages of other roles: a claim's page is not theirs (403), nor are its photos
# (404: not theirs to see); a trigger page of a claim they cannot see is 404; tasks they read as
# members do (a published task of another community: 403 on its staff's pages); their own unit's
# receipt report, reached through the supervisors' page (another unit's: 404); photo uploads (a
# project's reports).
LIAISON_ON_OTHER_PAGES = {
    "GET /claims/<int:claim_id>": (403, 403),
    "GET /claims/<int:subject_id>/<trigger>": (404, 404),
    "POST /claims/<int:subject_id>/<trigger>": (404, 404),
    "POST /claims/<int:subject_id>": (403, 403),
    "GET /tasks/<int:subject_id>/<trigger>": (403, 403),
    "POST /tasks/<int:subject_id>/<trigger>": (403, 403),
    "POST /tasks/<int:subject_id>": (403, 403),
    "GET /uploads/<int:upload_id>": (404, 404),
    "GET /uploads/<int:upload_id>/thumb": (404, 404),
    "POST /uploads": (201, None),
    "GET /supervisor/receipts": (200, 404),
    "GET /supervisor/receipts/download": (200, 404),
}
for _route, _statuses in LIAISON_ON_OTHER_PAGES.items():
    MATRIX[_route] = {**MATRIX[_route], "liaison": _statuses}


def test_one_matrix_covers_every_route_of_the_app(app):
    covered = set(API_MATRIX) | set(MATRIX)
    routes = all_routes(app)
    assert routes - covered == set(), "routes without a scope-matrix row (pages: here; API: tests/api/…)"
    assert covered - routes == set(), "matrix rows without a route"
    assert not set(API_MATRIX) & set(MATRIX)
    assert all(set(row) == set(ACTORS) for row in MATRIX.values())


def _task_form(title="清理楼道"):
    return {"title": title, "category": "环境整治", "capacity": "2", "points": "5", "deadline": f"{NEXT_YEAR}-01-01T00:00",
            "description": "", "address": "", "household_note": ""}


def case(route, actor, objs, app):
    """(in-scope request, out-of-scope request or None): each (method, path, form data)."""
    method, rule = route.split(" ", 1)
    w = objs.w
    admin = actor == "admin"
    me = objs.actor(actor)

    def pair(fmt, inside, outside, data=None):
        return (method, fmt.format(inside), data), (None if outside is None else (method, fmt.format(outside), data))

    if rule == "/login":
        return (method, "/login", {"username": me.username, "password": PASSWORD}), None
    if rule == "/lang/<code>":
        return (method, "/lang/en?next=/", None), (method, "/lang/xx?next=https://evil.example/", None)
    if rule == "/metrics":
        return (method, "/metrics", None), (method, "/metrics", {"_headers": {"X-Forwarded-For": "203.0.113.9"}})
    if rule == "/static/<path:filename>":
        return pair("/static/{}", "css/baodao.css", "../instance/secret_key")
    if rule == "/api/v1/docs/static/<path:filename>":
        return pair("/api/v1/docs/static/{}", "swagger-ui-bundle.js", "../../etc/passwd")
    if rule == "/api/v1/<path:path>":
        return (method, "/api/v1/nowhere", None), ((method, "/api/v1/me", None) if method != "GET" else None)
    if rule == "/tasks/<int:task_id>":
        inside = objs.task(True)
        return pair("/tasks/{}", inside.id, NOWHERE if admin else objs.task(False, publish=False).id)
    if rule == "/tasks/<int:task_id>/claim":
        return pair("/tasks/{}/claim", objs.task(True).id, NOWHERE if admin else objs.task(True, publish=False).id)
    if rule == "/claims/<int:claim_id>":
        return pair("/claims/{}", objs.claim(True)[0].id, NOWHERE if admin else objs.claim(False)[0].id)
    if rule == "/tasks/<int:subject_id>/<trigger>":
        inside, outside = objs.task(True).id, NOWHERE if admin else objs.task(False).id
        return pair("/tasks/{}/close", inside, outside, {})
    if rule == "/uploads" and method == "POST":
        from io import BytesIO

        from tests.images import png_bytes
        return (method, rule, {"file": (BytesIO(png_bytes()), "p.png")}), None
    if rule == "/claims/<int:subject_id>/<trigger>":
        if actor == "staff":
            inside, outside = objs.claim(True, "reported")[0].id, objs.claim(False, "reported")[0].id
            return pair("/claims/{}/approve", inside, outside, {"comment": "好"})
        inside, outside = objs.claim(True)[0].id, NOWHERE if admin else objs.claim(False)[0].id
        return pair("/claims/{}/check_in", inside, outside, {"note": "走访"})
    if rule == "/claims/<int:subject_id>":
        if actor == "member":
            inside, outside = objs.claim(True)[0].id, objs.claim(False)[0].id
            return pair("/claims/{}", inside, outside, {"trigger": "withdraw", "text": ""})
        inside = objs.claim(True, "reported")[0].id
        outside = NOWHERE if admin else objs.claim(False, "reported")[0].id
        return pair("/claims/{}", inside, outside, {"trigger": "approve", "text": "好"})
    if rule == "/tasks/<int:subject_id>":
        inside, outside = objs.task(True).id, NOWHERE if admin else objs.task(False).id
        return pair("/tasks/{}", inside, outside, {"trigger": "cancel", "text": "不再需要"})
    if rule == "/claims/batch":
        inside = objs.claim(True, "reported")[0].id
        outside = NOWHERE if admin else objs.claim(False, "reported")[0].id
        return ((method, rule, {"trigger": "approve", "subject": str(inside), "next": "/staff/queue"}),
                (method, rule, {"trigger": "approve", "subject": str(outside), "next": "/staff/queue"}))
    if rule == "/tasks/batch":
        inside, outside = objs.task(True).id, NOWHERE if admin else objs.task(False).id
        return ((method, rule, {"trigger": "close", "subject": str(inside)}),
                (method, rule, {"trigger": "close", "subject": str(outside)}))
    if rule.startswith("/share/tasks/<int:task_id>"):
        tail = rule.split("<int:task_id>")[1]
        return pair("/share/tasks/{}" + tail, objs.task(True).id,
                    NOWHERE if admin else objs.task(False, publish=False).id)
    if rule == "/me/certificates" and actor == "member":
        objs.verified(True)
        month = (utcnow() + timedelta(hours=8)).strftime("%Y-%m")  # the district's month
        return (method, rule, {"first": month, "last": month}), None
    if rule == "/me/certificates/<code>.pdf":
        inside, outside = objs.certificate(True).code, objs.certificate(False).code
        return pair("/me/certificates/{}.pdf", inside, outside)
    if rule == "/verify/<code>":
        return pair("/verify/{}", objs.certificate(True).code, "0000000000000")
    if rule == "/staff/community" and method == "POST":
        return (method, rule, {"contact_name": "党群服务中心", "contact_phone": "0634-1234567"}), None
    if rule == "/claims/<int:claim_id>/household/phone":
        inside, outside = objs.claim(True)[0].id, NOWHERE if admin else objs.claim(False)[0].id
        return pair("/claims/{}/household/phone", inside, outside, {})
    if rule in ("/uploads/<int:upload_id>", "/uploads/<int:upload_id>/thumb"):
        tail = rule.split("<int:upload_id>")[1]
        inside = objs.claim(True, "visiting", photo=True)[1].id
        outside = NOWHERE if admin else objs.claim(False, "visiting", photo=True)[1].id
        return pair("/uploads/{}" + tail, inside, outside)
    if rule == "/staff/tasks/new":
        return (method, rule, _task_form() if method == "POST" else None), None
    if rule == "/staff/tasks/<int:task_id>/edit":
        inside, outside = objs.task(True, publish=False).id, objs.task(False, publish=False).id
        return pair("/staff/tasks/{}/edit", inside, outside, _task_form("改后的标题") if method == "POST" else None)
    if rule == "/notifications/<int:notification_id>/read":
        return pair("/notifications/{}/read", _notification_for(me).id, _notification_for(w.member3).id, {})
    if rule == "/me/password" and method == "POST":
        return (method, rule, {"current_password": "not-the-password", "new_password": "quiet-orchard-river-58",
                               "confirm": "quiet-orchard-river-58"}), None
    if rule == "/admin/towns/<code>/communities":
        return pair("/admin/towns/{}/communities", w.town.code, "999999999")
    if rule == "/admin/import/template.<fmt>":
        return pair("/admin/import/template.{}", "xlsx", "pdf")
    if rule == "/admin/outbox/retry":
        return (method, rule, {"id": "all"}), None
    if rule == "/supervisor/anomalies/review":  # a report within minutes of its claim: a quick_report flag
        inside = objs.claim(True, "reported")[0].id
        outside = NOWHERE if admin else objs.claim(False, "reported")[0].id
        return ((method, rule, {"kind": "quick_report", "key": str(inside), "note": "看过"}),
                (method, rule, {"kind": "quick_report", "key": str(outside), "note": "看过"}))
    if rule == "/supervisor/exports/download":
        return (method, "/supervisor/exports/download?kind=claims&fmt=csv", None), None
    if rule == "/me/registration" and method == "POST":
        return (method, rule, {"town": w.town.code, "community_id": str(w.a.id), "skills": "法律咨询"}), None
    if rule in ("/registrations/<int:registration_id>", "/registrations/<int:registration_id>/receipt"):
        tail = rule.split("<int:registration_id>")[1]
        inside = objs.registration(True, "active").id
        return pair("/registrations/{}" + tail, inside, NOWHERE if admin else objs.registration(False, "active").id)
    if rule == "/registrations/<int:subject_id>/<trigger>":
        if actor == "staff":
            inside, outside = objs.registration(True, "applied").id, objs.registration(False, "applied").id
            return pair("/registrations/{}/accept", inside, outside, {"grid_id": str(w.grid_a.id), "households": "2"})
        inside = objs.registration(True, "active").id
        outside = NOWHERE if admin else objs.registration(False, "active").id
        return pair("/registrations/{}/end", inside, outside, {"reason": "moved"})
    if rule == "/staff/grids" and method == "POST":
        return (method, rule, {"name": f"网格-{actor}"}), None
    if rule.startswith("/staff/grids/<int:grid_id>"):
        tail = rule.split("<int:grid_id>")[1]
        from workflow.services import grids as grid_service
        inside = grid_service.add_grid(w.staff, w.a.id, f"待改-{actor}{tail}").grid.id
        outside = grid_service.add_grid(w.staff_c, w.c.id, f"别处-{actor}{tail}").grid.id
        return pair("/staff/grids/{}" + tail, inside, outside, {"name": f"改名-{actor}"} if tail == "/rename" else {})
    if rule in ("/supervisor/receipts", "/supervisor/receipts/download"):
        fmt = "&fmt=xlsx" if rule.endswith("download") else ""
        return pair(rule + "?unit={}" + fmt, w.unit1.id, NOWHERE if admin else w.unit2.id)
    if rule == "/supervisor/feedback":
        return pair("/supervisor/feedback?unit={}&month=2026-01", w.unit1.id, NOWHERE if admin else w.unit2.id)
    if rule == "/supervisor/verify":
        inside, outside = objs.claim(True)[0].id, NOWHERE if admin else objs.claim(False)[0].id
        return ((method, "/supervisor/verify", {"subject": f"claim:{inside}"}),
                (method, "/supervisor/verify", {"subject": f"claim:{outside}"}))
    if rule.startswith("/liaison/resources/<int:resource_id>"):
        tail = rule.split("<int:resource_id>")[1]
        data = None
        if method == "POST":
            data = {"title": "法律咨询", "category": "法律服务", "description": "", "frequency": "每月",
                    "contact": "王老师"} if tail == "/edit" else {}
        return pair("/liaison/resources/{}" + tail, objs.resource(True)["id"], objs.resource(False)["id"], data)
    if rule == "/liaison/resources/new" and method == "POST":
        return (method, rule, {"title": "健康义诊", "category": "医疗健康", "description": "", "frequency": "",
                               "contact": ""}), None
    if rule == "/pairings/new" and method == "POST":
        from workflow.clock import district_date
        data = {"town": w.town.code, "community_id": str(w.b.id), "agreement": "共建",
                "ends_on": (district_date(utcnow()) + timedelta(days=100)).isoformat()}
        if actor == "admin":
            data["unit_id"] = str(w.unit2.id)
        return (method, rule, data), None
    if rule in ("/pairings/<int:pairing_id>", "/projects/<int:project_id>"):
        if rule.startswith("/pairings"):
            inside, outside = objs.pairing(True, "active").id, objs.pairing(False, "active").id
        else:
            inside, outside = objs.project(True, "taken").id, objs.project(False, "taken").id
        return pair(rule.split("<")[0] + "{}", inside, NOWHERE if admin else outside)
    if rule == "/pairings/<int:subject_id>/<trigger>":
        trigger, state, data = {"staff": ("accept", "proposed", {"comment": ""}),
                                "liaison": ("withdraw", "proposed", {})}.get(
            actor, ("end", "active", {"reason": "调整"}))
        inside, outside = objs.pairing(True, state).id, objs.pairing(False, state).id
        return pair("/pairings/{}/" + trigger, inside, NOWHERE if admin else outside, data)
    if rule == "/projects/<int:subject_id>/<trigger>":
        trigger, state, data = {"staff": ("approve", "reported", {"comment": ""}),
                                "admin": ("cancel", "open", {"reason": "需求变化"})}.get(
            actor, ("report_progress", "taken", {"text": "进展"}))
        inside, outside = objs.project(True, state).id, objs.project(False, "taken").id
        return pair("/projects/{}/" + trigger, inside, NOWHERE if admin else outside, data)
    if rule == "/staff/projects/new" and method == "POST":
        from workflow.clock import district_date
        today = district_date(utcnow())
        return (method, rule, {"title": "图书角", "description": "建图书角", "category": "教育培训", "expected_outcome": "",
                               "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()}), None
    if rule == "/supervisor/pairings/download":
        return (method, rule + "?by=community&fmt=csv", None), None
    if rule == "/admin/import" and method == "POST":
        from io import BytesIO
        csv = ("username,name,role,unit,community,scope,password\n"
               "imported1,导入,member,lw001,370116001001,,pass-word-1\n")
        return (method, rule, {"file": (BytesIO(csv.encode()), "users.csv")}), None
    if rule == "/admin/users/new" and method == "POST":
        return (method, rule, {"username": f"new_{actor}", "name": "新用户", "role": "member", "unit": "lw001",
                               "community": "370116001001", "scope": "", "password": "pass-word-1"}), None
    if rule.startswith("/admin/users/<int:user_id>"):
        tail = rule.split("<int:user_id>")[1]
        data = None
        if tail == "/edit" and method == "POST":
            data = {"username": "member_a2", "name": "改名", "role": "member", "unit": "lw002",
                    "community": "370116001001", "scope": "", "password": ""}
        elif tail in ("/active", "/sessions/end"):
            data = {}
        elif tail == "/password":
            data = {"reset-how": "set", "reset-password": "violet-harbour-lamp-7"}
        return pair("/admin/users/{}" + tail, w.member2.id, NOWHERE, data)
    return (method, rule, {} if method == "POST" else None), None


def _notification_for(user):
    """A notification of this user's own (about a claim), written straight into the inbox."""
    from workflow.models import Notification
    from workflow.services.tx import write_transaction

    with write_transaction() as s:
        row = Notification(user_id=user.id, kind="claim_returned", subject_type="claim", subject_id=NOWHERE,
                           params={"task": "t", "reason": "r"})
        s.add(row)
    return row


def _send(browser, app, req):
    method, path, data = req
    headers = {}
    if data and "_headers" in data:
        headers = data.pop("_headers")
        data = None
    if method == "GET":
        return browser.get(path, headers=headers, buffered=True)  # streamed exports read in full, in context
    if path.startswith("/api/"):
        with app.app_context():
            return browser.client.open(path, method=method, headers=headers)
    files = any(isinstance(v, tuple) for v in (data or {}).values())
    return browser.post(path, data or {}, content_type="multipart/form-data" if files else None)


def test_pages_scope_matrix(app, world):  # both databases
    from workflow import runtime
    runtime.current().policy.settings.open_claim_limit = 1000  # one member, many claims here
    objs = Objects(world, app.config["BAODAO_UPLOAD_DIR"])
    browsers = {}
    for actor in ACTORS:
        b = Browser(app)
        b.login(objs.actor(actor).username)
        browsers[actor] = b
    failures, observed = [], {}
    for route in sorted(MATRIX):
        for actor in ACTORS:
            browser = browsers[actor]
            if route in ("POST /logout", "POST /login", "GET /login"):
                browser = Browser(app)  # its own session: logging out must not end the matrix's
                if route != "POST /login":
                    browser.login(objs.actor(actor).username)
                else:
                    browser.get("/login")
            inside, outside = case(route, actor, objs, app)
            expected_in, expected_out = MATRIX[route][actor]
            got = []
            for label, req, expected in (("in", inside, expected_in), ("out", outside, expected_out)):
                if req is None:
                    got.append(None)
                    assert expected is None, f"{route} {actor}: no out-of-scope request but {expected} expected"
                    continue
                response = _send(browser, app, req)
                got.append(response.status_code)
                if response.status_code != expected:
                    failures.append(f"{actor}/{label}: {req[0]} {req[1]} → {response.status_code}, expected "
                                    f"{expected}: {response.get_data()[:160]!r}")
                assert response.status_code < 500
            observed.setdefault(route, {})[actor] = tuple(got)
    if os.environ.get("BAODAO_SCOPE_DISCOVER"):
        print(json.dumps(observed, indent=1))
    assert not failures, "\n".join(failures)
