"""GET /api/v1/units/{id}/feedback: a unit's monthly feedback (who took part, verified claims, hours, points)."""
from flask_smorest import Blueprint

from workflow.clock import utcnow
from workflow.errors import Forbidden
from workflow.extensions import db
from workflow.services import points as points_service
from workflow.services import security_log

from . import http
from .schemas import FeedbackSchema, MonthQuerySchema

blp = Blueprint("v1_units", __name__, url_prefix="/api/v1/units", description="Feedback to units")


@blp.route("/<int(max=2147483647):unit_id>/feedback", methods=["GET"])
@blp.doc(description="Supervisors of the district or of this unit, and admins. Members are listed "
                     "alphabetically: it is a record of who took part, not a ranking.")
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, FeedbackSchema)
def feedback(args, unit_id):
    actor = http.actor()
    if actor.role not in ("supervisor", "admin"):
        raise Forbidden("unit feedback is for supervisors and admins")
    unit = points_service.visible_unit(db.session, actor, unit_id)
    month = points_service.unit_month(db.session, unit, args.get("month") or utcnow().strftime("%Y-%m"))
    # Members' names and points leave the system here: recorded on the security log (等保 audit).
    security_log.record_export(actor, "read_feedback", {"unit": unit.code, "month": month.month},
                               request_id=http.request_id())
    return {"unit": {"id": unit.id, "code": unit.code, "name": unit.name}, "month": month.month,
            "verified_claims": month.verified_claims, "hours": month.hours, "points": month.points,
            "members": [m.__dict__ for m in month.members]}
