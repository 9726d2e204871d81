"""Firing a trigger on any subject (a claim, a task, …): the one path every process takes.

`fire()` runs one transition in one write transaction: find and lock the subject within
the caller's scope (the subject kind's rule; outside it, NotFound), check the version the
caller saw, the caller's role towards the subject, and the input (the trigger's schema,
then what only the subject can tell); let the pinned definition's shared machine move
the state (guards, then effects); bump the version; append the audit event; compute what
the answer needs (the subject's view with the triggers the caller may fire next); record
the idempotency key when one was sent; commit. Any exception rolls all of it back.

Effects that move another row (a claim's slot recount fills its task; a task's cancel
cancels its claims) do it through `cascade`, which fires that row's internal trigger in
the same transaction, with its own audit event. A trigger's `notify:` is written by `step`
in the same transaction too (services/notifications.py): rolled back with it, never lost.
"""
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError

from .. import audit, runtime
from ..clock import utcnow
from ..engine import TransitionContext, run_guards
from ..engine.definition import TriggerSpec
from ..errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from . import notifications
from .idempotency import record as record_idempotency
from .subjects import Locked, kind as subject_kind
from .tx import lock_one, row_update, write_transaction

# How far ahead of the server's clock a phone's clock may run: a time "now" on a phone is
# accepted a few minutes into the future, no further.
CLOCK_SKEW = timedelta(minutes=5)
# How far ahead a time a definition asks about the future (`when: future`) may be.
FUTURE_LIMIT = timedelta(days=2 * 366)


@dataclass
class TransitionResult:
    """What a fired trigger leaves: the subject row (as committed), its related rows, whether
    it was created, the triggers the caller may fire next, and the answer's view of it —
    all computed inside the transaction. Attribute reads fall through to the subject row
    (`result.id`, `result.state`), for callers that only need the row."""

    kind: str
    subject: Any
    related: dict
    allowed_triggers: list[str]
    view: dict
    created: bool = False

    def __getattr__(self, name):
        # Only reached for names the dataclass does not have.
        return getattr(self.__dict__["subject"], name)


def _context(session, rt, compiled, trigger, row, related, actor, *, now, data=None, request_id=None, drawn=None,
             memo=None):
    return TransitionContext(
        session=session, definition=compiled.definition, trigger=trigger, subject=row, related=related,
        actor=actor, now=now, data=data or {}, settings=rt.policy.settings, request_id=request_id,
        live_states=rt.registry.live_states, drawn=drawn or {}, memo=memo or {},
        cascade=cascader(session, {compiled.definition.subject: row, **related}, now=now, request_id=request_id),
    )


def cascader(session, holding: dict, *, now, request_id=None):
    """The `cascade` callable effects use, bound to this transaction and the rows it holds."""
    def fire_on(kind_name, target, trigger_name, actor, data, recorded=None):
        return cascade(session, kind_name, target, trigger_name, actor, data, holding=holding, now=now,
                       request_id=request_id, recorded=recorded)
    return fire_on


def allowed_triggers(session, actor, kind_name: str, row, related: dict | None = None, *, now=None) -> list[str]:
    """The triggers this actor could fire on `row` now: right state, right role, guards holding.
    Internal triggers (expiry, slot counts, cascades) are never offered."""
    kind = subject_kind(kind_name)
    rt = runtime.current()
    related = kind.related(session, row) if related is None else related
    compiled = rt.registry.get(*kind.pinned(row))
    relations = kind.relations(actor, row, related)
    now = now or utcnow()
    names = []
    for trigger in compiled.definition.triggers_from(kind.state_of(row)):
        if trigger.internal or not relations.intersection(trigger.roles):
            continue
        ctx = _context(session, rt, compiled, trigger, row, related, actor, now=now)
        if run_guards(trigger, ctx) is None:
            names.append(trigger.name)
    return names


def validate(compiled, trigger: TriggerSpec, data, *, category=None, created_at=None, now) -> dict:
    """The trigger's schema, then what depends on the subject: fields required for its
    category, and how far from now a time may be."""
    try:
        loaded = compiled.schemas[trigger.name].load(data or {})
    except ValidationError as exc:
        raise InvalidInput(f"invalid input for {trigger.name}", errors=exc.normalized_messages()) from None
    errors = {
        spec.name: [f"Required for {category} tasks."]
        for spec in trigger.fields
        if category in spec.required_for_categories and not loaded.get(spec.name)
    }
    for spec in trigger.fields:
        value = loaded.get(spec.name)
        if spec.type != "datetime" or value is None:
            continue
        if spec.options.get("when") == "future":
            if not now <= value <= now + FUTURE_LIMIT:
                errors[spec.name] = ["Must be in the future, within two years."]
        elif value > now + CLOCK_SKEW or (created_at is not None and value < created_at - CLOCK_SKEW):
            errors[spec.name] = ["Must lie between the start of this record and now."]
    if errors:
        raise InvalidInput(f"invalid input for {trigger.name}", errors=errors)
    return loaded


def step(session, kind_name: str, compiled, trigger: TriggerSpec, row, related, actor, data, *, now,
         request_id=None, head: tuple[int, str | None] | None = None, recorded: dict | None = None,
         drawn: dict | None = None, memo: dict | None = None):
    """Move one locked row by one trigger, with its effects and audit event. `head` is the
    row's chain (seq, hash) when the caller read it with the lock (None: looked up); `drawn` the
    ids the lock drew for the effects' rows (Locked.drawn); `memo` what the guards would otherwise
    read themselves, read by the caller with its lock (engine/guards.py)."""
    rt = runtime.current()
    kind = subject_kind(kind_name)
    ctx = _context(session, rt, compiled, trigger, row, related, actor, now=now, data=data, request_id=request_id,
                   drawn=drawn, memo=memo)
    if recorded:
        ctx.recorded.update(recorded)
    from_state = kind.state_of(row)
    if from_state not in trigger.sources:
        raise TransitionNotAllowed(
            f"cannot {trigger.name} a {kind_name} that is {from_state}", state=from_state,
            allowed_triggers=allowed_triggers(session, actor, kind_name, row, related, now=now),
        )
    # Bumped before the machine runs, so the state, version and time reach the row in one
    # UPDATE; a refusal below rolls the whole transaction back anyway.
    row.version = (row.version or 0) + 1
    row.updated_at = now
    if not compiled.fire(row, ctx):
        name, message = ctx.refusal
        row.version -= 1  # a caller that goes on (an internal cascade) sees the row unchanged
        raise TransitionNotAllowed(
            message, state=from_state, reason=name,
            allowed_triggers=allowed_triggers(session, actor, kind_name, row, related, now=now),
        )
    if row.id is None:  # a new subject whose effects did not flush it: its id names the chain
        session.flush()
    # Its state, version, time and counters in one UPDATE, without the unit of work, sent with the
    # audit event and the rows the effects left to go with it (one round trip on PostgreSQL).
    update = row_update(session, row)
    audit.append(
        session, subject_type=kind_name, subject_id=row.id, trigger=trigger.name, from_state=from_state,
        to_state=kind.state_of(row), actor=actor, payload={**data, **ctx.recorded}, request_id=request_id,
        definition=compiled.definition.label, now=now, head=head, personal=trigger.personal_fields,
        also=([update] if update is not None else []) + ctx.with_event,
    )
    if trigger.notify:  # who the definition says is told, in this same transaction
        notifications.notify(session, trigger.notify, subject_type=kind_name, row=row, related=related, actor=actor,
                             now=now, data=data, trigger=trigger.name)
    return row


def result(session, kind_name: str, row, related, actor, *, now, created=False) -> TransitionResult:
    """The answer to a transition, computed inside its transaction."""
    kind = subject_kind(kind_name)
    compiled = runtime.current().registry.get(*kind.pinned(row))
    allowed = allowed_triggers(session, actor, kind_name, row, related, now=now)
    return TransitionResult(kind=kind_name, subject=row, related=related, allowed_triggers=allowed,
                            view=kind.view(session, row, related, compiled.definition, actor, allowed),
                            created=created)


def fire(kind_name: str, subject_id: int, trigger_name: str, actor, data: dict | None = None, *,
         expected_version: int | None = None, request_id: str | None = None, now=None,
         idempotency=None) -> TransitionResult:
    """Fire `trigger_name` on a subject on behalf of `actor` (a User, or SYSTEM for scheduled work)."""
    now = now or utcnow()
    kind = subject_kind(kind_name)
    rt = runtime.current()
    with write_transaction() as session:
        # On PostgreSQL the lock also draws the ids the effects' rows need (their rows then travel
        # with the audit event); SQLite writes them one by one and draws nothing.
        draws = rt.registry.draws(kind_name, trigger_name) if session.get_bind().dialect.name == "postgresql" else ()
        locked: Locked = kind.lock(session, actor, subject_id, rt.registry.writes(kind_name, trigger_name),
                                   draws=draws)
        row, related = locked.subject, locked.related
        compiled = rt.registry.get(*kind.pinned(row))
        trigger = compiled.definition.trigger(trigger_name)
        if trigger is None:  # (internal triggers have no route; their roles keep callers out here)
            raise NotFound(f"this {kind_name}'s process ({compiled.definition.label}) has no trigger '{trigger_name}'")
        if expected_version is not None and expected_version != row.version:
            raise StaleVersion(f"{kind_name} {subject_id} is at version {row.version}, not {expected_version}",
                               current_version=row.version)
        if not kind.relations(actor, row, related).intersection(trigger.roles):
            raise Forbidden(f"your role may not {trigger_name} this {kind_name}")
        data = validate(compiled, trigger, data, category=kind.category(row, related),
                        created_at=getattr(row, "created_at", None), now=now)
        kind.check_input(session, trigger, actor, row, related, data)
        step(session, kind_name, compiled, trigger, row, related, actor, data, now=now, request_id=request_id,
             head=(row.version, locked.head_hash), drawn=locked.drawn)
        answer = result(session, kind_name, row, related, actor, now=now)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def cascade(session, kind_name: str, target, trigger_name: str, actor, data: dict, *, holding: dict, now,
            request_id=None, recorded: dict | None = None):
    """Fire a trigger on another row inside the running transaction. `target` is the row itself
    when the transaction holds its lock already (a claim's task), or its id (then it is locked
    here, after the rows already held: the lock order). `holding` is what the running
    transition holds, by kind: the target's related rows come from it (a cancelled task's
    claims have that task). The caller has checked the actor; the trigger's guards decide."""
    kind = subject_kind(kind_name)
    row = lock_one(session, kind.model, target) if isinstance(target, int) else target
    related = {k: v for k, v in holding.items() if k != kind_name}
    return fire_internal(session, kind_name, row, related, trigger_name, actor, data, now=now,
                         request_id=request_id, recorded=recorded)


def fire_internal(session, kind_name: str, row, related: dict, trigger_name: str, actor, data: dict, *, now,
                  request_id=None, recorded: dict | None = None):
    """Fire a trigger from inside another service's transaction (expiry, a cascade). The caller
    holds the locks and has checked the actor. None when the row's process has no such trigger."""
    kind = subject_kind(kind_name)
    compiled = runtime.current().registry.get(*kind.pinned(row))
    trigger = compiled.definition.trigger(trigger_name)
    if trigger is None:
        return None
    data = validate(compiled, trigger, data, category=kind.category(row, related), now=now)
    return step(session, kind_name, compiled, trigger, row, related, actor, data, now=now, request_id=request_id,
                recorded=recorded)
