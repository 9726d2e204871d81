"""Domain objects as the plain dicts the response schemas dump. Reads only."""
from sqlalchemy import inspect, select

from workflow.engine import registry
from workflow.models import AuditEvent, Community, Unit, User
from workflow.services import scope
from workflow.services.names import visible_names
from workflow.services.claims import allowed_triggers
from workflow.services.tasks import task_actions

from .http import etag


def place(obj):
    return None if obj is None else {"code": obj.code, "name": obj.name}


def task_dict(task, actor) -> dict:
    community = task.community
    manager = actor.role == "admin" or scope.is_community_staff(actor, task)
    return {
        "id": task.id, "title": task.title, "description": task.description, "category": task.category,
        "community": place(community), "town": place(community.town),
        "grid": {"id": task.grid.id, "name": task.grid.name} if task.grid else None,
        "address": task.address, "capacity": task.capacity, "slots_taken": task.slots_taken,
        "free_slots": task.free_slots, "points": task.points, "deadline": task.deadline, "status": task.status,
        "version": task.version, "etag": etag("task", task), "created_at": task.created_at,
        "updated_at": task.updated_at, "actions": task_actions(task) if manager else [],
    }


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


def claim_dict(session, claim, actor, *, detail: bool = False, household_note: str | None = None) -> dict:
    task = claim.task
    definition = registry().get(claim.definition_name, claim.definition_version).definition
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
        "created_at": claim.created_at, "updated_at": claim.updated_at, "last_reason": claim.last_reason,
        "allowed_triggers": allowed_triggers(session, actor, claim, task),
    }
    if detail:
        out["visits"] = [{"id": v.id, "visited_at": v.visited_at, "lat": v.lat, "lon": v.lon, "note": v.note,
                          "photos": list(v.photo_ids or []), "created_at": v.created_at} for v in claim.visits]
        out["reports"] = [{"id": r.id, "summary": r.summary, "hours": r.hours, "households": r.households,
                           "photos": list(r.photo_ids or []), "created_at": r.created_at} for r in claim.reports]
        out["household_note"] = household_note
    return out


def events(session, subject_type: str, subject_id: int, reader) -> list[dict]:
    """A subject's timeline as `reader` may see it: a member outside the reader's scope is a role,
    without name or id (services/names.py)."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                    AuditEvent.subject_id == subject_id).order_by(AuditEvent.seq)).all()
    names = visible_names(session, reader, (r.actor_id for r in rows))
    return [{
        "id": r.id, "seq": r.seq, "trigger": r.trigger, "from_state": r.from_state, "to_state": r.to_state,
        "actor": {"id": None if names.hidden(r.actor_id) else r.actor_id,
                  "name": names.get(r.actor_id, "system") if r.actor_id else "system", "role": r.actor_role},
        "created_at": r.created_at, "input": r.payload, "request_id": r.request_id, "definition": r.definition,
        "hash": r.hash, "prev_hash": r.prev_hash,
    } for r in rows]


def me_dict(user) -> dict:
    if user.role == "admin":
        scope_out = {"kind": "all", "code": None, "name": None}
    elif user.role == "staff":
        scope_out = {"kind": "community", **place(user.community)}
    elif user.role == "member":
        scope_out = {"kind": "own", "code": None, "name": None}
    elif user.scope_town_id:
        scope_out = {"kind": "town", **place(user.scope_town)}
    elif user.unit_id:
        scope_out = {"kind": "unit", **place(user.unit)}
    else:
        scope_out = {"kind": "district", "code": None, "name": None}
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role, "scope": scope_out,
            "unit": place(user.unit), "community": place(user.community)}
