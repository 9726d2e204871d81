"""Tasks: list, create, read, edit, publish, close, cancel, and claim.

Every rule is the services' (workflow.services.tasks, claims, scope, household); the
views parse, call, and present. Lists use scope.task_filter, the same rule as reads.
"""
from flask import request
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Claim, Community, Task, Town
from workflow.services import claims as claims_service
from workflow.services import household, scope
from workflow.services import tasks as task_service

from . import http
from .present import claim_dict, events, task_dict
from .schemas import ClaimSchema, EventSchema, TaskDetailSchema, TaskQuerySchema, TaskSchema

# Built once (a Schema instance deep-copies its fields): response schemas reused per request.
_CLAIM = ClaimSchema()
_TASK = TaskSchema()

blp = Blueprint("v1_tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks (任务) and claiming them")

ETAG_HEADER = {"ETag": {"description": "the task's version, for If-Match", "schema": {"type": "string"}}}
CLAIM_HEADERS = {"ETag": {"description": "the claim's version", "schema": {"type": "string"}},
                 "Location": {"schema": {"type": "string"}}}
TASK_ID = {"task_id": {"description": "task id"}}


def body(ref: str, required=True):
    return {"required": required, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _render_task(actor, status=200):
    def render(task):
        return status, _TASK.dump(task_dict(task, actor)), {"ETag": http.etag("task", task)}
    return render


def _with_options(q):
    return q.options(selectinload(Task.community).selectinload(Community.town), selectinload(Task.grid))


@blp.route("", methods=["GET"])
@blp.doc(description="Tasks visible to the caller, newest first. Members see open tasks and those they have "
                     "claimed; staff their community's; supervisors their scope; admins all.")
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskSchema(many=True))
@blp.paginate()
def list_tasks(args, pagination_parameters):
    actor = http.actor()
    query = select(Task).join(Community, Community.id == Task.community_id).where(scope.task_filter(actor))
    if actor.role == "member":
        query = query.where(or_(Task.status.in_(("open", "full")),
                                Task.id.in_(select(Claim.task_id).where(Claim.member_id == actor.id))))
    if "status" in args:
        query = query.where(Task.status == args["status"])
    if "category" in args:
        query = query.where(Task.category == args["category"])
    if "community" in args:
        query = query.where(Community.code == args["community"])
    if "town" in args:
        query = query.where(Community.town_id.in_(select(Town.id).where(Town.code == args["town"])))
    if "q" in args:
        needle = args["q"].lower()
        query = query.where(or_(func.lower(Task.title).contains(needle, autoescape=True),
                                func.lower(Task.description).contains(needle, autoescape=True)))
    pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(_with_options(query).order_by(Task.id.desc())
                              .offset(http.first_item(pagination_parameters))
                              .limit(pagination_parameters.page_size)).all()
    return [task_dict(t, actor) for t in rows]


@blp.route("", methods=["POST"])
@blp.doc(requestBody=body("TaskInput"), parameters=http.documented_headers("Idempotency-Key") + [
    {"in": "query", "name": "community", "required": False, "schema": {"type": "string", "pattern": r"^\d{12}$"},
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

    def call(idem):
        return task_service.create_task(actor, data, community_id=community_id, request_id=http.request_id(),
                                        idempotency=idem)
    return http.idempotent_post(call, _render_task(actor, 201))


@blp.route("/<int(max=2147483647):task_id>", methods=["GET"])
@blp.doc(description="One task. `household_note` is filled only for readers allowed to see it "
                     "(each such read is logged).")
@blp.response(200, TaskDetailSchema, headers=ETAG_HEADER)
def get_task(task_id):
    actor = http.actor()
    task = task_service.get_task(db.session, actor, task_id)
    note = household.read_household_note(actor, task, purpose="api:task", request_id=http.request_id())
    return {**task_dict(task, actor), "household_note": note}, 200, {"ETag": http.etag("task", task)}


@blp.route("/<int(max=2147483647):task_id>/events", methods=["GET"])
@blp.doc(description="The task's timeline: create, edit, publish, fill, reopen, close, cancel, with actor, time, "
                     "input and hashes. `fill`/`reopen` are done by the member whose claim took or freed the last "
                     "slot: a member outside the caller's scope is shown by role (另一单位的党员), without id.")
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
    task_service._require_task_staff(actor)
    data = http.json_body()
    task = task_service.edit_task(task_id, actor, data, expected_version=http.expected_version("task", task_id),
                                  request_id=http.request_id())
    return task_dict(task, actor), 200, {"ETag": http.etag("task", task)}


def _lifecycle(action: str, takes_reason: bool):
    def view(task_id):
        actor = http.actor()
        task_service._require_task_staff(actor)
        data = http.json_body()
        kw = dict(expected_version=http.expected_version("task", task_id), request_id=http.request_id())

        def call(idem):
            if takes_reason:
                return task_service.cancel_task(task_id, actor, data, idempotency=idem, **kw)
            if data:
                raise InvalidInput(f"{action} takes no input", errors={k: ["Unknown field."] for k in data})
            return getattr(task_service, f"{action}_task")(task_id, actor, idempotency=idem, **kw)
        return http.idempotent_post(call, _render_task(actor))
    view.__name__ = f"{action}_task"
    return view


for _action, _reason, _doc in (
        ("publish", False, "Publish a draft: it opens for claims (deadline must be in the future)."),
        ("close", False, "Stop new claims on an open or full task; running claims go on to their end."),
        ("cancel", True, "Cancel the task and, with it, every live claim on it (each with its own event).")):
    blp.route(f"/<int(max=2147483647):task_id>/{_action}", methods=["POST"], endpoint=f"{_action}_task")(
        blp.doc(requestBody=body("Reason") if _reason else {"required": False, "content": {
            "application/json": {"schema": {"type": "object", "maxProperties": 0}}}},
            parameters=http.documented_headers("Idempotency-Key", "If-Match"), description=_doc)(
            blp.response(200, TaskSchema, headers=ETAG_HEADER)(_lifecycle(_action, _reason))))


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

    def render(claim):
        return (201, _CLAIM.dump(claim_dict(db.session, claim, actor)),
                {"ETag": http.etag("claim", claim), "Location": f"/api/v1/claims/{claim.id}"})

    def call(idem):
        return claims_service.start_claim(task_id, actor, request_id=http.request_id(), idempotency=idem)
    return http.idempotent_post(call, render)
