"""The scheduled expiry run: expire live claims past their task's deadline, exactly once.

Safe to run on every node at the same moment and to re-run:
- on PostgreSQL a session-level advisory lock lets one run work while the others skip;
- each task is handled in its own transaction with the task and its claims locked, and a
  claim is expired only if it is still live and its task's deadline has passed (the
  definition's `past_deadline` guard), so even two runs that both proceed cannot expire
  a claim twice. On SQLite the immediate transaction serialises the runs.
Tasks still open or full after their deadline are closed by the same run, and registrations
whose yearly term ended without renewal lapse (`registrations.lapse_due`, the registration
process's internal `lapse`; the same once-only rules, under the same advisory lock).
"""
from dataclasses import dataclass

from sqlalchemy import func, select, text

from .. import runtime
from ..clock import utcnow
from ..extensions import db
from ..models import SYSTEM, Claim, Task
from . import registrations
from .transitions import fire_internal
from .tx import lock_one, write_transaction

# An arbitrary constant naming this job's advisory lock on PostgreSQL.
EXPIRY_LOCK_KEY = 0x6261_6F64  # "baod"


@dataclass
class ExpiryResult:
    expired: int = 0
    tasks_closed: int = 0
    registrations_lapsed: int = 0
    skipped_locked: bool = False


def _expirable_states() -> tuple[str, ...]:
    states: set[str] = set()
    for compiled in runtime.registry().all("claim"):
        expire = compiled.definition.trigger("expire")
        states.update(expire.sources if expire else ())
    return tuple(sorted(states))


def _due_task_ids(session, now) -> list[int]:
    with_live_claims = select(Claim.task_id).join(Task, Task.id == Claim.task_id).where(
        Claim.state.in_(_expirable_states()), Task.deadline <= now
    )
    still_open = select(Task.id).where(Task.status.in_(("open", "full")), Task.deadline <= now)
    return sorted(set(session.scalars(with_live_claims.distinct())) | set(session.scalars(still_open)))


def _expire_task(task_id, now, request_id) -> tuple[int, int]:
    expired = closed = 0
    with write_transaction() as session:
        task = lock_one(session, Task, task_id)
        if task is None or task.deadline > now:
            return 0, 0
        ids = session.scalars(
            select(Claim.id).where(Claim.task_id == task_id, Claim.state.in_(_expirable_states()))
            .order_by(Claim.id)
        ).all()
        registry = runtime.registry()
        for claim_id in ids:
            claim = lock_one(session, Claim, claim_id)
            expire = registry.get(claim.definition_name, claim.definition_version).definition.trigger("expire")
            if expire is not None and claim.state in expire.sources:
                fire_internal(session, "claim", claim, {"task": task}, "expire", SYSTEM, {}, now=now,
                              request_id=request_id)
                expired += 1
        close = registry.get(task.definition_name, task.definition_version).definition.trigger("close")
        if close is not None and task.status in close.sources:
            fire_internal(session, "task", task, {}, "close", SYSTEM, {}, now=now, request_id=request_id,
                          recorded={"why": "deadline passed"})
            closed = 1
    return expired, closed


def expire_claims(*, now=None, request_id: str | None = None, progress=None) -> ExpiryResult:
    now = now or utcnow()
    result = ExpiryResult()
    lock_conn = None
    if db.engine.dialect.name == "postgresql":
        lock_conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not lock_conn.scalar(select(func.pg_try_advisory_lock(EXPIRY_LOCK_KEY))):
            lock_conn.close()
            result.skipped_locked = True
            return result
    try:
        task_ids = _due_task_ids(db.session, now)
        db.session.rollback()
        for task_id in task_ids:
            expired, closed = _expire_task(task_id, now, request_id)
            result.expired += expired
            result.tasks_closed += closed
            if progress is not None:
                progress(1)
        # The end of a registration's term: until the definitions' timers run it, this run lapses them.
        result.registrations_lapsed = registrations.lapse_due(now=now, request_id=request_id)
    finally:
        if lock_conn is not None:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": EXPIRY_LOCK_KEY})
            lock_conn.close()
    return result
