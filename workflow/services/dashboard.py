"""The supervisor's dashboard: counts and rates for the caller's scope, never a ranking of people.

Every query is limited by `scope.claim_filter` / `scope.task_filter`, so a town supervisor's
dashboard counts only that town and a unit supervisor's only that unit's members.
Units and communities are compared by rates (participation, completion, verification time);
no list of individual members ordered by points or hours is produced here.

At district scale the counts (by state, town, category, per unit, participants, verification
time) come from the rollup in `stats` — the same figures, summed for the caller's scope, as of
its last refresh (`Dashboard.as_of`). The month's figures and the overdue claims stay live:
they touch only this month's feedback rows and the few live claims. `dashboard(..., live=True)`
computes everything from the claims and the audit log (the reference the tests compare with).
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select, true

from ..clock import utcnow
from .. import runtime
from ..models import Claim, Community, StatsClaims, StatsUnits, Task, Town, Unit, UnitFeedback, User
from . import scope, stats

FINAL_STATES = ("verified", "rejected", "withdrawn", "expired")


@dataclass
class UnitRate:
    unit_id: int
    name: str
    members: int
    participants: int
    claims: int
    verified: int
    finished: int
    avg_verify_hours: float | None

    @property
    def participation(self) -> float | None:
        return self.participants / self.members if self.members else None

    @property
    def completion(self) -> float | None:
        return self.verified / self.finished if self.finished else None


@dataclass
class Dashboard:
    month: str
    total_claims: int = 0
    by_state: list[tuple[str, int]] = field(default_factory=list)
    by_town: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    month_verified: int = 0
    month_hours: float = 0.0
    month_points: int = 0
    overdue: list = field(default_factory=list)  # [(Claim, Task)]
    overdue_count: int = 0
    # Reports waiting so long that the supervisors were told (an escalation timer fired for the
    # wait they are in now): [(Claim, Task, since)], oldest wait first.
    escalated: list = field(default_factory=list)
    escalated_count: int = 0
    units: list[UnitRate] = field(default_factory=list)
    as_of: datetime | None = None  # when the rollup behind the counts was built; None: computed live


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def visible_claims(actor):
    """A subquery of the claim ids the actor may see."""
    return select(Claim.id).where(scope.claim_filter(actor))


def overdue_claims(session, actor, *, now=None, limit: int = 50):
    """Live claims whose task's deadline has passed (the expiry run has not caught them yet).

    Starts from the few live claims (materialised, so PostgreSQL does not instead walk every
    past-deadline task through ix_tasks_deadline looking for them: 220 ms at 1M claims, now ~35 ms)
    and counts them in the same query with a window count."""
    now = now or utcnow()
    live = (select(Claim.id.label("id"), Claim.task_id.label("task_id"))
            .where(scope.claim_filter(actor), Claim.state.in_(runtime.registry().live_states("claim"))).cte("live_claims"))
    if session.get_bind().dialect.name == "postgresql":
        live = live.prefix_with("MATERIALIZED")
    found = session.execute(
        select(live.c.id, func.count().over()).join(Task, Task.id == live.c.task_id)
        .where(Task.deadline < now).order_by(Task.deadline, live.c.id).limit(limit)
    ).all()
    if not found:
        return 0, []
    rows = session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id).where(Claim.id.in_([i for i, _ in found]))
        .order_by(Task.deadline, Claim.id)
    ).all()
    return found[0][1], [tuple(r) for r in rows]


def escalated_claims(session, actor, *, limit: int = 50):
    """Claims in scope still waiting where an escalation timer (a timer whose notification kind
    is an escalation, e.g. dual_reporting's report_escalated) fired for their current wait: the
    firing's anchor is still the claim's (a new report is a new wait). (count, [(Claim, Task,
    waiting since)])."""
    from ..engine.notification_kinds import NOTIFICATION_KINDS
    from ..models import TimerFiring
    from .subjects import kind as subject_kind
    from .timers import timer_key

    claims = subject_kind("claim")
    branches = []
    for compiled in runtime.registry().all("claim"):
        definition = compiled.definition
        for timer in definition.timers:
            if not any(NOTIFICATION_KINDS[n.kind].escalation for n in timer.notify):
                continue
            anchor, joins = claims.anchor(timer.anchor)
            query = select(Claim.id.label("id"), anchor.label("since")).select_from(Claim)
            for target, on in joins:
                query = query.join(target, on)
            branches.append(query.join(TimerFiring, (TimerFiring.subject_type == "claim")
                                       & (TimerFiring.subject_id == Claim.id)
                                       & (TimerFiring.timer == timer_key(definition, timer))
                                       & (TimerFiring.anchor_at == anchor))
                            .where(Claim.definition_name == definition.name,
                                   Claim.definition_version == definition.version,
                                   Claim.state.in_(timer.states), scope.claim_filter(actor)))
    if not branches:
        return 0, []
    found = branches[0].union(*branches[1:]).subquery() if len(branches) > 1 else branches[0].subquery()
    ids = session.execute(select(found.c.id, found.c.since, func.count().over())
                          .order_by(found.c.since, found.c.id).limit(limit)).all()
    if not ids:
        return 0, []
    since = {i: s for i, s, _ in ids}
    rows = session.execute(select(Claim, Task).join(Task, Task.id == Claim.task_id)
                           .where(Claim.id.in_(list(since)))).all()
    ordered = sorted(((c, t, since[c.id]) for c, t in rows), key=lambda r: (r[2], r[0].id))
    return ids[0][2], ordered


def _stats_scope(actor):
    """(condition on StatsClaims, condition on StatsUnits) for the actor's scope, mirroring
    scope.claim_filter; None for roles the rollup does not serve (they get the live figures)."""
    if actor.role in ("admin", "system") or (actor.role == "supervisor" and not actor.scope_town_id
                                             and not actor.unit_id):
        return true(), StatsUnits.town_id.is_(None)
    if actor.role == "supervisor" and actor.scope_town_id:
        return StatsClaims.town_id == actor.scope_town_id, StatsUnits.town_id == actor.scope_town_id
    if actor.role == "supervisor" and actor.unit_id:
        return (StatsClaims.unit_id == actor.unit_id,
                and_(StatsUnits.town_id.is_(None), StatsUnits.unit_id == actor.unit_id))
    return None


def dashboard(session, actor, *, now=None, live=False) -> Dashboard:
    now = now or utcnow()
    month = month_of(now)
    result = Dashboard(month=month)
    visible = scope.claim_filter(actor)
    rollup = None if live else _stats_scope(actor)
    meta = stats.ensure_fresh(session, now=now) if rollup is not None else None
    if meta is None:  # live asked for, a role the rollup does not serve, or its first build runs elsewhere
        rollup = None

    if rollup is None:
        result.by_state = [(s, n) for s, n in session.execute(
            select(Claim.state, func.count(Claim.id)).where(visible).group_by(Claim.state).order_by(Claim.state))]
        result.by_town = [(name, n) for name, n in session.execute(
            select(Town.name, func.count(Claim.id))
            .select_from(Claim).join(Task, Task.id == Claim.task_id)
            .join(Community, Community.id == Task.community_id).join(Town, Town.id == Community.town_id)
            .where(visible).group_by(Town.name).order_by(func.count(Claim.id).desc(), Town.name))]
        result.by_category = [(c, n) for c, n in session.execute(
            select(Task.category, func.count(Claim.id)).select_from(Claim).join(Task, Task.id == Claim.task_id)
            .where(visible).group_by(Task.category).order_by(func.count(Claim.id).desc(), Task.category))]
        result.units = unit_rates(session, actor)
    else:
        result.as_of = meta.refreshed_at
        claims_in, units_in = rollup
        n = func.sum(StatsClaims.claims)
        result.by_state = [(s, int(c)) for s, c in session.execute(
            select(StatsClaims.state, n).where(claims_in)
            .group_by(StatsClaims.state).order_by(StatsClaims.state))]
        result.by_town = [(name, int(c)) for name, c in session.execute(
            select(Town.name, n).join(Town, Town.id == StatsClaims.town_id).where(claims_in)
            .group_by(Town.name).order_by(n.desc(), Town.name))]
        result.by_category = [(cat, int(c)) for cat, c in session.execute(
            select(StatsClaims.category, n).where(claims_in)
            .group_by(StatsClaims.category).order_by(n.desc(), StatsClaims.category))]
        result.units = _unit_rates_rollup(session, actor, claims_in, units_in)
    result.total_claims = sum(n for _, n in result.by_state)

    verified, hours, points = session.execute(
        select(func.count(UnitFeedback.id), func.sum(UnitFeedback.hours), func.sum(UnitFeedback.points))
        .where(UnitFeedback.month == month, UnitFeedback.claim_id.in_(visible_claims(actor)))
    ).one()
    result.month_verified, result.month_hours, result.month_points = verified or 0, float(hours or 0), int(points or 0)
    result.overdue_count, result.overdue = overdue_claims(session, actor, now=now, limit=20)
    result.escalated_count, result.escalated = escalated_claims(session, actor, limit=20)
    return result


def _verify_hours(session, actor) -> dict[int, float]:
    """Mean hours from the last report to the approval, per unit, for verified claims in scope (in SQL)."""
    times = stats.report_to_approval()
    seconds = stats.seconds_between(times.c.approved, times.c.reported, session.get_bind().dialect.name)
    rows = session.execute(
        select(Claim.unit_id, func.avg(seconds)).join(times, times.c.claim_id == Claim.id)
        .where(scope.claim_filter(actor), Claim.state == "verified", Claim.unit_id.is_not(None),
               times.c.reported.is_not(None), times.c.approved.is_not(None))
        .group_by(Claim.unit_id)
    ).all()
    return {u: float(avg) / 3600 for u, avg in rows if avg is not None}


def unit_rates(session, actor) -> list[UnitRate]:
    """Per unit: members, how many took part, claims, verified/finished, mean verification time.
    Ordered by unit name, never by a score. Computed live from the claims and the audit log."""
    claim_rows = session.execute(
        select(Claim.unit_id, func.count(Claim.id), func.count(func.distinct(Claim.member_id)),
               func.sum(case((Claim.state == "verified", 1), else_=0)),
               func.sum(case((Claim.state.in_(FINAL_STATES), 1), else_=0)))
        .where(scope.claim_filter(actor), Claim.unit_id.is_not(None)).group_by(Claim.unit_id)
    ).all()
    by_unit = {u: (claims, participants, verified, finished) for u, claims, participants, verified, finished
               in claim_rows}
    return _unit_rows(session, actor, by_unit, _verify_hours(session, actor))


def _unit_rates_rollup(session, actor, claims_in, units_in) -> list[UnitRate]:
    """The same figures as unit_rates, summed from the rollup for the actor's scope."""
    claim_rows = session.execute(
        select(StatsClaims.unit_id, func.sum(StatsClaims.claims),
               func.sum(case((StatsClaims.state == "verified", StatsClaims.claims), else_=0)),
               func.sum(case((StatsClaims.state.in_(FINAL_STATES), StatsClaims.claims), else_=0)))
        .where(claims_in, StatsClaims.unit_id.is_not(None)).group_by(StatsClaims.unit_id)
    ).all()
    people = {u: (p, n, secs) for u, p, n, secs in session.execute(
        select(StatsUnits.unit_id, StatsUnits.participants, StatsUnits.verified_timed,
               StatsUnits.verify_seconds)
        .where(units_in))}
    by_unit = {u: (int(claims), people.get(u, (0, 0, 0.0))[0], verified, finished)
               for u, claims, verified, finished in claim_rows}
    hours = {u: secs / n / 3600 for u, (_, n, secs) in people.items() if n}
    return _unit_rows(session, actor, by_unit, hours)


def _unit_rows(session, actor, by_unit, hours) -> list[UnitRate]:
    unit_query = select(Unit.id, Unit.name).order_by(Unit.name)
    if actor.role == "supervisor" and actor.unit_id:
        unit_query = unit_query.where(Unit.id == actor.unit_id)
    elif actor.role == "supervisor" and actor.scope_town_id:
        unit_query = unit_query.where(Unit.id.in_(list(by_unit) or [-1]))
    members = dict(session.execute(
        select(User.unit_id, func.count(User.id)).where(User.role == "member", User.active.is_(True))
        .group_by(User.unit_id)).all())
    out = []
    for unit_id, name in session.execute(unit_query):
        claims, participants, verified, finished = by_unit.get(unit_id, (0, 0, 0, 0))
        out.append(UnitRate(
            unit_id=unit_id, name=name, members=members.get(unit_id, 0), participants=participants,
            claims=claims, verified=int(verified or 0), finished=int(finished or 0),
            avg_verify_hours=hours.get(unit_id)))
    return out


def feedback_units(session, actor) -> list[Unit]:
    """The units whose monthly feedback report this actor may open (see points.visible_unit)."""
    if actor.role == "admin" or (actor.role == "supervisor" and not actor.scope_town_id and not actor.unit_id):
        return list(session.scalars(select(Unit).order_by(Unit.name)))
    if actor.role == "supervisor" and actor.unit_id and not actor.scope_town_id:
        return list(session.scalars(select(Unit).where(Unit.id == actor.unit_id)))
    return []


@dataclass
class ClaimRow:
    id: int
    state: str
    definition_name: str
    definition_version: int
    title: str
    category: str
    community: str
    town: str
    member: str
    updated_at: datetime


def claim_list(session, actor, *, state: str | None = None, town_id: int | None = None,
               category: str | None = None, page: int = 1, per_page: int = 20) -> tuple[list[ClaimRow], int]:
    """The claims behind a dashboard figure (a bar of a chart), newest change first, in the actor's
    scope, with the total: the drill-down from the dashboard."""
    conditions = [scope.claim_filter(actor)]
    if state:
        conditions.append(Claim.state == state)
    if town_id is not None:
        conditions.append(Community.town_id == town_id)
    if category:
        conditions.append(Task.category == category)
    base = (select(Claim.id).join(Task, Task.id == Claim.task_id)
            .join(Community, Community.id == Task.community_id).where(*conditions))
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.execute(
        select(Claim.id, Claim.state, Claim.definition_name, Claim.definition_version, Task.title, Task.category,
               Community.name, Town.name, User.name, Claim.updated_at)
        .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
        .join(Town, Town.id == Community.town_id).join(User, User.id == Claim.member_id)
        .where(*conditions).order_by(Claim.updated_at.desc(), Claim.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return [ClaimRow(*r) for r in rows], total
