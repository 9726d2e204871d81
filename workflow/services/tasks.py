"""Tasks: staff create and edit their community's tasks; the lifecycle is the task definition's.

Creating a task (a draft) and editing its fields are not transitions: they are this
module's. Publishing, closing and cancelling are triggers of `workflow/definitions/task/`,
fired through the same engine as every process (`services.transitions`), and the slot
count moves a task between open and full by the definition's internal `fill`/`reopen`.

Every change is an audit event on the task's own chain (peers learned the hard way that
edits to the task itself need an audit trail too). The household note's text never
goes into the audit log: only the fact that it changed.
"""
from datetime import timedelta

from marshmallow import ValidationError
from sqlalchemy import select

from .. import audit, capacity, runtime
from ..clock import utcnow
from ..errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from ..models import Grid, HouseholdNote, Project, Task
from ..schemas import TaskEditSchema, TaskInputSchema
from ..time_bounds import check_deadline
from . import scope, transitions
from .idempotency import record as record_idempotency
from .tx import lock_one, write_transaction

EDITABLE_STATUSES = ("draft", "open", "full")


def _load(schema, data) -> dict:
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise InvalidInput("invalid task input", errors=exc.normalized_messages()) from None


def require_task_staff(actor, task=None):
    """Staff of the task's community, or an admin. Other roles may never manage tasks."""
    if actor.role not in ("staff", "admin"):
        raise Forbidden("only community staff and admins manage tasks")
    if task is not None and actor.role == "staff" and task.community_id != actor.community_id:
        raise NotFound(f"task {task.id} not found")


def _locked_task(session, actor, task_id, expected_version=None) -> Task:
    task = lock_one(session, Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    require_task_staff(actor, task)
    if expected_version is not None and expected_version != task.version:
        raise StaleVersion(f"task {task_id} is at version {task.version}, not {expected_version}",
                           current_version=task.version)
    return task


def _check_grid(session, grid_id, community_id) -> None:
    if grid_id is not None and session.scalar(
        select(Grid.id).where(Grid.id == grid_id, Grid.community_id == community_id)
    ) is None:
        raise InvalidInput("unknown grid", errors={"grid": ["No such grid in this community."]})


def _check_project(session, project_id, community_id) -> None:
    """A task belongs only to a project of its own community, and not to a cancelled one."""
    if project_id is None:
        return
    state = session.scalar(select(Project.state).where(Project.id == project_id,
                                                       Project.community_id == community_id))
    if state is None:
        raise InvalidInput("unknown project", errors={"project_id": ["No such project in this community."]})
    if state == "cancelled":
        raise InvalidInput("a cancelled project", errors={"project_id": ["That project was cancelled."]})


def _check_deadline(data: dict, now) -> None:
    # Checked here, not in the schema, so it is relative to the service's `now`: in the future,
    # at most two years ahead (time_bounds).
    if "deadline" in data:
        check_deadline(data["deadline"], now)


ACTIVITY_RANGE = timedelta(days=2 * 366)


def _check_activity(data: dict, now) -> None:
    # Within two years of now either way: a past one may stay on a task being edited.
    when = data.get("activity_at")
    if when is not None and not now - ACTIVITY_RANGE <= when <= now + ACTIVITY_RANGE:
        raise InvalidInput("activity time too far from now",
                           errors={"activity_at": ["Must lie within two years of now."]})


def _public(data: dict) -> dict:
    """What an audit event may say about a task's input: everything but the household note."""
    public = {k: v for k, v in data.items() if k != "household_note"}
    if "household_note" in data:
        public["household_note_changed"] = True
    return public


def _answer(session, task, actor, now, created=False) -> transitions.TransitionResult:
    return transitions.result(session, "task", task, {}, actor, now=now, created=created)


def create_task(actor, data: dict, *, community_id: int | None = None, request_id=None, now=None,
                idempotency=None) -> transitions.TransitionResult:
    """A draft task in the staff member's community (an admin names the community), under
    the active task process."""
    require_task_staff(actor)
    now = now or utcnow()
    data = _load(TaskInputSchema(), data)
    _check_deadline(data, now)
    _check_activity(data, now)
    community_id = actor.community_id if actor.role == "staff" else community_id
    if community_id is None:
        raise InvalidInput("an admin must name the community", errors={"community": ["Required."]})
    definition = runtime.current().active("task").definition
    with write_transaction() as session:
        _check_grid(session, data["grid"], community_id)
        _check_project(session, data["project_id"], community_id)
        task = Task(
            title=data["title"], description=data["description"], category=data["category"],
            community_id=community_id, grid_id=data["grid"], address=data["address"],
            capacity=data["capacity"], points=data["points"], deadline=data["deadline"],
            activity_at=data["activity_at"], project_id=data["project_id"],
            status=definition.initial, version=1, definition_name=definition.name,
            definition_version=definition.version, created_by_id=actor.id, created_at=now, updated_at=now,
        )
        session.add(task)
        session.flush()
        if data.get("household_note"):
            session.add(HouseholdNote(task_id=task.id, note=data["household_note"], updated_at=now))
        audit.append(session, subject_type="task", subject_id=task.id, trigger="create", from_state=None,
                     to_state=task.status, actor=actor, payload=_public(data), request_id=request_id,
                     definition=definition.label, now=now, head=(0, None))
        answer = _answer(session, task, actor, now, created=True)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def edit_task(task_id: int, actor, data: dict, *, expected_version=None, request_id=None,
              now=None) -> transitions.TransitionResult:
    now = now or utcnow()
    data = _load(TaskEditSchema(), data)
    _check_deadline(data, now)
    _check_activity(data, now)
    with write_transaction() as session:
        task = _locked_task(session, actor, task_id, expected_version)
        if task.status not in EDITABLE_STATUSES:
            raise TransitionNotAllowed(f"a {task.status} task cannot be edited", state=task.status,
                                       allowed_triggers=[])
        if "capacity" in data and data["capacity"] < task.slots_taken:
            raise InvalidInput("capacity below the claims already taken",
                               errors={"capacity": [f"{task.slots_taken} members have claimed it already."]})
        if "grid" in data:
            _check_grid(session, data["grid"], task.community_id)
        if data.get("project_id") is not None and data["project_id"] != task.project_id:
            _check_project(session, data["project_id"], task.community_id)
        note = data.pop("household_note", None) if "household_note" in data else False
        for name, value in data.items():
            setattr(task, "grid_id" if name == "grid" else name, value)
        if note is not False:
            existing = session.get(HouseholdNote, task.id)
            if note:
                if existing:  # (a note erased under the retention rules comes back as a new one)
                    existing.note, existing.updated_at, existing.erased_at = note, now, None
                else:
                    session.add(HouseholdNote(task_id=task.id, note=note, updated_at=now))
            elif existing:
                session.delete(existing)
            data["household_note"] = note
        task.version += 1
        task.updated_at = now
        audit.append(session, subject_type="task", subject_id=task.id, trigger="edit", from_state=task.status,
                     to_state=task.status, actor=actor, payload=_public(data), request_id=request_id,
                     definition=f"{task.definition_name}@{task.definition_version}", now=now)
        # A new capacity may fill or reopen the task (its own trigger and event).
        capacity.recount(session, task, runtime.registry().live_states("claim"), actor=actor,
                         cascade=transitions.cascader(session, {"task": task}, now=now, request_id=request_id))
        answer = _answer(session, task, actor, now)
    return answer


def fire(task_id: int, trigger_name: str, actor, data: dict | None = None, **kw) -> transitions.TransitionResult:
    """Fire a task trigger (publish, close, cancel, …) for staff of its community or an admin."""
    require_task_staff(actor)
    return transitions.fire("task", task_id, trigger_name, actor, data, **kw)


def publish_task(task_id, actor, **kw) -> transitions.TransitionResult:
    return fire(task_id, "publish", actor, {}, **kw)


def close_task(task_id, actor, **kw) -> transitions.TransitionResult:
    """No new claims; claims already running go on to their end."""
    return fire(task_id, "close", actor, {}, **kw)


def cancel_task(task_id, actor, data: dict, **kw) -> transitions.TransitionResult:
    """Cancel the task and, with it, every live claim (each with its own event)."""
    return fire(task_id, "cancel", actor, data, **kw)


def allowed_triggers(session, actor, task, *, now=None) -> list[str]:
    """The task triggers open to the caller: none for those who do not manage it."""
    if actor.role not in ("staff", "admin"):
        return []
    return transitions.allowed_triggers(session, actor, "task", task, {}, now=now)


def get_task(session, actor, task_id: int) -> Task:
    return scope.visible_task(session, actor, task_id)
