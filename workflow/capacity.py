"""Keeping a task's slot count and open/full status in step with its live claims.

The count is recomputed from the claims table under the task's row lock (never
incremented blindly: counters kept by read-modify-write drift). A status change is
itself an audit event on the task's chain.
"""
from sqlalchemy import func, select

from . import audit
from .models import Claim


def recount(session, task, live_states, *, actor, now, request_id=None) -> None:
    session.flush()  # the claim's new state must be visible to the count
    taken = session.scalar(
        select(func.count(Claim.id)).where(Claim.task_id == task.id, Claim.state.in_(live_states))
    )
    task.slots_taken = taken
    if task.status not in ("open", "full"):
        return
    status = "full" if taken >= task.capacity else "open"
    if status != task.status:
        audit.append(
            session, subject_type="task", subject_id=task.id, trigger="fill" if status == "full" else "reopen",
            from_state=task.status, to_state=status, actor=actor,
            payload={"slots_taken": taken, "capacity": task.capacity}, request_id=request_id, now=now,
        )
        task.status = status
        task.version += 1
        task.updated_at = now
