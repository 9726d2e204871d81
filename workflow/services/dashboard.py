"""The supervisor's dashboard: counts and rates for the caller's scope, never a ranking of people.

Every query is limited by `scope.claim_filter` / `scope.task_filter`, so a town supervisor's
dashboard counts only that town and a unit supervisor's only that unit's members.
Units and communities are compared by rates (participation, completion, verification time);
no list of individual members ordered by points or hours is produced here.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select

from ..clock import utcnow
from ..engine import registry
from ..models import AuditEvent, Claim, Community, Task, Town, Unit, UnitFeedback, User
from . import scope


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
    units: list[UnitRate] = field(default_factory=list)


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def visible_claims(actor):
    """A subquery of the claim ids the actor may see."""
    return select(Claim.id).where(scope.claim_filter(actor))


def overdue_claims(session, actor, *, now=None, limit: int = 50):
    """Live claims whose task's deadline has passed (the expiry run has not caught them yet)."""
    now = now or utcnow()
    condition = and_(scope.claim_filter(actor), Claim.state.in_(registry().live_states()), Task.deadline < now)
    count = session.scalar(select(func.count(Claim.id)).join(Task, Task.id == Claim.task_id).where(condition))
    rows = session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id).where(condition)
        .order_by(Task.deadline, Claim.id).limit(limit)
    ).all()
    return count or 0, [tuple(r) for r in rows]


def dashboard(session, actor, *, now=None) -> Dashboard:
    now = now or utcnow()
    month = month_of(now)
    result = Dashboard(month=month)
    visible = scope.claim_filter(actor)

    result.by_state = [(s, n) for s, n in session.execute(
        select(Claim.state, func.count(Claim.id)).where(visible).group_by(Claim.state).order_by(Claim.state))]
    result.total_claims = sum(n for _, n in result.by_state)
    result.by_town = [(name, n) for name, n in session.execute(
        select(Town.name, func.count(Claim.id))
        .select_from(Claim).join(Task, Task.id == Claim.task_id)
        .join(Community, Community.id == Task.community_id).join(Town, Town.id == Community.town_id)
        .where(visible).group_by(Town.name).order_by(func.count(Claim.id).desc(), Town.name))]
    result.by_category = [(c, n) for c, n in session.execute(
        select(Task.category, func.count(Claim.id)).select_from(Claim).join(Task, Task.id == Claim.task_id)
        .where(visible).group_by(Task.category).order_by(func.count(Claim.id).desc(), Task.category))]

    verified, hours, points = session.execute(
        select(func.count(UnitFeedback.id), func.sum(UnitFeedback.hours), func.sum(UnitFeedback.points))
        .where(UnitFeedback.month == month, UnitFeedback.claim_id.in_(visible_claims(actor)))
    ).one()
    result.month_verified, result.month_hours, result.month_points = verified or 0, float(hours or 0), int(points or 0)
    result.overdue_count, result.overdue = overdue_claims(session, actor, now=now, limit=20)
    result.units = unit_rates(session, actor)
    return result


def _verify_hours(session, actor) -> dict[int, float]:
    """Mean hours from the last report to the approval, per unit, for verified claims in scope."""
    reported = (select(AuditEvent.subject_id.label("claim_id"), func.max(AuditEvent.created_at).label("at"))
                .where(AuditEvent.subject_type == "claim", AuditEvent.trigger == "submit_report")
                .group_by(AuditEvent.subject_id).subquery())
    approved = (select(AuditEvent.subject_id.label("claim_id"), AuditEvent.created_at.label("at"))
                .where(AuditEvent.subject_type == "claim", AuditEvent.trigger == "approve").subquery())
    rows = session.execute(
        select(Claim.unit_id, reported.c.at, approved.c.at)
        .join(reported, reported.c.claim_id == Claim.id).join(approved, approved.c.claim_id == Claim.id)
        .where(scope.claim_filter(actor), Claim.state == "verified")
    ).all()
    sums: dict[int, list[float]] = {}
    for unit_id, reported_at, approved_at in rows:
        if unit_id is None or reported_at is None or approved_at is None:
            continue
        sums.setdefault(unit_id, []).append((approved_at - reported_at).total_seconds() / 3600)
    return {u: sum(v) / len(v) for u, v in sums.items()}


def unit_rates(session, actor) -> list[UnitRate]:
    """Per unit: members, how many took part, claims, verified/finished, mean verification time.
    Ordered by unit name, never by a score."""
    finals = ("verified", "rejected", "withdrawn", "expired")
    claim_rows = session.execute(
        select(Claim.unit_id, func.count(Claim.id), func.count(func.distinct(Claim.member_id)),
               func.sum(case((Claim.state == "verified", 1), else_=0)),
               func.sum(case((Claim.state.in_(finals), 1), else_=0)))
        .where(scope.claim_filter(actor), Claim.unit_id.is_not(None)).group_by(Claim.unit_id)
    ).all()
    by_unit = {r[0]: r for r in claim_rows}
    unit_query = select(Unit.id, Unit.name).order_by(Unit.name)
    if actor.role == "supervisor" and actor.unit_id:
        unit_query = unit_query.where(Unit.id == actor.unit_id)
    elif actor.role == "supervisor" and actor.scope_town_id:
        unit_query = unit_query.where(Unit.id.in_(list(by_unit) or [-1]))
    members = dict(session.execute(
        select(User.unit_id, func.count(User.id)).where(User.role == "member", User.active.is_(True))
        .group_by(User.unit_id)).all())
    hours = _verify_hours(session, actor)
    out = []
    for unit_id, name in session.execute(unit_query):
        row = by_unit.get(unit_id)
        out.append(UnitRate(
            unit_id=unit_id, name=name, members=members.get(unit_id, 0),
            participants=row[2] if row else 0, claims=row[1] if row else 0,
            verified=int(row[3] or 0) if row else 0, finished=int(row[4] or 0) if row else 0,
            avg_verify_hours=hours.get(unit_id)))
    return out


def feedback_units(session, actor) -> list[Unit]:
    """The units whose monthly feedback report this actor may open (see points.visible_unit)."""
    if actor.role == "admin" or (actor.role == "supervisor" and not actor.scope_town_id and not actor.unit_id):
        return list(session.scalars(select(Unit).order_by(Unit.name)))
    if actor.role == "supervisor" and actor.unit_id and not actor.scope_town_id:
        return list(session.scalars(select(Unit).where(Unit.id == actor.unit_id)))
    return []
