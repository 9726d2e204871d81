"""Claims: start one on a task, fire a trigger on it, and say which triggers a caller has.

Each write runs in one transaction that locks the task, then the claim; validates the
input with the trigger's schema; lets the claim's pinned definition machine move the
state (guards, then effects); bumps the claim's version and appends the audit event.
"""
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, policy
from ..clock import utcnow
from ..engine import TransitionContext, registry, run_guards
from ..engine.definition import TriggerSpec
from ..errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from ..models import AuditEvent, Claim, Community, Task, Unit, Upload, User
from . import scope
from .idempotency import record as record_idempotency
from .tx import lock_one, write_transaction


def actor_relations(actor, claim, task) -> set[str]:
    """The definition roles this actor holds towards this claim."""
    relations = {actor.role} if actor.role in ("member", "admin", "system") else set()
    if actor.role == "member" and claim.member_id == actor.id:
        relations.add("claimant")
    if scope.is_community_staff(actor, task):
        relations.add("community_staff")
    return relations


def _may_fire(trigger: TriggerSpec, relations: set[str]) -> bool:
    return bool(relations.intersection(trigger.roles))


def allowed_triggers(session, actor, claim, task=None, *, now=None) -> list[str]:
    """The triggers this actor could fire now: right state, right role, guards holding.
    Internal triggers (expiry, cancel-with-task) are never offered."""
    task = task or claim.task
    compiled = registry().get(claim.definition_name, claim.definition_version)
    relations = actor_relations(actor, claim, task)
    names = []
    for trig in compiled.definition.triggers_from(claim.state):
        if trig.internal or not _may_fire(trig, relations):
            continue
        ctx = TransitionContext(session=session, definition=compiled.definition, trigger=trig, claim=claim,
                                task=task, actor=actor, now=now or utcnow(), settings=policy.current.settings)
        if run_guards(trig, ctx) is None:
            names.append(trig.name)
    return names


def _validate(compiled, trigger: TriggerSpec, task, data) -> dict:
    try:
        loaded = compiled.schemas[trigger.name].load(data or {})
    except ValidationError as exc:
        raise InvalidInput(f"invalid input for {trigger.name}", errors=exc.normalized_messages()) from None
    missing = {
        spec.name: [f"Required for {task.category} tasks."]
        for spec in trigger.fields
        if task.category in spec.required_for_categories and not loaded.get(spec.name)
    }
    if missing:
        raise InvalidInput(f"invalid input for {trigger.name}", errors=missing)
    return loaded


def _check_photos(session, trigger: TriggerSpec, actor, claim, data) -> None:
    """Photos named in the input must be the actor's own uploads, not used by another claim."""
    for spec in trigger.fields:
        if spec.type != "photos" or not data.get(spec.name):
            continue
        ids = data[spec.name]
        if len(set(ids)) != len(ids):
            raise InvalidInput("a photo is listed twice", errors={spec.name: ["Each photo once."]})
        found = session.scalars(select(Upload).where(Upload.id.in_(ids))).all()
        bad = sorted(set(ids) - {u.id for u in found if u.uploader_id == actor.id
                                 and u.claim_id in (None, claim.id)})
        if bad:
            raise InvalidInput("unknown photos", errors={spec.name: [f"Unknown upload id(s): {bad}."]})


def _step(session, compiled, trigger: TriggerSpec, claim, task, actor, data, *, now, request_id,
          chain_head: str | None = None, chain_head_known: bool = False):
    """Move one locked claim by one trigger, with its effects and audit event.
    `chain_head` is the hash of the claim's last event, when the caller read it with the lock."""
    ctx = TransitionContext(session=session, definition=compiled.definition, trigger=trigger, claim=claim,
                            task=task, actor=actor, now=now, data=data, settings=policy.current.settings,
                            request_id=request_id)
    from_state = claim.state
    if from_state not in trigger.sources:
        raise TransitionNotAllowed(
            f"cannot {trigger.name} a claim that is {from_state}",
            state=from_state, allowed_triggers=allowed_triggers(session, actor, claim, task, now=now),
        )
    # A claim's events are numbered by its version: event n is the one that made it version n.
    head = (claim.version, chain_head) if chain_head_known else None
    # Bumped before the machine runs, so the state, version and time reach the row in one
    # UPDATE; a refusal below rolls the whole transaction back anyway.
    claim.version += 1
    claim.updated_at = now
    if not compiled.fire(claim, ctx):
        name, message = ctx.refusal
        raise TransitionNotAllowed(
            message, state=from_state, reason=name,
            allowed_triggers=allowed_triggers(session, actor, claim, task, now=now),
        )
    if claim.id is None:  # a new claim whose effects did not flush it: its id names the chain
        session.flush()
    audit.append(
        session, subject_type="claim", subject_id=claim.id, trigger=trigger.name, from_state=from_state,
        to_state=claim.state, actor=actor, payload={**data, **ctx.recorded}, request_id=request_id,
        definition=compiled.definition.label, now=now, head=head,
    )
    return claim


def start_claim(task_id: int, actor, *, request_id: str | None = None, now=None, idempotency=None) -> Claim:
    """A member claims a task: a new claim under the active definition, in state `claimed`.
    `idempotency` (services.idempotency.IdempotentRequest) is recorded in the same transaction."""
    now = now or utcnow()
    if actor.role != "member":
        raise Forbidden("only members claim tasks")
    compiled = registry().get(policy.current.definition_name, policy.current.definition_version)
    trigger = compiled.definition.trigger("claim")
    with write_transaction() as session:
        # The task, locked, only if the member may see it (FOR UPDATE re-checks the filter on
        # the row as it is once the lock is held).
        # With its community and the member's unit, which the answer shows (Unit.id == None
        # matches nothing, for a member without a unit).
        row = session.execute(
            select(Task, Community, Unit).join(Community, Community.id == Task.community_id)
            .outerjoin(Unit, Unit.id == actor.unit_id).where(Task.id == task_id, scope.task_filter(actor))
            .with_for_update(of=Task).execution_options(populate_existing=True)
        ).first()
        if row is None:
            raise NotFound(f"task {task_id} not found")
        task, community, unit = row
        set_committed_value(task, "community", community)
        data = _validate(compiled, trigger, task, {})
        # Added in the initial state but not flushed: the guards run first, then the row is
        # inserted once, already in its new state (a refusal rolls back and leaves nothing).
        claim = Claim(task=task, member_id=actor.id, unit_id=actor.unit_id, state=compiled.definition.initial,
                      version=0, definition_name=compiled.definition.name,
                      definition_version=compiled.definition.version, created_at=now, updated_at=now)
        # The member as this session has it (the API's actor is: no query), for the answer.
        set_committed_value(claim, "member", session.get(User, actor.id))
        set_committed_value(claim, "unit", unit)
        session.add(claim)
        _step(session, compiled, trigger, claim, task, actor, data, now=now, request_id=request_id,
              chain_head=None, chain_head_known=True)  # a new claim: its chain starts here
        record_idempotency(idempotency, session, claim)
    return claim


def fire(claim_id: int, trigger_name: str, actor, data: dict | None = None, *, expected_version: int | None = None,
         request_id: str | None = None, now=None, idempotency=None) -> Claim:
    """Fire `trigger_name` on a claim on behalf of `actor` (a User, or SYSTEM)."""
    now = now or utcnow()
    with write_transaction() as session:
        claim, task, head_hash = _lock_claim(session, actor, claim_id, registry().writes_task(trigger_name))
        compiled = registry().get(claim.definition_name, claim.definition_version)
        trigger = compiled.definition.trigger(trigger_name)
        if trigger is None:
            raise NotFound(f"this claim's process ({compiled.definition.label}) has no trigger '{trigger_name}'")
        if expected_version is not None and expected_version != claim.version:
            raise StaleVersion(f"claim {claim_id} is at version {claim.version}, not {expected_version}",
                               current_version=claim.version)
        if not _may_fire(trigger, actor_relations(actor, claim, task)):
            raise Forbidden(f"your role may not {trigger_name} this claim")
        data = _validate(compiled, trigger, task, data)
        _check_photos(session, trigger, actor, claim, data)
        _step(session, compiled, trigger, claim, task, actor, data, now=now, request_id=request_id,
              chain_head=head_hash, chain_head_known=True)
        record_idempotency(idempotency, session, claim)
    return claim


def _lock_claim(session, actor, claim_id: int, lock_task: bool):
    """The claim (locked), its task, and its chain head (the hash of event number `version`),
    or NotFound when the actor may not see the claim.

    A trigger that changes the task locks the task first, then the claim (the lock order);
    any other locks only the claim, and reads the task with it in one query. (A task cancel,
    which changes claims, takes each claim's lock after the task's, so it still waits.)"""
    chain_head = select(AuditEvent.hash).where(
        AuditEvent.subject_type == "claim", AuditEvent.subject_id == Claim.id, AuditEvent.seq == Claim.version
    ).scalar_subquery()
    if not lock_task:
        # With the claim's community, member and unit, which every answer about a claim shows.
        row = session.execute(
            select(Claim, Task, chain_head, Community, User, Unit).join(Task, Task.id == Claim.task_id)
            .join(Community, Community.id == Task.community_id).join(User, User.id == Claim.member_id)
            .outerjoin(Unit, Unit.id == Claim.unit_id)
            .where(Claim.id == claim_id, scope.claim_filter(actor)).with_for_update(of=Claim)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            raise NotFound(f"claim {claim_id} not found")
        claim, task, head_hash, community, member, unit = row
        set_committed_value(task, "community", community)
        set_committed_value(claim, "member", member)
        set_committed_value(claim, "unit", unit)
    else:
        # Scope first, before any lock: what decides it (member, task) never changes on a claim.
        task_id = session.scalar(select(Claim.task_id).where(Claim.id == claim_id, scope.claim_filter(actor)))
        if task_id is None:
            raise NotFound(f"claim {claim_id} not found")
        task = lock_one(session, Task, task_id)
        claim, head_hash = session.execute(
            select(Claim, chain_head).where(Claim.id == claim_id).with_for_update(of=Claim)
            .execution_options(populate_existing=True)
        ).one()
    # Objects loaded with populate_existing re-load their relations by SELECT; hand the
    # claim its task so readers of claim.task need no query.
    set_committed_value(claim, "task", task)
    return claim, task, head_hash


def fire_internal(session, claim, task, trigger_name: str, actor, data: dict, *, now, request_id=None) -> Claim:
    """Fire a trigger from inside another service's transaction (expiry, task cancel).
    The caller holds the task's and claim's locks and has checked the actor."""
    compiled = registry().get(claim.definition_name, claim.definition_version)
    trigger = compiled.definition.trigger(trigger_name)
    data = _validate(compiled, trigger, task, data)
    return _step(session, compiled, trigger, claim, task, actor, data, now=now, request_id=request_id)


def get_claim(session, actor, claim_id: int) -> Claim:
    return scope.visible_claim(session, actor, claim_id)


def claim_refusal(session, actor, task, *, now=None) -> tuple[str, str] | None:
    """Why `actor` could not claim `task` now, as (guard name, message); None when a claim
    would be accepted. Runs the active definition's claim guards on an unsaved claim, so
    pages can disable the claim button with the reason (start_claim still decides)."""
    if actor.role != "member":
        return ("role", "only members claim tasks")
    compiled = registry().get(policy.current.definition_name, policy.current.definition_version)
    trigger = compiled.definition.trigger("claim")
    probe = Claim(task_id=task.id, member_id=actor.id, state=compiled.definition.initial)
    ctx = TransitionContext(session=session, definition=compiled.definition, trigger=trigger, claim=probe,
                            task=task, actor=actor, now=now or utcnow(), settings=policy.current.settings)
    with session.no_autoflush:
        return run_guards(trigger, ctx)
