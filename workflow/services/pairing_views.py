"""Read models of the unit's 报到: a pairing, a project (with its reports and linked tasks) and a
resource line as the data an answer shows. Reads only.

Like views.py for tasks and claims: a transition's service builds the view inside its
transaction; the API dumps it, an idempotent replay returns it, pages may read it.
"""
from sqlalchemy import func, select

from ..models import Claim, ProjectReport, Task, Unit
from . import scope
from .registration_views import community_ref, ref
from .views import erased, etag


def unit_ref(unit) -> dict | None:
    return None if unit is None else {"id": unit.id, "code": unit.code, "name": unit.name}


def pairing_view(pairing, definition, allowed: list[str]) -> dict:
    state = definition.state(pairing.state)
    community = pairing.community
    return {
        "id": pairing.id,
        "unit": unit_ref(pairing.unit),
        "community": community_ref(community),
        "town": {"code": community.town.code, "name": community.town.name},
        "state": pairing.state, "state_label": state.label, "final": state.final,
        "agreement": pairing.agreement,
        "ends_on": pairing.ends_on, "term_ends_at": pairing.term_ends_at,
        "proposed_by": ref(pairing.proposed_by) if pairing.proposed_by_id else None,
        "accepted_by": ref(pairing.accepted_by) if pairing.accepted_by_id else None,
        "accepted_at": pairing.accepted_at,
        "last_reason": pairing.last_reason,
        "version": pairing.version, "etag": etag("pairing", pairing),
        "definition": {"name": pairing.definition_name, "version": pairing.definition_version},
        "created_at": pairing.created_at, "updated_at": pairing.updated_at,
        "allowed_triggers": list(allowed),
    }


def report_view(report) -> dict:
    """A progress or completion report; its text and members are null once erased under the
    retention rules (`erased` says which and when), count, hours and photo ids stay."""
    gone = report.erased_at is not None
    return {"id": report.id, "kind": report.kind, "text": None if gone else report.text,
            "members": None if gone else (report.members or None), "member_count": report.member_count,
            "hours": report.hours, "photos": list(report.photo_ids or []),
            "author": ref(report.author) if report.author_id else None, "created_at": report.created_at,
            "erased": erased(["text", "members"], report.erased_at)}


def linked_tasks(session, actor, project_id: int) -> list[dict]:
    """The project's tasks the reader may see, each with its progress: places taken, verified
    claims (the verified state of the claim processes: their final states reached by approve)."""
    tasks = session.scalars(select(Task).where(Task.project_id == project_id, scope.task_filter(actor))
                            .order_by(Task.id)).all()
    if not tasks:
        return []
    verified = dict(session.execute(select(Claim.task_id, func.count(Claim.id)).where(
        Claim.task_id.in_([t.id for t in tasks]), Claim.state == "verified").group_by(Claim.task_id)).all())
    return [{"id": t.id, "title": t.title, "status": t.status, "capacity": t.capacity,
             "slots_taken": t.slots_taken, "verified_claims": verified.get(t.id, 0), "deadline": t.deadline}
            for t in tasks]


def project_view(session, project, definition, allowed: list[str], actor=None, *, detail: bool = False) -> dict:
    state = definition.state(project.state)
    community = project.community
    unit = session.get(Unit, project.unit_id) if project.unit_id is not None else None
    view = {
        "id": project.id, "title": project.title, "description": project.description,
        "category": project.category, "expected_outcome": project.expected_outcome,
        "community": community_ref(community),
        "town": {"code": community.town.code, "name": community.town.name},
        "starts_on": project.starts_on, "ends_on": project.ends_on, "deadline": project.deadline,
        "state": project.state, "state_label": state.label, "final": state.final,
        "unit": unit_ref(unit), "pairing_id": project.pairing_id,
        "taken_at": project.taken_at, "member_count": project.member_count, "hours": project.hours,
        "reported_at": project.reported_at, "done_at": project.done_at,
        "last_reason": project.last_reason,
        "version": project.version, "etag": etag("project", project),
        "definition": {"name": project.definition_name, "version": project.definition_version},
        "created_at": project.created_at, "updated_at": project.updated_at,
        "allowed_triggers": list(allowed),
    }
    if detail:
        reports = session.scalars(select(ProjectReport).where(ProjectReport.project_id == project.id)
                                  .order_by(ProjectReport.id)).all()
        view["reports"] = [report_view(r) for r in reports]
        view["tasks"] = linked_tasks(session, actor, project.id) if actor is not None else []
    return view


def resource_view(resource, actor) -> dict:
    """A resource line; its contact only for those `scope.sees_resource_contact` names."""
    return {
        "id": resource.id, "unit_id": resource.unit_id, "title": resource.title, "category": resource.category,
        "description": resource.description, "frequency": resource.frequency,
        "contact": resource.contact if scope.sees_resource_contact(actor, resource.unit_id) else None,
        "retired": resource.retired_at is not None, "retired_at": resource.retired_at,
        "version": resource.version, "etag": etag("resource", resource),
        "created_at": resource.created_at, "updated_at": resource.updated_at,
    }
