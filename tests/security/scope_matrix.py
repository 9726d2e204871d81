"""The machinery of the one scope matrix over pages and API (tests/api/test_api_scope_matrix.py
for the API's rows, tests/security/test_scope_matrix_pages.py for the pages' and the rest).

- `all_routes(app)`: every "METHOD rule" of the app's url_map (HEAD/OPTIONS aside), ids written
  `<int:…>` — the list a matrix must cover exactly, so a new route without a row fails.
- `ACTORS`, `Objects`: the six callers and the objects in and out of their scope, built through
  the services in the state a route needs.
"""
from datetime import datetime

from workflow.clock import DISTRICT_TZ, as_utc_naive, district_year, utcnow
from workflow.services import claims as claim_service
from workflow.services import grids as grid_service
from workflow.services import pairings as pairing_service
from workflow.services import projects as project_service
from workflow.services import registrations as registration_service
from workflow.services import resources as resource_service
from workflow.services import uploads as upload_service

from tests.api.api_helpers import make_jpeg

ACTORS = ("member", "staff", "sup_town", "sup_unit", "liaison", "admin")
NOWHERE = 999_999


def route_name(method: str, rule: str) -> str:
    return f"{method} {rule.replace('int(max=2147483647)', 'int')}"


def all_routes(app) -> set[str]:
    out = set()
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.add(route_name(method, rule.rule))
    return out


def api_routes(app) -> set[str]:
    """The API's own resources (its docs and its 404/405 fallback are covered with the pages)."""
    return {r for r in all_routes(app) if r.split(" ", 1)[1].startswith("/api/v1")} - other_api_routes(app)


def other_api_routes(app) -> set[str]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("api_v1_fallback.", "api-docs.")):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.add(route_name(method, rule.rule))
    return out


class Objects:
    """Builds fresh objects on demand through the services, in the state a route needs."""

    def __init__(self, world, upload_dir):
        self.w = world
        self.w_upload_dir = upload_dir

    def actor(self, name):
        w = self.w
        return {"member": w.member, "staff": w.staff, "sup_town": w.supervisor_town, "sup_unit": w.supervisor_unit,
                "liaison": w.liaison, "admin": w.admin}[name]

    def task(self, inside: bool, publish=True):
        return self.w.task(staff=self.w.staff if inside else self.w.staff_c, publish=publish)

    def verified(self, inside: bool):
        """A claim of the member (or of the member outside) approved by its community's staff."""
        claim, _ = self.claim(inside, "reported")
        return claim_service.fire(claim.id, "approve", self.w.staff if inside else self.w.staff_c, {})

    def certificate(self, inside: bool):
        """A certificate of the member's (or of the member outside's) service this month."""
        from flask import current_app

        from workflow.clock import utcnow
        from workflow.services import certificates

        self.verified(inside)
        month = (utcnow() + certificates.BEIJING).date()  # the feedback month is the district's
        return certificates.issue(self.w.member if inside else self.w.member3, first_month=month, last_month=month,
                                  district="莱芜区", key_path=current_app.config["BAODAO_CHECKPOINT_KEY"])

    def claim(self, inside: bool, state="claimed", photo=False):
        member = self.w.member if inside else self.w.member3
        task = self.task(inside)
        claim = claim_service.start_claim(task.id, member)
        upload = None
        if state in ("visiting", "reported") or photo:
            data = {"note": "走访"}
            if photo:
                upload = upload_service.save_upload(member, make_jpeg(), self.w_upload_dir)
                data["photos"] = [upload.id]
            claim = claim_service.fire(claim.id, "check_in", member, data)
        if state == "reported":
            claim = claim_service.fire(claim.id, "submit_report", member, {"summary": "s", "hours": 1})
        return claim, upload

    def registration(self, inside: bool, state="applied"):
        """A registration of member_a1 in community A (inside) or of member_c1 in C (outside), in
        `state` (applied, or active in a grid). A member holds one live registration at a time, so
        the member's earlier one is withdrawn or ended first. `state="last_year"`: active, accepted
        last calendar year (Beijing), so renewing it is open whatever today's date."""
        w = self.w
        member, community, staff = (w.member, w.a, w.staff) if inside else (w.member3, w.c, w.staff_c)
        from workflow.extensions import db
        live = registration_service.live_registration(db.session, member.id)
        if live is not None:
            trigger, data = ("withdraw", {}) if live.state == "applied" else ("end", {"reason": "other"})
            registration_service.fire(live.id, trigger, member, data)
        now = None
        if state == "last_year":
            now = as_utc_naive(datetime(district_year(utcnow()) - 1, 6, 1, tzinfo=DISTRICT_TZ))
        reg = registration_service.apply(member, {"community_id": community.id}, now=now)
        if state != "applied":
            data = {"grid_id": w.grid_a.id} if inside else {}
            reg = registration_service.fire(reg.id, "accept", staff, data, now=now)
        return reg

    def second_grid(self):
        """Another grid of community A (made once), to move a member into."""
        if getattr(self, "_second_grid", None) is None:
            self._second_grid = grid_service.add_grid(self.w.staff, self.w.a.id, "第二网格").grid
        return self._second_grid

    # -- the unit's 报到: inside, unit 1 (liaison_1, the unit supervisor's) with community A (staff_a,
    # the town supervisor's); outside, unit 2 (liaison_2) with community C (staff_c, another town).

    def _sides(self, inside: bool):
        w = self.w
        return (w.liaison, w.a, w.staff) if inside else (w.liaison2, w.c, w.staff_c)

    def pairing(self, inside: bool, state="proposed"):
        """A pairing of the side's unit and community in `state` (proposed or active); a live one
        of theirs is ended or withdrawn first (one live pairing per unit and community)."""
        from datetime import timedelta

        from workflow.clock import district_date, utcnow
        from workflow.extensions import db
        from workflow.models import Pairing

        liaison, community, staff = self._sides(inside)
        live = db.session.scalar(db.select(Pairing).where(Pairing.unit_id == liaison.unit_id,
                                                          Pairing.community_id == community.id,
                                                          Pairing.state.in_(("proposed", "active"))))
        db.session.rollback()
        if live is not None:
            trigger, data = ("withdraw", {}) if live.state == "proposed" else ("end", {"reason": "重新结对"})
            pairing_service.fire(live.id, trigger, liaison, data)
        ends = (district_date(utcnow()) + timedelta(days=200)).isoformat()
        row = pairing_service.propose(liaison, {"community_id": community.id, "agreement": "共建", "ends_on": ends})
        if state == "active":
            row = pairing_service.fire(row.id, "accept", staff, {})
        return row

    def active_pairing(self, inside: bool):
        """The side's unit and community paired: the active pairing they have, or a new one."""
        from workflow.extensions import db
        from workflow.models import Pairing

        liaison, community, _staff = self._sides(inside)
        active = db.session.scalar(db.select(Pairing).where(Pairing.unit_id == liaison.unit_id,
                                                            Pairing.community_id == community.id,
                                                            Pairing.state == "active"))
        db.session.rollback()
        return active if active is not None else self.pairing(inside, "active")

    def project(self, inside: bool, state="open"):
        """A project of the side's community in `state`: open, taken (by the side's unit), reported, done."""
        from datetime import timedelta

        from workflow.clock import district_date, utcnow

        liaison, community, staff = self._sides(inside)
        today = district_date(utcnow())
        row = project_service.publish(staff, {"title": "村小图书角", "description": "建图书角", "category": "教育培训",
                                              "starts_on": today.isoformat(),
                                              "ends_on": (today + timedelta(days=30)).isoformat()})
        if state != "open":
            self.active_pairing(inside)
            row = project_service.fire(row.id, "take", liaison, {})
        if state in ("reported", "done"):
            row = project_service.fire(row.id, "report", liaison, {"summary": "建成", "members": "张三",
                                                                   "member_count": 1, "hours": 4})
        return row

    def resource(self, inside: bool):
        """A line of the side's unit's resource list (its unit paired with the side's community)."""
        liaison, _community, _staff = self._sides(inside)
        self.active_pairing(inside)
        return resource_service.add_resource(liaison, liaison.unit_id, {"title": "法律咨询", "category": "法律服务",
                                                                        "contact": "王老师 0634-1234567"})
