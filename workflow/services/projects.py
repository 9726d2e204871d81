"""Projects (项目清单): a community's staff publish a project; a liaison of a unit with an active
pairing with that community takes it on; the unit reports progress and completion; the staff
approve, return or cancel. Every step is a trigger on the engine.

Publishing is the project process's creating trigger (`publish`, from `new`): the row is built
in the staff member's community and inserted once, already open. Taking locks the project's row
(services/subjects.py, ProjectKind.lock), so of two liaisons taking the same project at once the
second finds it taken (409); a unit without an active pairing with the community is refused by
the `paired_with_community` guard (409 with the reason).
"""
from sqlalchemy.orm.attributes import set_committed_value

from .. import runtime
from ..clock import day_end, utcnow
from ..errors import Forbidden
from ..models import Community, Project
from . import scope, transitions
from .idempotency import record as record_idempotency
from .subjects import kind as subject_kind
from .tx import write_transaction

SUBJECT = "project"


def live_states() -> tuple[str, ...]:
    return runtime.registry().live_states(SUBJECT)


def publish(actor, data: dict | None, *, request_id: str | None = None, now=None,
            idempotency=None) -> transitions.TransitionResult:
    """A new project of the staff member's community under the active project process, open."""
    now = now or utcnow()
    if actor.role != "staff" or actor.community_id is None:
        raise Forbidden("a community's staff publish its projects")
    compiled = runtime.current().active(SUBJECT)
    trigger = compiled.definition.creating_triggers[0]
    kind = subject_kind(SUBJECT)
    data = transitions.validate(compiled, trigger, data, now=now)
    with write_transaction() as session:
        community = session.get(Community, actor.community_id)
        project = Project(
            community_id=community.id, title=data["title"], description=data["description"],
            category=data["category"], expected_outcome=data.get("expected_outcome") or "",
            starts_on=data["starts_on"], ends_on=data["ends_on"], deadline=day_end(data["ends_on"]),
            state=compiled.definition.initial, version=0, definition_name=compiled.definition.name,
            definition_version=compiled.definition.version, created_by_id=actor.id, created_at=now, updated_at=now)
        set_committed_value(project, "community", community)
        related = {"community": community}
        kind.check_input(session, trigger, actor, project, related, data)  # the dates
        if not kind.relations(actor, project, related).intersection(trigger.roles):
            raise Forbidden(f"your role may not {trigger.name} a project")
        session.add(project)
        transitions.step(session, SUBJECT, compiled, trigger, project, related, actor, data, now=now,
                         request_id=request_id, head=(0, None))
        answer = transitions.result(session, SUBJECT, project, related, actor, now=now, created=True)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def fire(project_id: int, trigger_name: str, actor, data: dict | None = None,
         **kw) -> transitions.TransitionResult:
    """Fire a project trigger (take, report_progress, report, approve, return, cancel)."""
    return transitions.fire(SUBJECT, project_id, trigger_name, actor, data, **kw)


def allowed_triggers(session, actor, project, *, now=None) -> list[str]:
    return transitions.allowed_triggers(session, actor, SUBJECT, project, now=now)


def get_project(session, actor, project_id: int) -> Project:
    return scope.visible_project(session, actor, project_id)


def take_refusal(session, actor, project) -> tuple[str, str] | None:
    """Why the actor could not take this project now (the guard's name and message), or None:
    pages show the action disabled with the reason rather than hide it."""
    from ..engine import run_guards

    if actor.role != "liaison" or project.state != "open":
        return None
    compiled = runtime.registry().get(*project.definition_key)
    trigger = compiled.definition.trigger("take")
    if trigger is None:
        return None
    ctx = transitions._context(session, runtime.current(), compiled, trigger, project, {"community": project.community},
                               actor, now=utcnow())
    return run_guards(trigger, ctx)
