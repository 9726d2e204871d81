"""Keeping a task's slot count and open/full status in step with its live claims.

The count is recomputed from the claims table under the task's row lock (never
incremented blindly: counters kept by read-modify-write drift). When the count moves the
task between open and full, the task definition's internal `fill` or `reopen` trigger
fires (its own audit event on the task's chain), through the `cascade` the running
transition supplies. A transition's effect hands its own way of sending the count's UPDATE
(`send`): on PostgreSQL it then travels with the transition's audit event (engine/effects.py).
"""
from sqlalchemy import bindparam, func, select

from .models import Claim
from .services.tx import insert_new, row_update


# The live claims of a task (:rc_task_id, :rc_live_states), counted in the RETURNING of a new claim's
# INSERT on PostgreSQL (built once).
_LIVE_COUNT = select(func.count(Claim.id)).where(
    Claim.task_id == bindparam("rc_task_id"), Claim.state.in_(bindparam("rc_live_states", expanding=True))
).scalar_subquery()


def recount(session, task, live_states, *, cascade, actor, send=None) -> None:
    # The claim's new state (or the new claim) must be counted. On PostgreSQL a new claim (a claim's
    # start), when nothing else is pending, is inserted by the statement that counts the task's live
    # claims (RETURNING (SELECT count …)): that sub-select sees the claims as they were before the
    # INSERT, so the new claim is added when it is the task's and live. (Claims join or leave a task's
    # live states under the task's lock, which is held — but for an approve, which does not recount:
    # one committed a moment earlier or later is counted here or at the next recount, as before.)
    # Otherwise the count is a query of its own.
    taken = None
    if session.get_bind().dialect.name == "postgresql" and not session.dirty and not session.deleted:
        counted = insert_new(session, _LIVE_COUNT, {"rc_task_id": task.id, "rc_live_states": list(live_states)})
        if len(counted) == 1:
            ((new, others),) = counted.items()
            if isinstance(new, Claim):
                taken = others + (1 if new.task_id == task.id and new.state in live_states else 0)
    else:
        insert_new(session)
    if taken is None:
        taken = session.scalar(
            select(func.count(Claim.id)).where(Claim.task_id == task.id, Claim.state.in_(live_states))
        )
    if task.slots_taken != taken:  # written at once by one Core UPDATE (no unit of work at the commit)
        task.slots_taken = taken
        pending = row_update(session, task)
        if pending is not None:
            (send or session.connection().execute)(*pending)
    if task.status not in ("open", "full"):
        return
    status = "full" if taken >= task.capacity else "open"
    if status != task.status:
        cascade("task", task, "fill" if status == "full" else "reopen", actor, {},
                recorded={"slots_taken": taken, "capacity": task.capacity})
