"""Claims: a member starts one on a task; every other step is a trigger on the engine.

Starting a claim is the claim process's creating trigger (`claim`, from `new`): the
member's row is locked first (so one member's claims are counted one at a time, and the
open-claim limit holds under concurrency), then the task (its slot count changes), then
the new claim is inserted once, already in its new state. Every later step goes through
`services.transitions.fire`, as every subject's triggers do.
"""
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm.attributes import set_committed_value

from .. import runtime
from ..clock import utcnow
from ..engine import TransitionContext, run_guards
from ..engine.guards import MEMBER_LIVE_CLAIMS
from ..errors import Forbidden, NotFound
from ..models import Claim, Community, Task, Unit, User
from . import scope, transitions
from .idempotency import record as record_idempotency
from .tx import write_transaction


# Built once (their compiled forms are cached): the member's row, locked first.
_LOCK_MEMBER = (select(User).where(User.id == bindparam("member_id")).with_for_update(key_share=True)
                .execution_options(populate_existing=True))


def _lock_task_to_claim(shape, live_claims: bool = False):
    """Lock a task (:task_id) an actor of this shape may see, with its community and the actor's
    unit (Unit.id IS NULL matches nothing, for a member without a unit) — and, with `live_claims`
    (PostgreSQL), the member's (:live_member_id) live claims (:live_states) as an array of
    [claim id, task id] for the guards, which would otherwise read them by a query of their own."""
    columns = [Task, Community, Unit]
    if live_claims:
        columns.append(select(func.array_agg(array([Claim.id, Claim.task_id]), type_=ARRAY(Integer, dimensions=2)))
                       .where(Claim.member_id == bindparam("live_member_id"),
                              Claim.state.in_(bindparam("live_states", expanding=True))).scalar_subquery())
    return (select(*columns).join(Community, Community.id == Task.community_id)
            .outerjoin(Unit, Unit.id == shape.unit_id).where(Task.id == bindparam("task_id"), scope.task_filter(shape))
            .with_for_update(of=Task).execution_options(populate_existing=True))


def _lock_task_with_live_claims(shape):
    return _lock_task_to_claim(shape, live_claims=True)


def start_claim(task_id: int, actor, *, request_id: str | None = None, now=None,
                idempotency=None) -> transitions.TransitionResult:
    """A member claims a task: a new claim under the active claim process, in state `claimed`.
    `idempotency` (services.idempotency.IdempotentRequest) is recorded in the same transaction."""
    now = now or utcnow()
    if actor.role != "member":
        raise Forbidden("only members claim tasks")
    compiled = runtime.current().active("claim")
    trigger = compiled.definition.creating_triggers[0]
    with write_transaction() as session:
        # The member first: two claims of one member at once queue here, so each counts the
        # other's (the open-claim limit). FOR NO KEY UPDATE: rows that merely reference the
        # member (a points entry) are not held up by it.
        member = session.scalar(_LOCK_MEMBER, {"member_id": actor.id})
        # The task, locked, only if the member may see it (FOR UPDATE re-checks the filter on
        # the row as it is once the lock is held), with its community and the member's unit,
        # which the answer shows. (Built once per kind of actor: scope.statement_for.)
        # On PostgreSQL with the member's live claims too, which the guards count: this statement
        # starts once the member's lock is held, so it sees every claim the member made before (a
        # member's claims are only made under that lock); one that stops being live meanwhile (a
        # withdraw while this waits for the task) still counts, as it would in a query of its own
        # had the withdraw committed a moment later.
        postgres = session.get_bind().dialect.name == "postgresql"
        params = {"task_id": task_id, **scope.shape_params(actor)}
        if postgres:
            statement = scope.statement_for("lock_task_to_claim+live_claims", actor, _lock_task_with_live_claims)
            params.update(live_member_id=actor.id, live_states=list(runtime.current().registry.live_states("claim")))
        else:
            statement = scope.statement_for("lock_task_to_claim", actor, _lock_task_to_claim)
        row = session.execute(statement, params).first()
        if row is None:
            raise NotFound(f"task {task_id} not found")
        task, community, unit, *live = row
        memo = {MEMBER_LIVE_CLAIMS: [(claim_id, of_task) for claim_id, of_task in live[0] or ()]} if postgres else {}
        set_committed_value(task, "community", community)
        data = transitions.validate(compiled, trigger, {}, category=task.category, now=now)
        # Added in the initial state but not flushed: the guards run first, then the row is
        # inserted once, already in its new state (a refusal rolls back and leaves nothing).
        # Every column given (and the relations as loaded), so that the row can be written by one Core
        # INSERT when the slot recount needs it (tx.insert_new), with nothing left to load afterwards.
        claim = Claim(task_id=task.id, member_id=actor.id, unit_id=actor.unit_id, state=compiled.definition.initial,
                      version=0, definition_name=compiled.definition.name,
                      definition_version=compiled.definition.version, last_reason=None, visit_count=0,
                      erased_at=None, created_at=now, updated_at=now)
        set_committed_value(claim, "task", task)
        set_committed_value(claim, "member", member)
        set_committed_value(claim, "unit", unit)
        session.add(claim)
        related = {"task": task}
        transitions.step(session, "claim", compiled, trigger, claim, related, actor, data, now=now,
                         request_id=request_id, head=(0, None), memo=memo)  # a new claim: its chain starts here
        answer = transitions.result(session, "claim", claim, related, actor, now=now, created=True)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def fire(claim_id: int, trigger_name: str, actor, data: dict | None = None, **kw) -> transitions.TransitionResult:
    """Fire `trigger_name` on a claim on behalf of `actor` (see transitions.fire for the keywords)."""
    return transitions.fire("claim", claim_id, trigger_name, actor, data, **kw)


def allowed_triggers(session, actor, claim, task=None, *, now=None) -> list[str]:
    return transitions.allowed_triggers(session, actor, "claim", claim, {"task": task or claim.task}, now=now)


def get_claim(session, actor, claim_id: int) -> Claim:
    return scope.visible_claim(session, actor, claim_id)


def claim_refusal(session, actor, task, *, now=None) -> tuple[str, str] | None:
    """Why `actor` could not claim `task` now, as (guard name, message); None when a claim
    would be accepted. Runs the active definition's claim guards on an unsaved claim, so
    pages can disable the claim button with the reason (start_claim still decides)."""
    if actor.role != "member":
        return ("role", "only members claim tasks")
    rt = runtime.current()
    compiled = rt.active("claim")
    trigger = compiled.definition.creating_triggers[0]
    probe = Claim(task_id=task.id, member_id=actor.id, state=compiled.definition.initial)
    ctx = TransitionContext(session=session, definition=compiled.definition, trigger=trigger, subject=probe,
                            related={"task": task}, actor=actor, now=now or utcnow(),
                            settings=rt.policy.settings, live_states=rt.registry.live_states)
    with session.no_autoflush:
        return run_guards(trigger, ctx)
