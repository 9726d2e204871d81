"""GET /api/v1/me and /api/v1/me/points: the caller, and a member's points ledger."""
from flask_smorest import Blueprint

from workflow.errors import Forbidden
from workflow.extensions import db
from workflow.services import points as points_service
from workflow.services import registrations as registration_service

from . import http
from .present import me_dict
from .schemas import MeSchema, PointsSchema

blp = Blueprint("v1_me", __name__, url_prefix="/api/v1/me", description="The caller")


@blp.route("", methods=["GET"])
@blp.doc(description="The caller: role, scope, unit, community; a member's live registration (报到) too.")
@blp.response(200, MeSchema)
def me():
    actor = http.actor()
    live = registration_service.live_registration(db.session, actor.id) if actor.role == "member" else None
    return me_dict(actor, live)


@blp.route("/points", methods=["GET"])
@blp.doc(description="A member's own points ledger (awards and reversals) and total. Members only; there is "
                     "no ranking of individuals anywhere in the API.")
@blp.response(200, PointsSchema)
def my_points():
    actor = http.actor()
    if actor.role != "member":
        raise Forbidden("only members earn points")
    entries, total = points_service.ledger(db.session, actor.id)
    return {"total": total, "entries": [{
        "id": e.id, "claim_id": e.claim_id, "points": e.points, "kind": e.kind, "reverses_id": e.reverses_id,
        "note": e.note, "created_at": e.created_at} for e in entries]}
