"""Read models: a task or a claim as the plain data an answer shows (ids, states, places,
people, the caller's allowed triggers). Reads only.

A transition's service builds its subject's view inside the transaction (so answering needs
no second one) and returns it in its result; the JSON API dumps it through its response
schemas, an idempotent replay returns the same data, and pages may read it too.
"""
from sqlalchemy import inspect, select

from ..models import Community, Unit, User
from . import scope
from .event_input import ERASED_NOTICE


def place(obj):
    return None if obj is None else {"code": obj.code, "name": obj.name}


def etag(kind: str, obj) -> str:
    """The version tag a client sends back in If-Match."""
    return f'"{kind}-{obj.id}-v{obj.version}"'


def task_view(task, actor, allowed: list[str]) -> dict:
    """`allowed` is the caller's allowed task triggers (empty for those who do not manage it);
    `actions` repeats it under its older name."""
    community = task.community
    return {
        "id": task.id, "title": task.title, "description": task.description, "category": task.category,
        "community": place(community), "town": place(community.town),
        "grid": {"id": task.grid.id, "name": task.grid.name} if task.grid else None,
        "address": task.address, "capacity": task.capacity, "slots_taken": task.slots_taken,
        "free_slots": task.free_slots, "points": task.points, "deadline": task.deadline,
        "activity_at": task.activity_at, "status": task.status, "project_id": task.project_id,
        "version": task.version, "etag": etag("task", task), "created_at": task.created_at,
        "updated_at": task.updated_at, "definition": {"name": task.definition_name,
                                                      "version": task.definition_version},
        "allowed_triggers": list(allowed), "actions": list(allowed),
    }


def may_manage_task(actor, task) -> bool:
    return actor.role == "admin" or scope.is_community_staff(actor, task)


def _claim_refs(session, claim, task):
    """The claim's community, member name and unit: from the objects when the caller loaded
    them already (a transition's lock query does, as do the list's eager loads), else in one
    round trip."""
    if _loaded(task, "community") and _loaded(claim, "member") and _loaded(claim, "unit"):
        return task.community, claim.member.name, claim.unit
    return session.execute(
        select(Community, User.name, Unit).select_from(Community).join(User, User.id == claim.member_id)
        .outerjoin(Unit, Unit.id == claim.unit_id).where(Community.id == task.community_id)).one()


def _loaded(obj, relation: str) -> bool:
    return relation not in inspect(obj).unloaded


def erased(fields: list[str], at) -> dict | None:
    """What an answer says of texts the retention run erased (None when nothing was)."""
    return {"fields": list(fields), "at": at, "notice": ERASED_NOTICE} if at is not None else None


def visit_view(v) -> dict:
    return {"id": v.id, "visited_at": v.visited_at, "lat": v.lat, "lon": v.lon,
            "note": None if v.erased_at else v.note, "photos": list(v.photo_ids or []), "created_at": v.created_at,
            "erased": erased(["note", "lat", "lon"], v.erased_at)}


def report_view(r) -> dict:
    return {"id": r.id, "summary": None if r.erased_at else r.summary, "hours": r.hours,
            "households": r.households, "photos": list(r.photo_ids or []), "created_at": r.created_at,
            "erased": erased(["summary"], r.erased_at)}


def claim_view(session, claim, definition, allowed: list[str], *, detail: bool = False,
               household_note: str | None = None) -> dict:
    task = claim.task
    state = definition.state(claim.state)
    community, member_name, unit = _claim_refs(session, claim, task)
    out = {
        "id": claim.id, "task_id": claim.task_id,
        "task": {"id": task.id, "title": task.title, "status": task.status, "community": place(community),
                 "deadline": task.deadline},
        "member": {"id": claim.member_id, "name": member_name},
        "unit": place(unit),
        "state": claim.state, "state_label": state.label, "final": state.final, "version": claim.version,
        "etag": etag("claim", claim), "definition": {"name": claim.definition_name,
                                                     "version": claim.definition_version},
        "created_at": claim.created_at, "updated_at": claim.updated_at,
        "last_reason": None if claim.erased_at else claim.last_reason,
        "erased": erased(["last_reason"], claim.erased_at), "allowed_triggers": list(allowed),
    }
    if detail:
        out["visits"] = [visit_view(v) for v in claim.visits]
        out["reports"] = [report_view(r) for r in claim.reports]
        out["household_note"] = household_note
    return out
