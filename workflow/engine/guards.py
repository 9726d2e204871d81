"""The guards a definition may name: conditions that must hold for a trigger to fire.

Each guard takes the TransitionContext (and the parameters the definition gives) and
returns None when it holds, or a short message saying why not (pages translate it by the
guard's name). Guards only read: the engine also runs them to tell a caller which
triggers are open to them. `ctx.task` and `ctx.claim` are the rows of those kinds, the
subject itself or one related to it (a claim's task).
Only names registered here can appear in a definition (the loader refuses others), so a
definition file can never make the engine import or call anything else.
"""
from collections.abc import Callable

from sqlalchemy import select

GUARDS: dict[str, Callable] = {}


def guard(fn: Callable) -> Callable:
    GUARDS[fn.__name__] = fn
    return fn


@guard
def task_open(ctx) -> str | None:
    if ctx.task.status not in ("open", "full"):
        return f"task is {ctx.task.status}, not open"
    return None


@guard
def free_slot(ctx) -> str | None:
    if ctx.task.slots_taken >= ctx.task.capacity or ctx.task.status == "full":
        return "no free slot: the task is full"
    return None


@guard
def before_deadline(ctx) -> str | None:
    if ctx.now >= ctx.task.deadline:
        return "the task's deadline has passed"
    return None


@guard
def past_deadline(ctx) -> str | None:
    if ctx.now < ctx.task.deadline:
        return "the task's deadline has not passed"
    return None


# The memo's key for the member's other live claims. A claim's start on PostgreSQL reads them with
# its task's lock and hands them over (services/claims.py); otherwise the first guard reads them.
MEMBER_LIVE_CLAIMS = "member_live_claims"


def _members_other_live_claims(ctx) -> list[tuple[int, int]]:
    """(claim id, task id) of the member's other live claims: read once per transition and
    shared by the guards below (a member holds a handful at most: the open-claim limit)."""
    if MEMBER_LIVE_CLAIMS not in ctx.memo:
        from ..models import Claim

        query = select(Claim.id, Claim.task_id).where(
            Claim.member_id == ctx.claim.member_id, Claim.state.in_(ctx.live_states("claim")))
        if ctx.claim.id is not None:
            query = query.where(Claim.id != ctx.claim.id)
        ctx.memo[MEMBER_LIVE_CLAIMS] = [tuple(row) for row in ctx.session.execute(query)]
    return ctx.memo[MEMBER_LIVE_CLAIMS]


@guard
def one_live_claim_per_task(ctx) -> str | None:
    other = next((cid for cid, task_id in _members_other_live_claims(ctx) if task_id == ctx.task.id), None)
    if other is not None:
        return f"you already have a live claim on this task (claim {other})"
    return None


@guard
def open_claim_limit(ctx, limit: int | None = None) -> str | None:
    limit = limit if limit is not None else ctx.settings.open_claim_limit
    live = len(_members_other_live_claims(ctx))
    if live >= limit:
        return f"you already have {live} open claims (the limit is {limit})"
    return None


@guard
def not_claimant(ctx) -> str | None:
    if ctx.actor.id is not None and ctx.actor.id == ctx.claim.member_id:
        return "nobody may verify their own claim"
    return None


@guard
def min_visits(ctx, count: int = 1) -> str | None:
    visits = ctx.claim.visit_count or 0
    if visits < count:
        return f"a report needs at least {count} visit(s); {visits} recorded"
    return None


@guard
def task_cancelled(ctx) -> str | None:
    if ctx.task.status != "cancelled":
        return "claims are cancelled only with their task"
    return None


@guard
def capacity_taken(ctx) -> str | None:
    """For a task's `fill`: every place is taken."""
    if ctx.task.slots_taken < ctx.task.capacity:
        return "the task still has a free place"
    return None


@guard
def capacity_free(ctx) -> str | None:
    """For a task's `reopen`: a place is free again."""
    if ctx.task.slots_taken >= ctx.task.capacity:
        return "no free place: the task is full"
    return None
