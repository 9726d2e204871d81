"""Claims: list, read, timeline, and one POST route per trigger of the loaded claim definitions.

The blueprint is made per app (`make_blueprint`), since its trigger routes follow the
definitions that app loaded (api/v1/triggers.py). Starting a claim is POST
/tasks/{id}/claims (api/v1/tasks.py).
"""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.engine import DefinitionRegistry
from workflow.extensions import db
from workflow.models import Claim, Task
from workflow.services import claims as claims_service
from workflow.services import household, scope, views

from . import http, listing, triggers
from .present import events
from .schemas import ClaimQuerySchema, ClaimReadSchema, ClaimSchema, EventSchema

# Built once: a Schema instance deep-copies its fields (and its nested schemas' fields),
# which cost a measurable share of every trigger response when done per request.
_CLAIM = ClaimSchema()

ETAG_HEADER = {"ETag": {"description": "the claim's version, for If-Match", "schema": {"type": "string"}}}


def render(view: dict, status: int):
    """A claim answer from its view: the body, and its ETag (and Location when new)."""
    headers = {"ETag": view["etag"]}
    if status == 201:
        headers["Location"] = f"/api/v1/claims/{view['id']}"
    return status, _CLAIM.dump(view), headers


def _view(registry, claim, actor, **detail) -> dict:
    definition = registry.get(*claim.definition_key).definition
    return views.claim_view(db.session, claim, definition, claims_service.allowed_triggers(db.session, actor, claim),
                            **detail)


def make_blueprint(registry: DefinitionRegistry) -> Blueprint:
    blp = Blueprint("v1_claims", __name__, url_prefix="/api/v1/claims",
                    description="Claims (认领): the workflow instances")

    @blp.route("", methods=["GET"])
    @blp.doc(description="Claims visible to the caller, newest first: members their own; staff those on their "
                         "community's tasks; supervisors their scope; admins all. X-Pagination's total is exact "
                         "up to 10,000 claims; beyond that it is a lower bound (next_page is given while more "
                         "claims follow) and the response carries `X-Total-Exact: false`.")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    def list_claims(args, pagination_parameters):
        actor = http.actor()
        query = select(Claim).where(scope.claim_filter(actor))
        if "state" in args:
            query = query.where(Claim.state == args["state"])
        if "task" in args:
            query = query.where(Claim.task_id == args["task"])
        if "member" in args:
            query = query.where(Claim.member_id == args["member"])
        if "since" in args:
            query = query.where(Claim.updated_at >= args["since"])
        if listing.uses_task_filters(args):
            query = listing.task_filters(query.join(Task, Task.id == Claim.task_id), args)
        rows, headers = listing.page(
            query, pagination_parameters, order_by=Claim.id.desc(),
            options=(selectinload(Claim.task).selectinload(Task.community), selectinload(Claim.member),
                     selectinload(Claim.unit)))
        return [_view(registry, c, actor) for c in rows], 200, headers

    @blp.route("/<int(max=2147483647):claim_id>", methods=["GET"])
    @blp.doc(description="One claim with its visits and reports and the triggers the caller may fire. "
                         "`household_note` only for the claimant while live, the task's staff and admins (logged).")
    @blp.response(200, ClaimReadSchema, headers=ETAG_HEADER)
    def get_claim(claim_id):
        actor = http.actor()
        claim = claims_service.get_claim(db.session, actor, claim_id)
        note = household.read_household_note(actor, claim.task, purpose="api:claim", request_id=http.request_id())
        return _view(registry, claim, actor, detail=True, household_note=note), 200, {"ETag": http.etag("claim", claim)}

    @blp.route("/<int(max=2147483647):claim_id>/events", methods=["GET"])
    @blp.doc(description="The claim's timeline: every audit event with actor, role, time, input, hash and the "
                         "previous hash (recompute the chain with GET /audit/verify).")
    @blp.response(200, EventSchema(many=True))
    def claim_events(claim_id):
        actor = http.actor()
        claims_service.get_claim(db.session, actor, claim_id)
        return events(db.session, "claim", claim_id, actor)

    triggers.add_trigger_routes(blp, registry, subject="claim", id_arg="claim_id", fire=claims_service.fire,
                                render=render, response_schema=ClaimSchema, headers=ETAG_HEADER)
    return blp
