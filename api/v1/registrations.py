"""Registrations (报到): apply, list, read, timeline, and one POST route per trigger of the
loaded registration definitions (accept, decline, withdraw, move_grid, renew, end —
api/v1/triggers.py). The blueprint is made per app, since its trigger routes follow the
definitions that app loaded."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.engine import DefinitionRegistry
from workflow.extensions import db
from workflow.models import Community, Registration, User
from workflow.services import registrations as registration_service
from workflow.services import scope
from workflow.services.registration_views import registration_view

from . import http, listing, triggers
from .present import events
from .schemas import EventSchema, RegistrationQuerySchema, RegistrationSchema

_REGISTRATION = RegistrationSchema()
ETAG_HEADER = {"ETag": {"description": "the registration's version, for If-Match", "schema": {"type": "string"}}}
CREATED_HEADERS = {**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}


def render(view: dict, status: int):
    headers = {"ETag": view["etag"]}
    if status == 201:
        headers["Location"] = f"/api/v1/registrations/{view['id']}"
    return status, _REGISTRATION.dump(view), headers


def apply_component(registry: DefinitionRegistry) -> list[tuple[str, object]]:
    """The creating trigger's input schema of each loaded registration definition, as
    (OpenAPI component name, schema): the body of POST /registrations."""
    out = []
    for compiled in registry.all("registration"):
        for trigger in compiled.definition.creating_triggers:
            out.append((triggers.component_name(compiled.definition, trigger.name), compiled.schemas[trigger.name]))
    return out


def register_components(spec, registry: DefinitionRegistry) -> None:
    for name, schema in apply_component(registry):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)


def make_blueprint(registry: DefinitionRegistry) -> Blueprint:
    blp = Blueprint("v1_registrations", __name__, url_prefix="/api/v1/registrations",
                    description="Registrations (报到): members reporting to the community where they live")

    def view_of(registration, actor) -> dict:
        return registration_view(registration, registry.get(*registration.definition_key).definition,
                                 registration_service.allowed_triggers(db.session, actor, registration))

    @blp.route("", methods=["GET"])
    @blp.doc(description="Registrations visible to the caller, newest first: members their own; staff their "
                         "community's; a unit supervisor their unit's members'; town and district supervisors and "
                         "admins their scope. Filters: `state`, `community` (12-digit code), `grid` (id).")
    @blp.arguments(RegistrationQuerySchema, location="query")
    @blp.response(200, RegistrationSchema(many=True))
    @blp.paginate()
    def list_registrations(args, pagination_parameters):
        actor = http.actor()
        query = select(Registration).where(scope.registration_filter(actor))
        if "state" in args:
            query = query.where(Registration.state == args["state"])
        if "community" in args:
            query = query.where(Registration.community_id.in_(
                select(Community.id).where(Community.code == args["community"])))
        if "grid" in args:
            query = query.where(Registration.grid_id == args["grid"])
        rows, headers = listing.page(
            query, pagination_parameters, order_by=Registration.id.desc(),
            options=(selectinload(Registration.member).selectinload(User.unit),
                     selectinload(Registration.community).selectinload(Community.town),
                     selectinload(Registration.grid), selectinload(Registration.accepted_by)))
        return [view_of(r, actor) for r in rows], 200, headers

    refs = [{"$ref": f"#/components/schemas/{name}"} for name, _ in apply_component(registry)]

    @blp.route("", methods=["POST"])
    @blp.doc(parameters=http.documented_headers("Idempotency-Key"),
             requestBody={"required": True, "content": {"application/json": {
                 "schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}},
             description="Apply to register with a community (members): `community_id` (GET /communities lists "
                         "them), optional `skills` and `availability`. 409 (`one_live_registration`) while you hold "
                         "a live registration, saying where.")
    @blp.response(201, RegistrationSchema, headers=CREATED_HEADERS)
    def apply():
        actor = http.actor()
        data = http.json_body()

        def call(idempotency):
            return registration_service.apply(actor, data, request_id=http.request_id(), idempotency=idempotency)
        return http.idempotent_post(call, render)

    @blp.route("/<int(max=2147483647):registration_id>", methods=["GET"])
    @blp.doc(description="One registration with the triggers the caller may fire now.")
    @blp.response(200, RegistrationSchema, headers=ETAG_HEADER)
    def get_registration(registration_id):
        actor = http.actor()
        registration = registration_service.get_registration(db.session, actor, registration_id)
        return view_of(registration, actor), 200, {"ETag": http.etag("registration", registration)}

    @blp.route("/<int(max=2147483647):registration_id>/events", methods=["GET"])
    @blp.doc(description="The registration's timeline: every audit event with actor, role, time, input, hash and "
                         "the previous hash (recompute the chain with GET /audit/verify?subject=registration:<id>).")
    @blp.response(200, EventSchema(many=True))
    def registration_events(registration_id):
        actor = http.actor()
        registration_service.get_registration(db.session, actor, registration_id)
        return events(db.session, "registration", registration_id, actor)

    triggers.add_trigger_routes(blp, registry, subject="registration", id_arg="registration_id",
                                fire=registration_service.fire, render=render, response_schema=RegistrationSchema,
                                headers=ETAG_HEADER)
    return blp
