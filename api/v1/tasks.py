"""Tasks: list, create, read, edit, claim, and one POST route per trigger of the task
definitions (publish, close, cancel, … — api/v1/triggers.py).

Every rule is the services' (workflow.services.tasks, claims, scope, household); the
views parse, call, and present. Lists use scope.task_filter, the same rule as reads.
The blueprint is made per app, since its trigger routes follow that app's definitions.
"""
from flask import request
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from workflow.engine import DefinitionRegistry
from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Claim, Community, Task
from workflow.services import claims as claims_service
from workflow.services import household, scope, views
from workflow.services import tasks as task_service

from . import claims as claims_api
from . import http, listing, triggers
from .present import events
from .schemas import ClaimSchema, EventSchema, TaskDetailSchema, TaskQuerySchema, TaskSchema

# Built once (a Schema instance deep-copies its fields): response schemas reused per request.
_TASK = TaskSchema()

ETAG_HEADER = {"ETag": {"description": "the task's version, for If-Match", "schema": {"type": "string"}}}
CLAIM_HEADERS = {"ETag": {"description": "the claim's version", "schema": {"type": "string"}},
                 "Location": {"schema": {"type": "string"}}}


def body(ref: str, required=True):
    return {"required": required, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def render(view: dict, status: int):
    return status, _TASK.dump(view), {"ETag": view["etag"]}


def _view(task, actor) -> dict:
    return views.task_view(task, actor, task_service.allowed_triggers(db.session, actor, task))


def make_blueprint(registry: DefinitionRegistry) -> Blueprint:
    blp = Blueprint("v1_tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks (任务) and claiming them")

    @blp.route("", methods=["GET"])
    @blp.doc(description="Tasks visible to the caller, newest first. Members see open tasks and those they have "
                         "claimed; staff their community's; supervisors their scope; admins all. X-Pagination's "
                         "total is exact up to 10,000 tasks, then a lower bound (`X-Total-Exact: false`).")
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate()
    def list_tasks(args, pagination_parameters):
        actor = http.actor()
        query = select(Task).where(scope.task_filter(actor))
        if actor.role == "member":
            query = query.where(or_(Task.status.in_(("open", "full")),
                                    Task.id.in_(select(Claim.task_id).where(Claim.member_id == actor.id))))
        if "status" in args:
            query = query.where(Task.status == args["status"])
        query = listing.task_filters(query, args)
        rows, headers = listing.page(query, pagination_parameters, order_by=Task.id.desc(),
                                     options=(selectinload(Task.community).selectinload(Community.town),
                                              selectinload(Task.grid)))
        return [_view(t, actor) for t in rows], 200, headers

    @blp.route("", methods=["POST"])
    @blp.doc(requestBody=body("TaskInput"), parameters=http.documented_headers("Idempotency-Key") + [
        {"in": "query", "name": "community", "required": False,
         "schema": {"type": "string", "pattern": r"^\d{12}$"},
         "description": "admins only: the 12-digit code of the community the task is for (staff: always their own)"}],
        description="Create a draft task in the caller's community (staff), or in `?community=` (admins).")
    @blp.response(201, TaskSchema, headers=ETAG_HEADER)
    def create_task():
        actor = http.actor()
        data = http.json_body()
        community_id = None
        code = request.args.get("community")
        if actor.role == "admin" and code is not None:
            community_id = db.session.scalar(select(Community.id).where(Community.code == code))
            if community_id is None:
                raise InvalidInput("unknown community", errors={"community": ["No community with this code."]})

        def call(idempotency):
            return task_service.create_task(actor, data, community_id=community_id, request_id=http.request_id(),
                                            idempotency=idempotency)
        return http.idempotent_post(call, render)

    @blp.route("/<int(max=2147483647):task_id>", methods=["GET"])
    @blp.doc(description="One task. `household_note` is filled only for readers allowed to see it "
                         "(each such read is logged).")
    @blp.response(200, TaskDetailSchema, headers=ETAG_HEADER)
    def get_task(task_id):
        actor = http.actor()
        task = task_service.get_task(db.session, actor, task_id)
        note = household.read_household_note(actor, task, purpose="api:task", request_id=http.request_id())
        note_erased = views.erased(["household_note"], household.erased_at(db.session, actor, task))
        return ({**_view(task, actor), "household_note": note, "household_note_erased": note_erased}, 200,
                {"ETag": http.etag("task", task)})

    @blp.route("/<int(max=2147483647):task_id>/events", methods=["GET"])
    @blp.doc(description="The task's timeline: create, edit, publish, fill, reopen, close, cancel, with actor, "
                         "time, input and hashes. `fill`/`reopen` are done by the member whose claim took or freed "
                         "the last slot: a member outside the caller's scope is shown by role (另一单位的党员), "
                         "without id.")
    @blp.response(200, EventSchema(many=True))
    def task_events(task_id):
        actor = http.actor()
        task_service.get_task(db.session, actor, task_id)
        return events(db.session, "task", task_id, actor)

    @blp.route("/<int(max=2147483647):task_id>", methods=["PATCH"])
    @blp.doc(requestBody=body("TaskEdit"), parameters=http.documented_headers("If-Match"),
             description="Edit a draft, open or full task (staff of its community, admins). Send If-Match.")
    @blp.response(200, TaskSchema, headers=ETAG_HEADER)
    def edit_task(task_id):
        actor = http.actor()
        task_service.require_task_staff(actor)
        data = http.json_body()
        result = task_service.edit_task(task_id, actor, data, request_id=http.request_id(),
                                        expected_version=http.expected_version("task", task_id))
        return result.view, 200, {"ETag": result.view["etag"]}

    @blp.route("/<int(max=2147483647):task_id>/claims", methods=["POST"])
    @blp.doc(parameters=http.documented_headers("Idempotency-Key"), requestBody={"required": False, "content": {
        "application/json": {"schema": {"type": "object", "maxProperties": 0}}}},
        description="Claim the task (members). Exactly one of two members racing for the last slot wins; "
                    "the other gets 409 with the reason.")
    @blp.response(201, ClaimSchema, headers=CLAIM_HEADERS)
    def claim_task(task_id):
        actor = http.actor()
        data = http.json_body()
        if data:
            raise InvalidInput("a claim takes no input", errors={k: ["Unknown field."] for k in data})

        def call(idempotency):
            return claims_service.start_claim(task_id, actor, request_id=http.request_id(), idempotency=idempotency)
        return http.idempotent_post(call, claims_api.render)

    triggers.add_trigger_routes(blp, registry, subject="task", id_arg="task_id", fire=task_service.fire,
                                render=render, response_schema=TaskSchema, headers=ETAG_HEADER)
    return blp
