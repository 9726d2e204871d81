"""Tasks: staff create, edit, publish, close and cancel their community's tasks.

Every change is an audit event on the task's own chain (peers learned the hard way that
edits to the task itself need an audit trail too). The household note's text never
goes into the audit log: only the fact that it changed.
"""
from marshmallow import ValidationError
from sqlalchemy import select

from .. import audit, capacity, policy
from ..clock import utcnow
from ..engine import registry
from ..errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from ..models import Claim, Grid, HouseholdNote, Task
from ..schemas import ReasonSchema, TaskEditSchema, TaskInputSchema
from ..time_bounds import check_deadline
from . import scope
from .claims import fire_internal
from .idempotency import record as record_idempotency
from .tx import lock_one, write_transaction

EDITABLE_STATUSES = ("draft", "open", "full")


def _load(schema, data) -> dict:
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise InvalidInput("invalid task input", errors=exc.normalized_messages()) from None


def _require_task_staff(actor, task=None):
    """Staff of the task's community, or an admin. Other roles may never manage tasks."""
    if actor.role not in ("staff", "admin"):
        raise Forbidden("only community staff and admins manage tasks")
    if task is not None and actor.role == "staff" and task.community_id != actor.community_id:
        raise NotFound(f"task {task.id} not found")


def _locked_task(session, actor, task_id, expected_version=None) -> Task:
    task = lock_one(session, Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    _require_task_staff(actor, task)
    if expected_version is not None and expected_version != task.version:
        raise StaleVersion(f"task {task_id} is at version {task.version}, not {expected_version}",
                           current_version=task.version)
    return task


def _check_grid(session, grid_id, community_id) -> None:
    if grid_id is not None and session.scalar(
        select(Grid.id).where(Grid.id == grid_id, Grid.community_id == community_id)
    ) is None:
        raise InvalidInput("unknown grid", errors={"grid": ["No such grid in this community."]})


def _check_deadline(data: dict, now) -> None:
    # Checked here, not in the schema, so it is relative to the service's `now`: in the future,
    # at most two years ahead (time_bounds).
    if "deadline" in data:
        check_deadline(data["deadline"], now)


def _public(data: dict) -> dict:
    """What an audit event may say about a task's input: everything but the household note."""
    public = {k: v for k, v in data.items() if k != "household_note"}
    if "household_note" in data:
        public["household_note_changed"] = True
    return public


def create_task(actor, data: dict, *, community_id: int | None = None, request_id=None, now=None,
                idempotency=None) -> Task:
    """A draft task in the staff member's community (an admin names the community)."""
    _require_task_staff(actor)
    now = now or utcnow()
    data = _load(TaskInputSchema(), data)
    _check_deadline(data, now)
    community_id = actor.community_id if actor.role == "staff" else community_id
    if community_id is None:
        raise InvalidInput("an admin must name the community", errors={"community": ["Required."]})
    with write_transaction() as session:
        _check_grid(session, data["grid"], community_id)
        task = Task(
            title=data["title"], description=data["description"], category=data["category"],
            community_id=community_id, grid_id=data["grid"], address=data["address"],
            capacity=data["capacity"], points=data["points"], deadline=data["deadline"], status="draft",
            version=1, created_by_id=actor.id, created_at=now, updated_at=now,
        )
        session.add(task)
        session.flush()
        if data.get("household_note"):
            session.add(HouseholdNote(task_id=task.id, note=data["household_note"], updated_at=now))
        audit.append(session, subject_type="task", subject_id=task.id, trigger="create", from_state=None,
                     to_state="draft", actor=actor, payload=_public(data), request_id=request_id, now=now)
        record_idempotency(idempotency, session, task)
    return task


def edit_task(task_id: int, actor, data: dict, *, expected_version=None, request_id=None, now=None) -> Task:
    now = now or utcnow()
    data = _load(TaskEditSchema(), data)
    _check_deadline(data, now)
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
        note = data.pop("household_note", None) if "household_note" in data else False
        for name, value in data.items():
            setattr(task, "grid_id" if name == "grid" else name, value)
        if note is not False:
            existing = session.get(HouseholdNote, task.id)
            if note:
                if existing:
                    existing.note, existing.updated_at = note, now
                else:
                    session.add(HouseholdNote(task_id=task.id, note=note, updated_at=now))
            elif existing:
                session.delete(existing)
            data["household_note"] = note
        task.version += 1
        task.updated_at = now
        audit.append(session, subject_type="task", subject_id=task.id, trigger="edit", from_state=task.status,
                     to_state=task.status, actor=actor, payload=_public(data), request_id=request_id, now=now)
        capacity.recount(session, task, registry().live_states(), actor=actor, now=now, request_id=request_id)
    return task


def _move(task_id, actor, trigger, sources, dest, *, payload=None, expected_version=None, request_id=None,
          now=None, idempotency=None) -> Task:
    now = now or utcnow()
    with write_transaction() as session:
        task = _locked_task(session, actor, task_id, expected_version)
        if task.status not in sources:
            raise TransitionNotAllowed(f"cannot {trigger} a {task.status} task", state=task.status,
                                       allowed_triggers=task_actions(task))
        if trigger == "publish" and task.deadline <= now:
            raise InvalidInput("the deadline has passed", errors={"deadline": ["Set a future deadline first."]})
        from_state, task.status = task.status, dest
        task.version += 1
        task.updated_at = now
        audit.append(session, subject_type="task", subject_id=task.id, trigger=trigger, from_state=from_state,
                     to_state=dest, actor=actor, payload=payload or {}, request_id=request_id, now=now)
        if trigger == "publish":
            capacity.recount(session, task, registry().live_states(), actor=actor, now=now, request_id=request_id)
        if trigger == "cancel":
            _cancel_live_claims(session, task, actor, payload["reason"], now=now, request_id=request_id)
        record_idempotency(idempotency, session, task)
    return task


def task_actions(task) -> list[str]:
    """The lifecycle actions open on a task in its current status."""
    return {
        "draft": ["publish", "cancel"], "open": ["close", "cancel"], "full": ["close", "cancel"],
        "closed": ["cancel"],
    }.get(task.status, [])


def publish_task(task_id, actor, **kw) -> Task:
    return _move(task_id, actor, "publish", ("draft",), "open", **kw)


def close_task(task_id, actor, **kw) -> Task:
    """No new claims; claims already running go on to their end."""
    return _move(task_id, actor, "close", ("open", "full"), "closed", **kw)


def cancel_task(task_id, actor, data: dict, **kw) -> Task:
    """Cancel the task and, with it, every live claim (each with its own event)."""
    reason = _load(ReasonSchema(), data)["reason"]
    return _move(task_id, actor, "cancel", ("draft", "open", "full", "closed"), "cancelled",
                 payload={"reason": reason}, **kw)


def _cancel_live_claims(session, task, actor, reason, *, now, request_id) -> None:
    ids = session.scalars(
        select(Claim.id).where(Claim.task_id == task.id, Claim.state.in_(registry().live_states())).order_by(Claim.id)
    ).all()
    for claim_id in ids:
        claim = lock_one(session, Claim, claim_id)
        fire_internal(session, claim, task, "cancel", actor, {"reason": reason}, now=now, request_id=request_id)
    task.slots_taken = 0


def get_task(session, actor, task_id: int) -> Task:
    return scope.visible_task(session, actor, task_id)


def active_definition():
    return registry().get(policy.current.definition_name, policy.current.definition_version).definition
