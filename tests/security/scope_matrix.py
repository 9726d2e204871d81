"""The machinery of the one scope matrix over pages and API (tests/api/test_api_scope_matrix.py
for the API's rows, tests/security/test_scope_matrix_pages.py for the pages' and the rest).

- `all_routes(app)`: every "METHOD rule" of the app's url_map (HEAD/OPTIONS aside), ids written
  `<int:…>` — the list a matrix must cover exactly, so a new route without a row fails.
- `ACTORS`, `Objects`: the five callers and the objects in and out of their scope, built through
  the services in the state a route needs.
"""
from workflow.services import claims as claim_service
from workflow.services import uploads as upload_service

from tests.api.api_helpers import make_jpeg

ACTORS = ("member", "staff", "sup_town", "sup_unit", "admin")
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
                "admin": w.admin}[name]

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
