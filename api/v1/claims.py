"""Claims: list, read, timeline, and one POST route per trigger of the loaded definitions.

`POST /api/v1/claims/{id}/{trigger}` is registered once per trigger name that some
loaded definition offers to callers (internal triggers — expire, cancel — and the
initial `claim`, which is POST /tasks/{id}/claims, are not routes). The body is
validated by the service with the schema of the definition the claim pinned; OpenAPI
documents each version's schema (anyOf when versions differ).
"""
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from workflow.engine import registry
from workflow.extensions import db
from workflow.models import Claim, Task
from workflow.services import claims as claims_service
from workflow.services import household, scope

from . import http
from .present import claim_dict, events
from .schemas import ClaimQuerySchema, ClaimReadSchema, ClaimSchema, EventSchema

# Built once: a Schema instance deep-copies its fields (and its nested schemas' fields),
# which cost a measurable share of every trigger response when done per request.
_CLAIM = ClaimSchema()

blp = Blueprint("v1_claims", __name__, url_prefix="/api/v1/claims", description="Claims (认领): the workflow instances")

# Lists count their total exactly up to this many claims (see list_claims).
COUNT_CAP = 10_000

ETAG_HEADER = {"ETag": {"description": "the claim's version, for If-Match", "schema": {"type": "string"}}}


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
    # The total is counted exactly up to COUNT_CAP; beyond it (a district's verified claims: 630k
    # at 1M, a 50 ms count on every page) it is a lower bound that still offers the next page,
    # and X-Total-Exact says so (docs/api.md, docs/performance.md).
    first, size = http.first_item(pagination_parameters), pagination_parameters.page_size
    counted = db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery()))
    rows = db.session.scalars(
        query.options(selectinload(Claim.task).selectinload(Task.community), selectinload(Claim.member),
                selectinload(Claim.unit))
        .order_by(Claim.id.desc()).offset(first).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    headers = {}
    if counted <= COUNT_CAP:
        pagination_parameters.item_count = counted
    elif rows and not more:
        pagination_parameters.item_count = first + len(rows)  # the last page: exact after all
    else:
        pagination_parameters.item_count = max(counted, first + len(rows) + (1 if more else 0))
        headers["X-Total-Exact"] = "false"
    return [claim_dict(db.session, c, actor) for c in rows], 200, headers


@blp.route("/<int(max=2147483647):claim_id>", methods=["GET"])
@blp.doc(description="One claim with its visits and reports and the triggers the caller may fire. "
                     "`household_note` only for the claimant while live, the task's staff and admins (logged).")
@blp.response(200, ClaimReadSchema, headers=ETAG_HEADER)
def get_claim(claim_id):
    actor = http.actor()
    claim = claims_service.get_claim(db.session, actor, claim_id)
    note = household.read_household_note(actor, claim.task, purpose="api:claim", request_id=http.request_id())
    out = claim_dict(db.session, claim, actor, detail=True, household_note=note)
    return out, 200, {"ETag": http.etag("claim", claim)}


@blp.route("/<int(max=2147483647):claim_id>/events", methods=["GET"])
@blp.doc(description="The claim's timeline: every audit event with actor, role, time, input, hash and the "
                     "previous hash (recompute the chain with GET /audit/verify).")
@blp.response(200, EventSchema(many=True))
def claim_events(claim_id):
    actor = http.actor()
    claims_service.get_claim(db.session, actor, claim_id)
    return events(db.session, "claim", claim_id, actor)


def trigger_names() -> list[str]:
    """Every trigger a caller can fire through the API, across the loaded definitions."""
    names: list[str] = []
    for compiled in registry().all():
        d = compiled.definition
        for t in d.triggers:
            if t.internal or set(t.sources) <= {d.initial} or not t.name.isidentifier():
                continue
            if t.name not in names:
                names.append(t.name)
    return names


def input_components() -> dict[str, list[tuple[str, object]]]:
    """trigger name → [(component name, schema instance)], one per distinct version schema."""
    out: dict[str, list] = {}
    for compiled in registry().all():
        d = compiled.definition
        for name in trigger_names():
            if d.trigger(name) is not None:
                component = "".join(p.title() for p in name.split("_")) + f"Input_{d.name}_v{d.version}"
                out.setdefault(name, []).append((component, compiled.schemas[name]))
    return out


def _trigger_doc(name: str) -> str:
    lines = [f"Fire `{name}` on a claim, with the input its pinned definition's schema validates. "
             "Returns the claim with its new state, version, ETag and allowed_triggers (its visits and "
             "reports: GET /claims/{id}). 409 (with "
             "allowed_triggers) when the claim's state or a guard does not allow it; 412 for a stale If-Match."]
    for compiled in registry().all():
        t = compiled.definition.trigger(name)
        if t is not None:
            lines.append(f"- {compiled.definition.label}: {t.label} / {t.label_en}; from {', '.join(t.sources)} "
                         f"to {t.dest}; roles {', '.join(t.roles)}")
    return "\n".join(lines)


def _make_trigger_view(name: str):
    def view(claim_id):
        actor = http.actor()
        data = http.json_body()
        expected = http.expected_version("claim", claim_id)

        def render(claim):
            return (200, _CLAIM.dump(claim_dict(db.session, claim, actor)),
                    {"ETag": http.etag("claim", claim)})

        def call(idem):
            return claims_service.fire(claim_id, name, actor, data, expected_version=expected,
                                       request_id=http.request_id(), idempotency=idem)
        return http.idempotent_post(call, render)
    view.__name__ = f"fire_{name}"
    return view


def register_trigger_routes(blueprint, components: dict) -> None:
    for name in trigger_names():
        refs = [{"$ref": f"#/components/schemas/{component}"} for component, _ in components[name]]
        schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
        decorated = blueprint.doc(
            summary=f"Fire {name}", description=_trigger_doc(name),
            requestBody={"required": False, "content": {"application/json": {"schema": schema}}},
            parameters=http.documented_headers("Idempotency-Key", "If-Match"))(
            blueprint.response(200, ClaimSchema, headers=ETAG_HEADER)(_make_trigger_view(name)))
        blueprint.route(f"/<int(max=2147483647):claim_id>/{name}", methods=["POST"], endpoint=f"fire_{name}")(decorated)


register_trigger_routes(blp, input_components())
