"""Every API route × every role × an object in the caller's scope and one outside it.

The route list comes from the app's url_map: a new route without a row here fails
`test_the_matrix_covers_every_route` (and, for any route of the app, pages included,
tests/security/test_scope_matrix_pages.py). The machinery is shared: tests/security/scope_matrix.py. Each row says, per actor, the status for the
in-scope object and for the out-of-scope one (None where the route has no object).
Actors: member (unit 1, community A), staff of A, a town supervisor (town of A and B),
a unit supervisor (unit 1), unit 1's liaison, an admin. Out of scope: community C's objects,
another member's claim, a draft, unit 2's pairings, projects and resources (with community C),
a nonexistent id for the admin.
"""
import pytest
from api_helpers import PASSWORD, make_jpeg

from tests.security.scope_matrix import ACTORS, NOWHERE, Objects, api_routes  # shared with the pages' matrix
from workflow.clock import utcnow

# Task deadlines may be at most two years ahead (issue 16): next New Year always is.
NEXT_YEAR = utcnow().year + 1

# route → {actor: (in-scope status, out-of-scope status)}
MATRIX = {
    "POST /api/v1/auth/token": dict.fromkeys(ACTORS, (200, None)),
    "DELETE /api/v1/auth/token": dict.fromkeys(ACTORS, (204, None)),
    "GET /api/v1/me": dict.fromkeys(ACTORS, (200, None)),
    # Only the caller's own exist (others' ids are left alone: tests/api/test_api_notifications.py).
    "GET /api/v1/me/notifications": dict.fromkeys(ACTORS, (200, None)),
    "POST /api/v1/me/notifications/read": dict.fromkeys(ACTORS, (200, None)),
    "GET /api/v1/me/export": dict.fromkeys(ACTORS, (200, None)),  # the caller's own data, any role
    # Anyone's own password; here with a wrong current one, so the matrix's users keep theirs.
    "POST /api/v1/me/password": dict.fromkeys(ACTORS, (422, None)),
    "GET /api/v1/me/points": {"member": (200, None), "staff": (403, None), "sup_town": (403, None),
                              "sup_unit": (403, None), "admin": (403, None)},
    "GET /api/v1/tasks": dict.fromkeys(ACTORS, (200, None)),
    "POST /api/v1/tasks": {"member": (403, None), "staff": (201, None), "sup_town": (403, None),
                           "sup_unit": (403, None), "admin": (201, None)},
    "GET /api/v1/tasks/<int:task_id>": dict.fromkeys(ACTORS, (200, 404)),
    "GET /api/v1/tasks/<int:task_id>/events": dict.fromkeys(ACTORS, (200, 404)),
    "PATCH /api/v1/tasks/<int:task_id>": {"member": (403, 403), "staff": (200, 404), "sup_town": (403, 403),
                                          "sup_unit": (403, 403), "admin": (200, 404)},
    "POST /api/v1/tasks/<int:task_id>/publish": {"member": (403, 403), "staff": (200, 404),
                                                 "sup_town": (403, 403), "sup_unit": (403, 403),
                                                 "admin": (200, 404)},
    "POST /api/v1/tasks/<int:task_id>/close": {"member": (403, 403), "staff": (200, 404), "sup_town": (403, 403),
                                               "sup_unit": (403, 403), "admin": (200, 404)},
    # task@2's trigger (a route because the definition is loaded); these tasks run task@1, which
    # has no such trigger: 404 for those who manage tasks (tests/test_task_reopen.py drives task@2)
    "POST /api/v1/tasks/<int:task_id>/reopen_closed": {"member": (403, 403), "staff": (404, 404),
                                                       "sup_town": (403, 403), "sup_unit": (403, 403),
                                                       "admin": (404, 404)},
    "POST /api/v1/tasks/<int:task_id>/cancel": {"member": (403, 403), "staff": (200, 404),
                                                "sup_town": (403, 403), "sup_unit": (403, 403),
                                                "admin": (200, 404)},
    "POST /api/v1/tasks/<int:task_id>/claims": {"member": (201, 404), "staff": (403, 403), "sup_town": (403, 403),
                                                "sup_unit": (403, 403), "admin": (403, 403)},
    "GET /api/v1/claims": dict.fromkeys(ACTORS, (200, None)),
    "GET /api/v1/claims/<int:claim_id>": dict.fromkeys(ACTORS, (200, 404)),
    "GET /api/v1/claims/<int:claim_id>/events": dict.fromkeys(ACTORS, (200, 404)),
    "GET /api/v1/claims/<int:claim_id>/household_note": {"member": (200, 404), "staff": (200, 404),
                                                         "sup_town": (403, 404), "sup_unit": (403, 404),
                                                         "admin": (200, 404)},
    "POST /api/v1/claims/<int:claim_id>/check_in": {"member": (200, 404), "staff": (403, 404),
                                                    "sup_town": (403, 404), "sup_unit": (403, 404),
                                                    "admin": (403, 404)},
    "POST /api/v1/claims/<int:claim_id>/submit_report": {"member": (200, 404), "staff": (403, 404),
                                                         "sup_town": (403, 404), "sup_unit": (403, 404),
                                                         "admin": (403, 404)},
    "POST /api/v1/claims/<int:claim_id>/withdraw": {"member": (200, 404), "staff": (403, 404),
                                                    "sup_town": (403, 404), "sup_unit": (403, 404),
                                                    "admin": (403, 404)},
    "POST /api/v1/claims/<int:claim_id>/approve": {"member": (403, 404), "staff": (200, 404),
                                                   "sup_town": (403, 404), "sup_unit": (403, 404),
                                                   "admin": (403, 404)},
    "POST /api/v1/claims/<int:claim_id>/return": {"member": (403, 404), "staff": (200, 404),
                                                  "sup_town": (403, 404), "sup_unit": (403, 404),
                                                  "admin": (403, 404)},
    "POST /api/v1/claims/<int:claim_id>/reject": {"member": (403, 404), "staff": (200, 404),
                                                  "sup_town": (403, 404), "sup_unit": (403, 404),
                                                  "admin": (403, 404)},
    "POST /api/v1/uploads": {"member": (201, None), "staff": (201, None), "sup_town": (403, None),
                             "sup_unit": (403, None), "admin": (403, None)},
    "GET /api/v1/uploads/<int:upload_id>": dict.fromkeys(ACTORS, (200, 404)),
    "GET /api/v1/audit/verify": {"member": (403, 403), "staff": (200, 404), "sup_town": (200, 404),
                                 "sup_unit": (200, 404), "admin": (200, 404)},
    "GET /api/v1/units/<int:unit_id>/feedback": {"member": (403, 403), "staff": (403, 403),
                                                 "sup_town": (404, 404), "sup_unit": (200, 404),
                                                 "admin": (200, 404)},
    # -- registrations (报到): 404 for other members, other communities' staff, other towns' and units' supervisors
    "GET /api/v1/registrations": dict.fromkeys(ACTORS, (200, None)),
    "POST /api/v1/registrations": {"member": (201, None), "staff": (403, None), "sup_town": (403, None),
                                   "sup_unit": (403, None), "admin": (403, None)},
    "GET /api/v1/registrations/<int:registration_id>": dict.fromkeys(ACTORS, (200, 404)),
    "GET /api/v1/registrations/<int:registration_id>/events": dict.fromkeys(ACTORS, (200, 404)),
    **{f"POST /api/v1/registrations/<int:registration_id>/{t}": {
        "member": (403, 404), "staff": (200, 404), "sup_town": (403, 404), "sup_unit": (403, 404),
        "admin": (403, 404)} for t in ("accept", "decline", "move_grid")},
    "POST /api/v1/registrations/<int:registration_id>/withdraw": {
        "member": (200, 404), "staff": (403, 404), "sup_town": (403, 404), "sup_unit": (403, 404),
        "admin": (403, 404)},
    "POST /api/v1/registrations/<int:registration_id>/renew": {
        "member": (200, 404), "staff": (200, 404), "sup_town": (403, 404), "sup_unit": (403, 404),
        "admin": (403, 404)},
    "POST /api/v1/registrations/<int:registration_id>/end": {
        "member": (200, 404), "staff": (200, 404), "sup_town": (403, 404), "sup_unit": (403, 404),
        "admin": (200, 404)},
    "GET /api/v1/communities": dict.fromkeys(ACTORS, (200, None)),
    "GET /api/v1/communities/<int:community_id>/grids": {
        "member": (403, 403), "staff": (200, 404), "sup_town": (403, 403), "sup_unit": (403, 403),
        "admin": (200, 404)},
    "POST /api/v1/communities/<int:community_id>/grids": {
        "member": (403, 403), "staff": (201, 404), "sup_town": (403, 403), "sup_unit": (403, 403),
        "admin": (201, 404)},
    "GET /api/v1/units/<int:unit_id>/registrations": {"member": (403, 403), "staff": (403, 403),
                                                      "sup_town": (404, 404), "sup_unit": (200, 404),
                                                      "admin": (200, 404)},
    # -- the unit's 报到: pairings, projects, resources (404 for another unit's liaison, other communities'
    # staff, other towns' and units' supervisors, and members, who see none of them)
    "GET /api/v1/pairings": dict.fromkeys(ACTORS, (200, None)),
    "POST /api/v1/pairings": {**dict.fromkeys(ACTORS, (403, None)), "liaison": (201, None), "admin": (201, None)},
    "GET /api/v1/pairings/<int:pairing_id>": {**dict.fromkeys(ACTORS, (200, 404)), "member": (404, 404)},
    "GET /api/v1/pairings/<int:pairing_id>/events": {**dict.fromkeys(ACTORS, (200, 404)), "member": (404, 404)},
    **{f"POST /api/v1/pairings/<int:pairing_id>/{t}": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "staff": (200, 404)} for t in ("accept", "decline")},
    "POST /api/v1/pairings/<int:pairing_id>/withdraw": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (200, 404), "admin": (200, 404)},
    "POST /api/v1/pairings/<int:pairing_id>/renew": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (200, 404), "staff": (200, 404)},
    "POST /api/v1/pairings/<int:pairing_id>/end": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (200, 404), "staff": (200, 404),
        "admin": (200, 404)},
    "GET /api/v1/projects": dict.fromkeys(ACTORS, (200, None)),
    "POST /api/v1/projects": {**dict.fromkeys(ACTORS, (403, None)), "staff": (201, None)},
    "GET /api/v1/projects/<int:project_id>": {**dict.fromkeys(ACTORS, (200, 404)), "member": (404, 404)},
    "GET /api/v1/projects/<int:project_id>/events": {**dict.fromkeys(ACTORS, (200, 404)), "member": (404, 404)},
    # an open project is every liaison's list, no unit's yet: a unit supervisor does not see it
    "POST /api/v1/projects/<int:project_id>/take": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "sup_unit": (404, 404), "liaison": (200, 404)},
    **{f"POST /api/v1/projects/<int:project_id>/{t}": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (200, 404)}
       for t in ("report_progress", "report")},
    **{f"POST /api/v1/projects/<int:project_id>/{t}": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "staff": (200, 404)} for t in ("approve", "return")},
    # (every liaison sees every open project: the unit's liaison may not cancel one, in or out of its
    # scope; an open project is no unit's yet, so not a unit supervisor's)
    "POST /api/v1/projects/<int:project_id>/cancel": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "staff": (200, 404), "admin": (200, 404),
        "liaison": (403, 403), "sup_unit": (404, 404)},
    "GET /api/v1/units/<int:unit_id>/resources": {**dict.fromkeys(ACTORS, (200, 404)), "member": (404, 404)},
    "POST /api/v1/units/<int:unit_id>/resources": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (201, 404), "admin": (201, 404)},
    "PATCH /api/v1/units/<int:unit_id>/resources/<int:resource_id>": {
        **dict.fromkeys(ACTORS, (403, 404)), "member": (404, 404), "liaison": (200, 404), "admin": (200, 404)},
    "GET /api/v1/workflows": dict.fromkeys(ACTORS, (200, None)),
    "GET /api/v1/workflows/<name>/<int:version>": dict.fromkeys(ACTORS, (200, 404)),
}

# Unit 1's liaison on the routes of the other roles: no claims or their photos (their members' work
# reaches them as the receipt report), no task management, no grids, no audit checks; their own
# unit's receipt report (another unit's: 404), not its feedback (supervisors'); uploads (a
# project's photos); published tasks, as members read them.
LIAISON_ON_OTHER_ROUTES = {
    "GET /api/v1/audit/verify": (403, 403),
    "GET /api/v1/claims/<int:claim_id>": (404, 404),
    "GET /api/v1/claims/<int:claim_id>/events": (404, 404),
    "GET /api/v1/claims/<int:claim_id>/household_note": (404, 404),
    **{f"POST /api/v1/claims/<int:claim_id>/{t}": (404, 404)
       for t in ("approve", "check_in", "reject", "return", "submit_report", "withdraw")},
    "GET /api/v1/communities/<int:community_id>/grids": (403, 403),
    "POST /api/v1/communities/<int:community_id>/grids": (403, 403),
    "GET /api/v1/me/points": (403, None),
    "GET /api/v1/units/<int:unit_id>/feedback": (403, 403),
    "GET /api/v1/units/<int:unit_id>/registrations": (200, 404),
    "GET /api/v1/uploads/<int:upload_id>": (404, 404),  # a claim's photo
    "POST /api/v1/uploads": (201, None),
    "POST /api/v1/registrations": (403, None),
    **{f"POST /api/v1/registrations/<int:registration_id>/{t}": (403, 404)
       for t in ("accept", "decline", "end", "move_grid", "renew", "withdraw")},
    "POST /api/v1/tasks": (403, None),
    "PATCH /api/v1/tasks/<int:task_id>": (403, 403),
    **{f"POST /api/v1/tasks/<int:task_id>/{t}": (403, 403)
       for t in ("cancel", "claims", "close", "publish", "reopen_closed")},
}
for _route, _statuses in LIAISON_ON_OTHER_ROUTES.items():
    MATRIX[_route] = {**MATRIX[_route], "liaison": _statuses}

TRIGGER_STATE = {"check_in": "claimed", "submit_report": "visiting", "withdraw": "claimed",
                 "approve": "reported", "return": "reported", "reject": "reported"}
TRIGGER_BODY = {"check_in": {"note": "走访"}, "submit_report": {"summary": "完成", "hours": 1.5},
                "withdraw": {}, "approve": {"comment": "好"}, "return": {"reason": "补充"},
                "reject": {"reason": "不符"}}


# registration trigger → (the state its in-scope object is in, its body)
REGISTRATION_CASES = {"accept": ("applied", None), "decline": ("applied", {"reason": "不在本社区居住"}),
                      "withdraw": ("applied", {}), "move_grid": ("active", None), "renew": ("last_year", {}),
                      "end": ("active", {"reason": "moved"}), "events": ("active", None)}


# pairing trigger → the state its in-scope object is in, its body
PAIRING_CASES = {"accept": ("proposed", {"comment": "欢迎"}), "decline": ("proposed", {"reason": "名额已满"}),
                 "withdraw": ("proposed", {}), "renew": ("active", None), "end": ("active", {"reason": "调整"}),
                 "events": ("active", None), "": ("active", None)}
# project trigger → the state its in-scope object is in, its body
PROJECT_CASES = {"take": ("open", None), "report_progress": ("taken", {"text": "已开展第一次活动"}),
                 "report": ("taken", {"summary": "完成", "members": "张三、李四", "member_count": 2, "hours": 6}),
                 "approve": ("reported", {"comment": "好"}), "return": ("reported", {"reason": "补充照片"}),
                 "cancel": ("open", {"reason": "需求变化"}), "events": ("taken", None), "": ("taken", None)}


def case(route: str, actor: str, objs: Objects, app):
    """(in-scope request, out-of-scope request or None): each a (path, json body) pair."""
    method, rule = route.split(" ", 1)
    w = objs.w
    me = objs.actor(actor)
    admin = actor == "admin"
    if rule in ("/api/v1/tasks/<int:task_id>", "/api/v1/tasks/<int:task_id>/close",
                "/api/v1/tasks/<int:task_id>/cancel", "/api/v1/tasks/<int:task_id>/events",
                "/api/v1/tasks/<int:task_id>/reopen_closed"):
        inside = objs.task(True)
        outside = NOWHERE if admin else (objs.task(False, publish=actor not in ("sup_unit", "member", "liaison")).id)
        body = {"title": "改后的标题"} if method == "PATCH" else ({"reason": "取消"} if "cancel" in rule else None)
        base = "/api/v1/tasks/{}" + rule.split("<int:task_id>")[1]
        return (base.format(inside.id), body), (base.format(outside), body)
    if rule == "/api/v1/tasks/<int:task_id>/publish":
        inside = objs.task(True, publish=False)
        outside = NOWHERE if admin else objs.task(False, publish=False).id
        return (f"/api/v1/tasks/{inside.id}/publish", None), (f"/api/v1/tasks/{outside}/publish", None)
    if rule == "/api/v1/tasks/<int:task_id>/claims":
        inside = objs.task(True)
        outside = NOWHERE if admin else objs.task(True, publish=False).id  # a draft: not visible to members
        return (f"/api/v1/tasks/{inside.id}/claims", None), (f"/api/v1/tasks/{outside}/claims", None)
    if rule.startswith("/api/v1/claims/<int:claim_id>"):
        tail = rule.split("<int:claim_id>")[1]
        trigger = tail.lstrip("/")
        state = TRIGGER_STATE.get(trigger, "visiting")
        inside, _ = objs.claim(True, state)
        outside = NOWHERE if admin else objs.claim(False, state)[0].id
        body = TRIGGER_BODY.get(trigger) if method == "POST" else None
        return (f"/api/v1/claims/{inside.id}{tail}", body), (f"/api/v1/claims/{outside}{tail}", body)
    if rule == "/api/v1/uploads/<int:upload_id>":
        _, inside = objs.claim(True, "visiting", photo=True)
        outside = NOWHERE if admin else objs.claim(False, "visiting", photo=True)[1].id
        return (f"/api/v1/uploads/{inside.id}", None), (f"/api/v1/uploads/{outside}", None)
    if rule == "/api/v1/audit/verify":
        inside, _ = objs.claim(True)
        outside = NOWHERE if admin else objs.claim(False)[0].id
        return (f"{rule}?subject=claim:{inside.id}", None), (f"{rule}?subject=claim:{outside}", None)
    if rule in ("/api/v1/units/<int:unit_id>/feedback", "/api/v1/units/<int:unit_id>/registrations"):
        tail = rule.split("<int:unit_id>")[1]
        outside = NOWHERE if admin else w.unit2.id
        return (f"/api/v1/units/{w.unit1.id}{tail}", None), (f"/api/v1/units/{outside}{tail}", None)
    if rule.startswith("/api/v1/registrations/<int:registration_id>"):
        tail = rule.split("<int:registration_id>")[1]
        trigger = tail.lstrip("/")
        state, body = REGISTRATION_CASES.get(trigger, ("active", None))
        if trigger == "move_grid":
            body = {"grid_id": objs.second_grid().id, "reason": "就近服务"}
        elif trigger == "accept":
            body = {"grid_id": w.grid_a.id, "households": 2}
        inside = objs.registration(True, state)
        outside = NOWHERE if admin else objs.registration(False, state).id
        return (f"/api/v1/registrations/{inside.id}{tail}", body), (f"/api/v1/registrations/{outside}{tail}", body)
    if rule == "/api/v1/registrations" and method == "POST":
        return (rule, {"community_id": w.a.id, "skills": "法律咨询"}), None
    if rule.startswith("/api/v1/communities/<int:community_id>/grids"):
        inside, outside = w.a.id, NOWHERE if admin else w.c.id
        body = {"name": f"网格-{actor}"} if method == "POST" else None
        return (f"/api/v1/communities/{inside}/grids", body), (f"/api/v1/communities/{outside}/grids", body)
    if rule.startswith("/api/v1/pairings/<int:pairing_id>"):
        tail = rule.split("<int:pairing_id>")[1]
        state, body = PAIRING_CASES[tail.lstrip("/")]
        if tail == "/renew":
            from datetime import timedelta

            from workflow.clock import district_date, utcnow
            body = {"ends_on": (district_date(utcnow()) + timedelta(days=400)).isoformat()}
        inside = objs.pairing(True, state)
        outside = NOWHERE if admin else objs.pairing(False, state).id
        return (f"/api/v1/pairings/{inside.id}{tail}", body), (f"/api/v1/pairings/{outside}{tail}", body)
    if rule == "/api/v1/pairings" and method == "POST":
        from datetime import timedelta

        from workflow.clock import district_date, utcnow
        community = [w.a, w.b][actor == "admin"]  # a community unit 1 has no live pairing with
        if actor == "liaison":
            objs.pairing(True, "proposed")  # then withdrawn: the liaison's proposal below is the live one
            from workflow.services import pairings as pairing_service
            from workflow.extensions import db
            from workflow.models import Pairing
            live = db.session.scalar(db.select(Pairing.id).where(Pairing.unit_id == w.unit1.id,
                                                                 Pairing.community_id == w.a.id,
                                                                 Pairing.state == "proposed"))
            db.session.rollback()
            pairing_service.fire(live, "withdraw", w.liaison, {})
        body = {"community_id": community.id, "agreement": "共建党课",
                "ends_on": (district_date(utcnow()) + timedelta(days=200)).isoformat()}
        if actor == "admin":
            body["unit_id"] = w.unit2.id
        return (rule, body), None
    if rule.startswith("/api/v1/projects/<int:project_id>"):
        tail = rule.split("<int:project_id>")[1]
        state, body = PROJECT_CASES[tail.lstrip("/")]
        inside = objs.project(True, state)
        if tail == "/take":
            objs.active_pairing(True)
            outside = NOWHERE if admin else objs.project(False, "taken").id  # another unit's: out of sight
        else:
            outside = NOWHERE if admin else objs.project(False, state).id
        return (f"/api/v1/projects/{inside.id}{tail}", body), (f"/api/v1/projects/{outside}{tail}", body)
    if rule == "/api/v1/projects" and method == "POST":
        from datetime import timedelta

        from workflow.clock import district_date, utcnow
        today = district_date(utcnow())
        return (rule, {"title": "村小图书角", "description": "建图书角", "category": "教育培训",
                       "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()}), None
    if rule.startswith("/api/v1/units/<int:unit_id>/resources"):
        tail = rule.split("<int:unit_id>/resources")[1]
        inside, outside = objs.resource(True), objs.resource(False)
        unit_in, unit_out = w.unit1.id, (NOWHERE if admin else w.unit2.id)
        if tail:  # PATCH one line
            return ((f"/api/v1/units/{unit_in}/resources/{inside['id']}", {"frequency": "每月两次"}),
                    (f"/api/v1/units/{unit_out}/resources/{outside['id']}", {"frequency": "每月两次"}))
        body = {"title": "健康义诊", "category": "医疗健康", "contact": "李医生"} if method == "POST" else None
        return (f"/api/v1/units/{unit_in}/resources", body), (f"/api/v1/units/{unit_out}/resources", body)
    if rule == "/api/v1/workflows/<name>/<int:version>":
        return ("/api/v1/workflows/dual_reporting/1", None), ("/api/v1/workflows/dual_reporting/99", None)
    if rule == "/api/v1/tasks" and method == "POST":
        body = {"title": "清理楼道杂物", "category": "环境整治", "capacity": 3, "deadline": f"{NEXT_YEAR}-01-01T00:00:00Z"}
        return (f"/api/v1/tasks?community={w.a.code}", body), None
    if rule == "/api/v1/auth/token" and method == "POST":
        return (rule, {"username": me.username, "password": PASSWORD}), None
    if rule == "/api/v1/uploads":
        return (rule, "upload"), None
    if rule == "/api/v1/me/notifications/read":
        return (rule, {"all": True}), None
    if rule == "/api/v1/me/password":
        return (rule, {"current_password": "not-the-password", "new_password": "quiet-orchard-river-58"}), None
    return (rule, None), None


def test_the_matrix_covers_every_route(app):
    # (Every route of the app, pages and API, is checked in tests/security/test_scope_matrix_pages.py.)
    assert api_routes(app) == set(MATRIX), "a route without a scope-matrix row (or a row without a route)"
    assert all(set(row) == set(ACTORS) for row in MATRIX.values())


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_scope_matrix(route, api, world, app):
    from workflow import runtime
    runtime.current().policy.settings.open_claim_limit = 1000  # one member, a claim per caller here
    objs = Objects(world, app.config["BAODAO_UPLOAD_DIR"])
    method = route.split(" ")[0]
    failures = []
    for actor in ACTORS:
        user = objs.actor(actor)
        inside, outside = case(route, actor, objs, app)
        expected_in, expected_out = MATRIX[route][actor]
        for label, req, expected in (("in", inside, expected_in), ("out", outside, expected_out)):
            if req is None:
                assert expected is None, f"{route} {actor}: no out-of-scope object but a status is expected"
                continue
            path, body = req
            headers = {}
            if route == "DELETE /api/v1/auth/token":  # a token of its own, so the cached one lives on
                from workflow.services.auth import issue_token_for
                headers["Authorization"] = f"Bearer {issue_token_for(user).token}"
            if body == "upload":
                response = api.upload(user, make_jpeg())
            elif route == "POST /api/v1/auth/token":
                response = api.request(method, path, None, json=body)
            else:
                response = api.request(method, path, user, json=body, headers=headers)
            if response.status_code != expected:
                failures.append(f"{actor}/{label}: {method} {path} → {response.status_code}, expected {expected}: "
                                f"{response.get_data(as_text=True)[:200]}")
            elif expected >= 400:
                assert response.get_json()["code"] == expected
    assert not failures, "\n".join(failures)
