"""The supervisor dashboard's rollup (stats_claims, stats_units, stats_refresh).

At district scale (a million claims, several million audit events) counting claims by state,
town, category and unit, the distinct members who took part and the mean verification time
means scanning every claim and every report/approve event — seconds per view. Those figures
are therefore computed here, in a few set-based SQL statements, into three small tables that
the dashboard sums for the caller's scope (district, town or unit) in milliseconds.

Freshness:
- `flask --app wsgi refresh-stats` rebuilds the rollup; deploy/ runs it every 5 minutes.
- A dashboard view calls `ensure_fresh`: when no audit event arrived since the last refresh
  the rollup is exact and used as is. Otherwise it is refreshed inline when that is cheap
  (the last refresh took at most BAODAO_STATS_INLINE_MS, default 250 ms — small districts,
  demos and tests always see live figures) or when it is older than BAODAO_STATS_MAX_AGE
  seconds (default 900: the timer has stopped). Else the view shows the rollup "as of" its time.
- On PostgreSQL a refresh holds a transaction-level advisory lock; a second refresh at the
  same moment (another node's timer, a view) skips instead of queueing behind it. Readers
  keep seeing the previous rollup until the refresh commits (MVCC). On SQLite the refresh's
  immediate transaction serialises writers.

The watermark is max(audit_events.id), read *before* the figures, so a refresh never claims
to include an event it did not see (at worst the next check refreshes once more).
"""
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, delete, func, insert, select, text

from .. import runtime
from ..clock import utcnow
from ..models import AuditEvent, Claim, Community, StatsClaims, StatsRefresh, StatsUnits, Task
from .tx import write_transaction

# An arbitrary constant naming the refresh's advisory lock on PostgreSQL ("baos").
STATS_LOCK_KEY = 0x6261_6F73


@dataclass
class RefreshResult:
    refreshed: bool
    skipped_locked: bool = False
    duration_ms: int = 0
    last_event_id: int = 0


def seconds_between(later, earlier, dialect: str):
    """SQL for the seconds from `earlier` to `later` (timestamps without time zone, UTC)."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def report_to_approval():
    """Per claim: the time of its last submit_report event and of its approve event, in one pass
    over those events (a second pass, or a probe per claim, costs seconds more at 1M claims)."""
    at = AuditEvent.created_at
    return (select(AuditEvent.subject_id.label("claim_id"),
                   func.max(case((AuditEvent.trigger == "submit_report", at))).label("reported"),
                   func.max(case((AuditEvent.trigger == "approve", at))).label("approved"))
            .where(AuditEvent.subject_type == "claim", AuditEvent.trigger.in_(("submit_report", "approve")))
            .group_by(AuditEvent.subject_id).subquery())


def _verify_times(dialect: str):
    """Per verified claim with a unit: its town, unit and seconds from the last report to the approval."""
    times = report_to_approval()
    return (select(Community.town_id.label("town_id"), Claim.unit_id.label("unit_id"),
                   seconds_between(times.c.approved, times.c.reported, dialect).label("seconds"))
            .select_from(Claim).join(times, times.c.claim_id == Claim.id)
            .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
            .where(Claim.state == "verified", Claim.unit_id.is_not(None),
                   times.c.reported.is_not(None), times.c.approved.is_not(None))).subquery()


def _claims_in_towns():
    return (select().select_from(Claim).join(Task, Task.id == Claim.task_id)
            .join(Community, Community.id == Task.community_id))


def _rebuild(session) -> int:
    dialect = session.get_bind().dialect.name
    watermark = session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    session.execute(delete(StatsClaims))
    session.execute(delete(StatsUnits))
    session.execute(insert(StatsClaims).from_select(
        ["town_id", "unit_id", "category", "state", "claims"],
        _claims_in_towns()
        .add_columns(Community.town_id, Claim.unit_id, Task.category, Claim.state, func.count())
        .group_by(Community.town_id, Claim.unit_id, Task.category, Claim.state)))

    # Distinct participants are not additive across towns: one row per (town, unit) and one per unit.
    per_town = {(t, u): [n, 0, 0.0] for t, u, n in session.execute(
        _claims_in_towns()
        .add_columns(Community.town_id, Claim.unit_id, func.count(func.distinct(Claim.member_id)))
        .where(Claim.unit_id.is_not(None)).group_by(Community.town_id, Claim.unit_id))}
    district = {u: [n, 0, 0.0] for u, n in session.execute(
        select(Claim.unit_id, func.count(func.distinct(Claim.member_id)))
        .where(Claim.unit_id.is_not(None)).group_by(Claim.unit_id))}
    times = _verify_times(dialect)
    for town_id, unit_id, n, seconds in session.execute(
            select(times.c.town_id, times.c.unit_id, func.count(), func.sum(times.c.seconds))
            .group_by(times.c.town_id, times.c.unit_id)):
        for row in (per_town.setdefault((town_id, unit_id), [0, 0, 0.0]),
                    district.setdefault(unit_id, [0, 0, 0.0])):
            row[1] += n
            row[2] += float(seconds or 0)
    rows = [{"town_id": t, "unit_id": u, "participants": p, "verified_timed": n, "verify_seconds": s}
            for (t, u), (p, n, s) in per_town.items()]
    rows += [{"town_id": None, "unit_id": u, "participants": p, "verified_timed": n, "verify_seconds": s}
             for u, (p, n, s) in district.items()]
    if rows:
        session.execute(insert(StatsUnits), rows)
    return watermark


def refresh() -> RefreshResult:
    """Rebuild the rollup in one transaction; skip (not wait) when another refresh holds the lock."""
    started = time.perf_counter()
    with write_transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            if not session.scalar(select(func.pg_try_advisory_xact_lock(STATS_LOCK_KEY))):
                return RefreshResult(refreshed=False, skipped_locked=True)
            # the per-claim report/approval times hash 700k groups at 1M claims: in memory, not on disk
            session.execute(text("SET LOCAL work_mem = '64MB'"))
        watermark = _rebuild(session)
        duration_ms = int((time.perf_counter() - started) * 1000)
        meta = session.get(StatsRefresh, 1)
        if meta is None:
            meta = StatsRefresh(id=1)
            session.add(meta)
        meta.refreshed_at, meta.last_event_id, meta.duration_ms = utcnow(), watermark, duration_ms
    return RefreshResult(refreshed=True, duration_ms=duration_ms, last_event_id=watermark)


def ensure_fresh(session, *, now=None) -> StatsRefresh | None:
    """The rollup's metadata after refreshing it if it is stale and a refresh is due (module doc)."""
    now = now or utcnow()
    meta = session.get(StatsRefresh, 1)
    if meta is not None:
        head = session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        if head <= meta.last_event_id:
            return meta
        cheap = meta.duration_ms <= runtime.current().policy.stats_inline_ms
        too_old = now - meta.refreshed_at > timedelta(seconds=runtime.current().policy.stats_max_age_s)
        if not (cheap or too_old):
            return meta
    refresh()
    session.expire_all()
    return session.get(StatsRefresh, 1) or meta

