"""The expiry run, now the timers run under its old name (`expire-claims`).

A claim's expiry is the `expire` timer of its definition (dual_reporting v1 and v2: due at
the task's deadline, firing the internal `expire` trigger), closing a task past its deadline
is the task definition's `close_at_deadline` timer, and a registration or a pairing whose term
ended without renewal lapses by its definition's `lapse` timer (registration v1, pairing v1:
due at the end of the term). All are done — exactly once, safe on every node at once — by
services/timers.py; this module keeps the old entry point and its counts for deployments and
scripts that call `expire-claims`.
"""
from dataclasses import dataclass

from . import timers

# Kept for callers that name it: the timers run takes the same advisory lock.
EXPIRY_LOCK_KEY = timers.TIMERS_LOCK_KEY


@dataclass
class ExpiryResult:
    expired: int = 0
    tasks_closed: int = 0
    registrations_lapsed: int = 0
    pairings_lapsed: int = 0
    skipped_locked: bool = False
    run: timers.TimersResult | None = None  # everything the timers run did


def expire_claims(*, now=None, request_id: str | None = None, progress=None) -> ExpiryResult:
    """Run every due timer: claims expire, tasks close, registrations and pairings lapse,
    reminders and escalations go out."""
    result = timers.run(now=now, request_id=request_id, progress=progress)
    fired = result.fired
    return ExpiryResult(expired=fired[("claim", "expire")], tasks_closed=fired[("task", "close")],
                        registrations_lapsed=fired[("registration", "lapse")],
                        pairings_lapsed=fired[("pairing", "lapse")], skipped_locked=result.skipped_locked, run=result)
