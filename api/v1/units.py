"""GET /api/v1/units/{id}/feedback: a unit's monthly feedback (who took part, verified claims, hours, points,
and where its members stand with their communities); GET /api/v1/units/{id}/registrations: the unit's
receipt report (回执: every member and where they are registered, the unregistered first)."""
from flask_smorest import Blueprint

from workflow.clock import utcnow
from workflow.errors import Forbidden
from workflow.extensions import db
from workflow.services import points as points_service
from workflow.services import receipts, security_log
from workflow.services.registration_views import summary

from . import http
from .schemas import FeedbackSchema, MonthQuerySchema, ReceiptSchema, YearQuerySchema

blp = Blueprint("v1_units", __name__, url_prefix="/api/v1/units", description="Feedback and receipts to units")


def _unit_reader(unit_id):
    actor = http.actor()
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
                     "Supervisors of this unit or the district, and admins; members and staff 403, other "
                     "supervisors 404. Members are listed by name: a record, not a ranking.")
@blp.arguments(YearQuerySchema, location="query")
@blp.response(200, ReceiptSchema)
def registrations(args, unit_id):
    unit = _unit_reader(unit_id)
    report = receipts.receipt(db.session, unit, year=args.get("year"))
    return {"unit": {"id": unit.id, "code": unit.code, "name": unit.name}, "year": report.year,
            "members": [{"user_id": line.user_id, "name": line.name, "registration": summary(line.registration),
                         "verified_claims": line.verified_claims, "hours": line.hours} for line in report.lines],
            "unregistered": report.unregistered, "registered": report.registered}
