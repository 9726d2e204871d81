"""GET /api/v1/units/{id}/feedback: a unit's monthly feedback (who took part, verified claims, hours, points,
and where its members stand with their communities); GET /api/v1/units/{id}/registrations: the unit's
receipt report (回执: every member and where they are registered, the unregistered first);
GET/POST /api/v1/units/{id}/resources and PATCH …/resources/{id}: the unit's resource list (资源清单)."""
from flask_smorest import Blueprint

from workflow.clock import utcnow
from workflow.errors import Forbidden, NotFound
from workflow.models import Unit
from workflow.extensions import db
from workflow.services import points as points_service
from workflow.services import receipts, resources, security_log
from workflow.services.pairing_views import resource_view

from . import http
from .schemas import FeedbackSchema, MonthQuerySchema, ReceiptSchema, ResourceSchema, YearQuerySchema, receipt_member

blp = Blueprint("v1_units", __name__, url_prefix="/api/v1/units", description="Feedback and receipts to units")


def _unit_reader(unit_id, *, liaisons=False):
    """The unit, for supervisors of the district or of this unit and admins — and, where
    `liaisons`, the unit's own liaisons (the receipt report); another unit is 404."""
    actor = http.actor()
    if liaisons and actor.role == "liaison":
        if actor.unit_id != unit_id:
            raise NotFound(f"unit {unit_id} not found")
        return db.session.get(Unit, unit_id)
    if actor.role not in ("supervisor", "admin"):
        raise Forbidden("unit reports are for supervisors and admins")
    return points_service.visible_unit(db.session, actor, unit_id)


@blp.route("/<int(max=2147483647):unit_id>/feedback", methods=["GET"])
@blp.doc(description="Supervisors of the district or of this unit, and admins. Members are listed "
                     "alphabetically: it is a record of who took part, not a ranking.")
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, FeedbackSchema)
def feedback(args, unit_id):
    unit = _unit_reader(unit_id)
    month = points_service.unit_month(db.session, unit, args.get("month") or utcnow().strftime("%Y-%m"))
    # Members' names and points leave the system here: recorded on the security log (等保 audit).
    security_log.record_export(http.actor(), "read_feedback", {"unit": unit.code, "month": month.month},
                               request_id=http.request_id())
    section = receipts.month_section(db.session, unit, month.month)
    return {"unit": {"id": unit.id, "code": unit.code, "name": unit.name}, "month": month.month,
            "verified_claims": month.verified_claims, "hours": month.hours, "points": month.points,
            "members": [m.__dict__ for m in month.members],
            "registration": {"members": section.members, "registered": section.registered,
                             "unregistered": section.unregistered, "rate": section.rate,
                             "accepted": section.accepted, "left": section.left,
                             "unregistered_names": section.unregistered_names}}


@blp.route("/<int(max=2147483647):unit_id>/registrations", methods=["GET"])
@blp.doc(description="The unit's receipt report (回执): every active member account of the unit with its live "
                     "registration (community, grid, since, term) and this year's verified claims and hours "
                     "credited to the unit; those with no live registration (未报到) first, with their count. "
                     "The unit's liaisons, supervisors of this unit or the district, and admins; members and staff "
                     "403, other supervisors and other units' liaisons 404. Members are listed by name: a record, "
                     "not a ranking.")
@blp.arguments(YearQuerySchema, location="query")
@blp.response(200, ReceiptSchema)
def registrations(args, unit_id):
    unit = _unit_reader(unit_id, liaisons=True)
    report = receipts.receipt(db.session, unit, year=args.get("year"))
    return {"unit": {"id": unit.id, "code": unit.code, "name": unit.name}, "year": report.year,
            "members": [receipt_member(line) for line in report.lines],  # (ReceiptSchema.members: Prepared)
            "unregistered": report.unregistered, "registered": report.registered}


# -- the unit's resource list (资源清单) --------------------------------------------------------------

RESOURCE_ETAG = {"ETag": {"description": "the resource line's version, for If-Match", "schema": {"type": "string"}}}


@blp.route("/<int(max=2147483647):unit_id>/resources", methods=["GET"])
@blp.doc(description="The unit's resource list, current lines first, then retired ones: the unit's liaisons, staff "
                     "of communities with an active pairing with the unit, supervisors in scope, admins; anyone else "
                     "404. `contact` is null except for the unit, staff of a paired community and admins.")
@blp.response(200, ResourceSchema(many=True))
def list_resources(unit_id):
    actor = http.actor()
    return [resource_view(r, actor) for r in resources.unit_resources(db.session, actor, unit_id)]


@blp.route("/<int(max=2147483647):unit_id>/resources", methods=["POST"])
@blp.doc(parameters=http.documented_headers("Idempotency-Key"),
         requestBody={"required": True, "content": {"application/json": {
             "schema": {"$ref": "#/components/schemas/ResourceInput"}}}},
         description="Add a line to the unit's list (its liaison, or an admin): `title`, `category`, optional "
                     "`description`, `frequency` (how often it can be offered), `contact`.")
@blp.response(201, ResourceSchema, headers={**RESOURCE_ETAG, "Location": {"schema": {"type": "string"}}})
def add_resource(unit_id):
    actor = http.actor()
    data = http.json_body()

    def call(idempotency):
        view = resources.add_resource(actor, unit_id, data, request_id=http.request_id(), idempotency=idempotency)
        return _Created(view)
    return http.idempotent_post(call, _render_resource)


@blp.route("/<int(max=2147483647):unit_id>/resources/<int(max=2147483647):resource_id>", methods=["PATCH"])
@blp.doc(parameters=http.documented_headers("If-Match"),
         requestBody={"required": True, "content": {"application/json": {
             "schema": {"$ref": "#/components/schemas/ResourceEdit"}}}},
         description="Change a line (only the fields sent); `retired: true` takes it off the list, `false` puts it "
                     "back. The unit's liaison or an admin; others who may read the list 403, anyone else 404.")
@blp.response(200, ResourceSchema, headers=RESOURCE_ETAG)
def edit_resource(unit_id, resource_id):
    actor = http.actor()
    data = http.json_body()
    view = resources.edit_resource(actor, unit_id, resource_id, data,
                                   expected_version=http.expected_version("resource", resource_id),
                                   request_id=http.request_id())
    return _RESOURCE.dump(view), 200, {"ETag": view["etag"]}


_RESOURCE = ResourceSchema()


class _Created:
    """The shape http.idempotent_post expects of a service's result."""

    def __init__(self, view):
        self.view, self.created = view, True


def _render_resource(view: dict, status: int):
    return status, _RESOURCE.dump(view), {"ETag": view["etag"],
                                          "Location": f"/api/v1/units/{view['unit_id']}/resources/{view['id']}"}
