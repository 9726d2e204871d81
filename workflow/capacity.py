"""Keeping a task's slot count and open/full status in step with its live claims.

The count is recomputed from the claims table under the task's row lock (never
incremented blindly: counters kept by read-modify-write drift). When the count moves the
task between open and full, the task definition's internal `fill` or `reopen` trigger
fires (its own audit event on the task's chain), through the `cascade` the running
transition supplies. A transition's effect hands its own way of sending the count's UPDATE
(`send`): on PostgreSQL it then travels with the transition's audit event (engine/effects.py).
"""
from sqlalchemy import func, select

from .models import Claim
from .services.tx import insert_new, row_update


def recount(session, task, live_states, *, cascade, actor, send=None) -> None:
    insert_new(session)  # the claim's new state (or the new claim) must be visible to the count
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
