"""Projects (项目清单): publish, list, read (with progress reports and the tasks that belong to
it), timeline, and one POST route per trigger of the loaded project definitions (take,
report_progress, report, approve, return, cancel — api/v1/triggers.py)."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow.engine import DefinitionRegistry
from workflow.extensions import db
from workflow.models import Community, Project
from workflow.services import projects as project_service
from workflow.services import scope
from workflow.services.pairing_views import project_view

from . import http, listing, triggers
from .pairings import body_schema
from .present import events
from .schemas import EventSchema, ProjectDetailSchema, ProjectQuerySchema, ProjectSchema

_PROJECT = ProjectSchema()
ETAG_HEADER = {"ETag": {"description": "the project's version, for If-Match", "schema": {"type": "string"}}}
CREATED_HEADERS = {**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}


def render(view: dict, status: int):
    headers = {"ETag": view["etag"]}
    if status == 201:
        headers["Location"] = f"/api/v1/projects/{view['id']}"
    return status, _PROJECT.dump(view), headers


def make_blueprint(registry: DefinitionRegistry) -> Blueprint:
    blp = Blueprint("v1_projects", __name__, url_prefix="/api/v1/projects",
                    description="Projects (项目清单): work a community publishes for a paired unit to lead")

    def view_of(project, actor, detail=False) -> dict:
        return project_view(db.session, project, registry.get(*project.definition_key).definition,
                            project_service.allowed_triggers(db.session, actor, project), actor, detail=detail)

    @blp.route("", methods=["GET"])
    @blp.doc(description="Projects visible to the caller, newest first: staff their community's; a liaison the "
                         "open projects of every community (the list a unit chooses from; taking one needs an active "
                         "pairing) and those their unit took; supervisors their scope; admins all. Members: none. "
                         "Filters: `state`, `community` (12-digit code), `unit` (id of the unit that took it).")
    @blp.arguments(ProjectQuerySchema, location="query")
    @blp.response(200, ProjectSchema(many=True))
    @blp.paginate()
    def list_projects(args, pagination_parameters):
        actor = http.actor()
        query = select(Project).where(scope.project_filter(actor))
        if "state" in args:
            query = query.where(Project.state == args["state"])
        if "community" in args:
            query = query.where(Project.community_id.in_(select(Community.id).where(Community.code == args["community"])))
        if "unit" in args:
            query = query.where(Project.unit_id == args["unit"])
        rows, headers = listing.page(query, pagination_parameters, order_by=Project.id.desc(),
                                     options=(selectinload(Project.community).selectinload(Community.town),))
        return [view_of(p, actor) for p in rows], 200, headers

    @blp.route("", methods=["POST"])
    @blp.doc(parameters=http.documented_headers("Idempotency-Key"),
             requestBody={"required": True, "content": {"application/json": {"schema": body_schema(registry, "project")}}},
             description="Publish a project of your community (staff): `title`, `description`, `category`, "
                         "`starts_on`, `ends_on` (YYYY-MM-DD; at most two years ahead), optional `expected_outcome`.")
    @blp.response(201, ProjectSchema, headers=CREATED_HEADERS)
    def publish():
        actor = http.actor()
        data = http.json_body()

        def call(idempotency):
            return project_service.publish(actor, data, request_id=http.request_id(), idempotency=idempotency)
        return http.idempotent_post(call, render)

    @blp.route("/<int(max=2147483647):project_id>", methods=["GET"])
    @blp.doc(description="One project with its progress and completion reports, the tasks that belong to it (with "
                         "their progress) and the triggers the caller may fire now.")
    @blp.response(200, ProjectDetailSchema, headers=ETAG_HEADER)
    def get_project(project_id):
        actor = http.actor()
        project = project_service.get_project(db.session, actor, project_id)
        return view_of(project, actor, detail=True), 200, {"ETag": http.etag("project", project)}

    @blp.route("/<int(max=2147483647):project_id>/events", methods=["GET"])
    @blp.doc(description="The project's timeline: every audit event with actor, role, time, input, hash and the "
                         "previous hash (recompute the chain with GET /audit/verify?subject=project:<id>).")
    @blp.response(200, EventSchema(many=True))
    def project_events(project_id):
        actor = http.actor()
        project_service.get_project(db.session, actor, project_id)
        return events(db.session, "project", project_id, actor)

    triggers.add_trigger_routes(blp, registry, subject="project", id_arg="project_id", fire=project_service.fire,
                                render=render, response_schema=ProjectSchema, headers=ETAG_HEADER)
    return blp
