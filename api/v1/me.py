"""GET /api/v1/me, /api/v1/me/points and /api/v1/me/export: the caller, a member's points
ledger, and everything Baodao holds about the caller; POST /api/v1/me/password: the caller's own password."""
from flask import Response
from flask_limiter import RateLimitExceeded
from flask_smorest import Blueprint
from marshmallow import ValidationError

from workflow.errors import Forbidden, WrongPassword
from workflow.extensions import db
from workflow.services import personal_data
from workflow.services import points as points_service
from workflow.services import registrations as registration_service
from workflow.services import users as user_service

from .. import security
from . import http
from .present import me_dict
from .errors import ApiError
from .schemas import MeSchema, PasswordChangeSchema, PersonalDataSchema, PointsSchema

blp = Blueprint("v1_me", __name__, url_prefix="/api/v1/me", description="The caller")
# Wrong current passwords (api/security.py): the 429 in the API's error shape, before the generic 429 handler.
blp.register_error_handler(RateLimitExceeded, security.rate_limited_response)


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


@blp.route("/password", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/PasswordChange"}}}},
    description="Set your own password: the current one and a new one that passes the password rules "
                "(at least 10 characters, not weak, common, containing the username or the current password). "
                "Ends every other token and page session of yours; the token of this request stays. "
                "After an administrator set or reset your password (`must change at next login`), every other "
                "route answers 403 with `error: password_change_required` until this succeeds (DELETE "
                "/api/v1/auth/token still revokes the token). A wrong current password is 422 with "
                "`errors.json.current_password`; a new password that breaks a rule, 422 with "
                "`errors.json.new_password` (every rule it breaks). Wrong current passwords are limited per "
                "account, from the pages and the API together: after 5 in 15 minutes, 429 with "
                "`error: too_many_attempts` and Retry-After. An Idempotency-Key is ignored here.")
@blp.response(204)
@blp.alt_response(429, description="too many wrong current passwords for this account; try again later")
@security.limit_password_checks
def change_password():
    try:
        data = PasswordChangeSchema().load(http.json_body())
    except ValidationError as exc:
        raise ApiError(422, "invalid input", errors={"json": exc.normalized_messages()}) from None
    try:
        user_service.change_own_password(http.actor().id, data["current_password"], data["new_password"],
                                         keep_token_id=http.g.api_token.id, request_id=http.request_id(),
                                         address=security.client_address(), channel="api")
    except WrongPassword:
        security.password_was_wrong()
        raise
    return ""
