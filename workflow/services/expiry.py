"""The expiry run, now the timers run under its old name (`expire-claims`).

A claim's expiry is the `expire` timer of its definition (dual_reporting v1 and v2: due at
the task's deadline, firing the internal `expire` trigger), and closing a task past its
deadline is the task definition's `close_at_deadline` timer. Both are done — exactly once,
safe on every node at once — by services/timers.py; this module keeps the old entry point
and its counts for deployments and scripts that call `expire-claims`.
Registrations whose yearly term ended without renewal lapse in the same run
(`registrations.lapse_due`, the registration process's internal `lapse`, once only).
"""
from dataclasses import dataclass

from . import registrations, timers

# Kept for callers that name it: the timers run takes the same advisory lock.
EXPIRY_LOCK_KEY = timers.TIMERS_LOCK_KEY


@dataclass
class ExpiryResult:
    expired: int = 0
    tasks_closed: int = 0
    registrations_lapsed: int = 0
    skipped_locked: bool = False
    run: timers.TimersResult | None = None  # everything the timers run did


def expire_claims(*, now=None, request_id: str | None = None, progress=None) -> ExpiryResult:
    """Run every due timer (claims expire, tasks close, reminders and escalations go out), and lapse
    the registrations whose term ended."""
    result = timers.run(now=now, request_id=request_id, progress=progress)
    lapsed = 0 if result.skipped_locked else registrations.lapse_due(now=now, request_id=request_id)
    return ExpiryResult(expired=result.fired[("claim", "expire")], tasks_closed=result.fired[("task", "close")],
                        registrations_lapsed=lapsed, skipped_locked=result.skipped_locked, run=result)
