"""Subject kinds: what the transitions service must know about each kind of row a
definition drives — how to find and lock one within the caller's scope, which definition
roles an actor holds towards it, what its category is, and how its answer looks.

The engine is the same for every kind (services/transitions.py); only this adapter
differs. A new process (registration, pairing, project) adds a kind here and a
definition file; routes and page forms follow from the definition.
"""
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import NotFound
from ..models import AuditEvent, Claim, Community, Report, Task, Unit, Upload, User
from . import scope, views
from .tx import lock_one


@dataclass
class Locked:
    """A subject row locked for this transaction, the related rows its guards and effects
    read, and its chain head (the hash of its last audit event)."""

    subject: Any
    related: dict = field(default_factory=dict)
    head_hash: str | None = None


class SubjectKind:
    name: str = ""
    model: Any = None

    def pinned(self, row) -> tuple[str, int]:
        """The definition (name, version) the instance started under."""
        return (row.definition_name, row.definition_version)

    def state_of(self, row) -> str:
        return row.state

    def scope_filter(self, actor):
        raise NotImplementedError

    def lock(self, session, actor, ident: int, writes: set[str]) -> Locked:
        """The subject locked (and the related rows `writes` names, locked first), or NotFound
        when the actor may not see it."""
        raise NotImplementedError

    def related(self, session, row) -> dict:
        """The related rows of an unlocked row, to compute allowed triggers for a reader."""
        return {}

    def relations(self, actor, row, related: dict) -> set[str]:
        raise NotImplementedError

    def category(self, row, related: dict) -> str | None:
        return None

    def check_input(self, session, trigger, actor, row, related, data) -> None:
        """Checks the schema cannot make: that named photos are the actor's own, say."""

    def prefill(self, session, trigger, row, related) -> dict:
        """Values a trigger's form starts from (field name → value), so a person never types
        again what the subject already holds: none by default."""
        return {}

    def view(self, session, row, related, definition, actor, allowed) -> dict:
        raise NotImplementedError


def chain_head(kind: str, model):
    """The hash of the subject's newest event, as a scalar subquery read with its lock: event n is
    the one that made the row version n."""
    return select(AuditEvent.hash).where(
        AuditEvent.subject_type == kind, AuditEvent.subject_id == model.id, AuditEvent.seq == model.version
    ).scalar_subquery()


def check_photos(session, trigger, actor, row_id, data, owner_column) -> None:
    """Photos named in the input must be the actor's own uploads, not used by another subject."""
    from ..errors import InvalidInput

    for spec in trigger.fields:
        if spec.type != "photos" or not data.get(spec.name):
            continue
        ids = data[spec.name]
        if len(set(ids)) != len(ids):
            raise InvalidInput("a photo is listed twice", errors={spec.name: ["Each photo once."]})
        found = session.execute(select(Upload.id, Upload.uploader_id, owner_column).where(Upload.id.in_(ids))).all()
        bad = sorted(set(ids) - {upload_id for upload_id, uploader, owner in found
                                 if uploader == actor.id and owner in (None, row_id)})
        if bad:
            raise InvalidInput("unknown photos", errors={spec.name: [f"Unknown upload id(s): {bad}."]})


class ClaimKind(SubjectKind):
    name = "claim"
    model = Claim

    def scope_filter(self, actor):
        return scope.claim_filter(actor)

    def lock(self, session, actor, ident, writes):
        """A trigger that changes the task locks the task first, then the claim (the lock order);
        any other locks only the claim, and reads the task with it in one query. (A task cancel,
        which changes claims, takes each claim's lock after the task's, so it still waits.)"""
        head = chain_head("claim", Claim)
        if "task" not in writes:
            # With the claim's community, member and unit, which every answer about a claim shows.
            row = session.execute(
                select(Claim, Task, head, Community, User, Unit).join(Task, Task.id == Claim.task_id)
                .join(Community, Community.id == Task.community_id).join(User, User.id == Claim.member_id)
                .outerjoin(Unit, Unit.id == Claim.unit_id)
                .where(Claim.id == ident, scope.claim_filter(actor)).with_for_update(of=Claim)
                .execution_options(populate_existing=True)
            ).first()
            if row is None:
                raise NotFound(f"claim {ident} not found")
            claim, task, head_hash, community, member, unit = row
            set_committed_value(task, "community", community)
            set_committed_value(claim, "member", member)
            set_committed_value(claim, "unit", unit)
        else:
            # Scope first, before any lock: what decides it (member, task) never changes on a claim.
            task_id = session.scalar(select(Claim.task_id).where(Claim.id == ident, scope.claim_filter(actor)))
            if task_id is None:
                raise NotFound(f"claim {ident} not found")
            task = lock_one(session, Task, task_id)
            claim, head_hash = session.execute(
                select(Claim, head).where(Claim.id == ident).with_for_update(of=Claim)
                .execution_options(populate_existing=True)
            ).one()
        # Objects loaded with populate_existing re-load their relations by SELECT; hand the
        # claim its task so readers of claim.task need no query.
        set_committed_value(claim, "task", task)
        return Locked(claim, {"task": task}, head_hash)

    def related(self, session, row):
        return {"task": row.task}

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("member", "admin", "system") else set()
        if actor.role == "member" and row.member_id == actor.id:
            relations.add("claimant")
        if scope.is_community_staff(actor, related["task"]):
            relations.add("community_staff")
        return relations

    def category(self, row, related):
        return related["task"].category

    def check_input(self, session, trigger, actor, row, related, data):
        check_photos(session, trigger, actor, row.id, data, Upload.claim_id)

    def prefill(self, session, trigger, row, related):
        """A trigger that records a report (submit_report in the shipped definitions) starts from
        the claim's last report when there is one: after a return the member corrects it rather
        than typing it again. Its photos stay attached (they are this claim's already)."""
        if not any(call.name == "record_report" for call in trigger.effects):
            return {}
        last = session.scalar(select(Report).where(Report.claim_id == row.id).order_by(Report.id.desc()).limit(1))
        if last is None:
            return {}
        values = {"summary": last.summary, "hours": last.hours, "households": last.households,
                  "photos": list(last.photo_ids or [])}
        return {spec.name: values[spec.name] for spec in trigger.fields if spec.name in values}

    def view(self, session, row, related, definition, actor, allowed):
        return views.claim_view(session, row, definition, allowed)


class TaskKind(SubjectKind):
    name = "task"
    model = Task

    def state_of(self, row) -> str:
        return row.status

    def scope_filter(self, actor):
        return scope.task_filter(actor)

    def lock(self, session, actor, ident, writes):
        head = chain_head("task", Task)
        row = session.execute(
            select(Task, head).where(Task.id == ident, scope.task_filter(actor)).with_for_update(of=Task)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            raise NotFound(f"task {ident} not found")
        return Locked(row[0], {}, row[1])

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("admin", "system") else set()
        if scope.is_community_staff(actor, row):
            relations.add("community_staff")
        return relations

    def category(self, row, related):
        return row.category

    def view(self, session, row, related, definition, actor, allowed):
        return views.task_view(row, actor, allowed)


KINDS: dict[str, SubjectKind] = {kind.name: kind for kind in (ClaimKind(), TaskKind())}


def kind(name: str) -> SubjectKind:
    return KINDS[name]
