"""Pairings (结对共建): propose, list, read, timeline, and one POST route per trigger of the
loaded pairing definitions (accept, decline, withdraw, renew, end — api/v1/triggers.py). The
blueprint is made per app, since its trigger routes follow the definitions that app loaded."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.engine import DefinitionRegistry
from workflow.extensions import db
from workflow.models import Community, Pairing
from workflow.services import pairings as pairing_service
from workflow.services import scope
from workflow.services.pairing_views import pairing_view

from . import http, listing, triggers
from .present import events
from .schemas import EventSchema, PairingQuerySchema, PairingSchema

_PAIRING = PairingSchema()
ETAG_HEADER = {"ETag": {"description": "the pairing's version, for If-Match", "schema": {"type": "string"}}}
CREATED_HEADERS = {**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}


def render(view: dict, status: int):
    headers = {"ETag": view["etag"]}
    if status == 201:
        headers["Location"] = f"/api/v1/pairings/{view['id']}"
    return status, _PAIRING.dump(view), headers


def creating_components(registry: DefinitionRegistry, subject: str) -> list[tuple[str, object]]:
    """The creating trigger's input schema of each loaded definition of `subject`, as (OpenAPI
    component name, schema): the body of the POST that creates one."""
    out = []
    for compiled in registry.all(subject):
        for trigger in compiled.definition.creating_triggers:
            out.append((triggers.component_name(compiled.definition, trigger.name), compiled.schemas[trigger.name]))
    return out


def register_components(spec, registry: DefinitionRegistry) -> None:
    for subject in ("pairing", "project"):
        for name, schema in creating_components(registry, subject):
            if name not in spec.components.schemas:
                spec.components.schema(name, schema=schema)


def body_schema(registry, subject: str) -> dict:
    refs = [{"$ref": f"#/components/schemas/{name}"} for name, _ in creating_components(registry, subject)]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def make_blueprint(registry: DefinitionRegistry) -> Blueprint:
    blp = Blueprint("v1_pairings", __name__, url_prefix="/api/v1/pairings",
                    description="Pairings (结对共建): a unit's co-building agreement with a community")

    def view_of(pairing, actor) -> dict:
        return pairing_view(pairing, registry.get(*pairing.definition_key).definition,
                            pairing_service.allowed_triggers(db.session, actor, pairing))

    @blp.route("", methods=["GET"])
    @blp.doc(description="Pairings visible to the caller, newest first: a liaison their unit's; staff their "
                         "community's; supervisors their scope (a town's communities, a unit's own, the "
                         "district); admins all. Members: none. Filters: `state`, `community` (12-digit code), "
                         "`unit` (id).")
    @blp.arguments(PairingQuerySchema, location="query")
    @blp.response(200, PairingSchema(many=True))
    @blp.paginate()
    def list_pairings(args, pagination_parameters):
        actor = http.actor()
        query = select(Pairing).where(scope.pairing_filter(actor))
        if "state" in args:
            query = query.where(Pairing.state == args["state"])
        if "community" in args:
            query = query.where(Pairing.community_id.in_(select(Community.id).where(Community.code == args["community"])))
        if "unit" in args:
            query = query.where(Pairing.unit_id == args["unit"])
        rows, headers = listing.page(
            query, pagination_parameters, order_by=Pairing.id.desc(),
            options=(selectinload(Pairing.unit), selectinload(Pairing.community).selectinload(Community.town),
                     selectinload(Pairing.proposed_by), selectinload(Pairing.accepted_by)))
        return [view_of(p, actor) for p in rows], 200, headers

    @blp.route("", methods=["POST"])
    @blp.doc(parameters=http.documented_headers("Idempotency-Key"),
             requestBody={"required": True, "content": {"application/json": {"schema": body_schema(registry, "pairing")}}},
             description="Propose a pairing (a unit's liaison, for their unit; an admin names `unit_id`): "
                         "`community_id` (GET /communities lists them), `agreement` (共建内容), `ends_on` "
                         "(YYYY-MM-DD, after today, at most five years ahead). 409 (`one_live_pairing`) while the "
                         "unit has a proposed or active pairing with that community.")
    @blp.response(201, PairingSchema, headers=CREATED_HEADERS)
    def propose():
        actor = http.actor()
        data = http.json_body()

        def call(idempotency):
            return pairing_service.propose(actor, data, request_id=http.request_id(), idempotency=idempotency)
        return http.idempotent_post(call, render)

    @blp.route("/<int(max=2147483647):pairing_id>", methods=["GET"])
    @blp.doc(description="One pairing with the triggers the caller may fire now.")
    @blp.response(200, PairingSchema, headers=ETAG_HEADER)
    def get_pairing(pairing_id):
        actor = http.actor()
        pairing = pairing_service.get_pairing(db.session, actor, pairing_id)
        return view_of(pairing, actor), 200, {"ETag": http.etag("pairing", pairing)}

    @blp.route("/<int(max=2147483647):pairing_id>/events", methods=["GET"])
    @blp.doc(description="The pairing's timeline: every audit event with actor, role, time, input, hash and the "
                         "previous hash (recompute the chain with GET /audit/verify?subject=pairing:<id>).")
    @blp.response(200, EventSchema(many=True))
    def pairing_events(pairing_id):
        actor = http.actor()
        pairing_service.get_pairing(db.session, actor, pairing_id)
        return events(db.session, "pairing", pairing_id, actor)

    triggers.add_trigger_routes(blp, registry, subject="pairing", id_arg="pairing_id", fire=pairing_service.fire,
                                render=render, response_schema=PairingSchema, headers=ETAG_HEADER)
    return blp
