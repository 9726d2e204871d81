"""GET /api/v1/me, /api/v1/me/points and /api/v1/me/export: the caller, a member's points
ledger, and everything Baodao holds about the caller."""
from flask import Response
from flask_smorest import Blueprint

from workflow.errors import Forbidden
from workflow.extensions import db
from workflow.services import personal_data
from workflow.services import points as points_service
from workflow.services import registrations as registration_service

from . import http
from .present import me_dict
from .schemas import MeSchema, PersonalDataSchema, PointsSchema

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


@blp.route("/export", methods=["GET"])
@blp.doc(description="Everything Baodao holds about the caller, any role, as one JSON file (PIPL: the right to "
                     "see and copy one's personal information): the account, your claims with their visits, "
                     "reports and timelines, points, your unit's feedback about you, the photos you uploaded "
                     "(each with the address to download it), the household notes you opened, the audit events "
                     "you caused on others' subjects (what and when), tasks you created, your sessions and "
                     "stored idempotent requests. Texts erased under the retention rules are null and named in "
                     "`erased`. Sent as an attachment (`Content-Disposition`); the \"My data\" page "
                     "(`/me/data`) downloads the same document. See docs/privacy.md.")
@blp.response(200, PersonalDataSchema, headers={"Content-Disposition": {
    "description": "attachment; filename=\"baodao-personal-data-<user id>-<date>.json\"",
    "schema": {"type": "string"}}})
def my_data():
    # The service's document as it is (a Response passes the response schema by): the page's
    # download is byte for byte the same file. PersonalDataSchema documents it.
    name, body = personal_data.as_file(personal_data.export(db.session, http.actor()))
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
