"""Reading the points ledger and the monthly feedback to units.

Points are only ever added (awards, reversing entries); a member's total is the sum.
Feedback to a unit is reported per month: who took part, verified claims, hours, points.
No ranking of individuals is produced here or anywhere (see docs/decisions.md).
"""
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..errors import Forbidden, InvalidInput, NotFound
from ..models import PointsEntry, Unit, UnitFeedback, User
from .tx import write_transaction


def ledger(session, member_id: int) -> tuple[list[PointsEntry], int]:
    entries = session.scalars(
        select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.id)
    ).all()
    return entries, sum(e.points for e in entries)


def reverse_entry(entry_id: int, actor, note: str) -> PointsEntry:
    """Correct an award by a reversing entry (admins only); the original stays."""
    if actor.role != "admin":
        raise Forbidden("only admins correct points")
    with write_transaction() as session:
        original = session.get(PointsEntry, entry_id)
        if original is None:
            raise NotFound(f"points entry {entry_id} not found")
        if original.kind != "award" or session.scalar(
            select(PointsEntry.id).where(PointsEntry.reverses_id == entry_id)
        ):
            raise InvalidInput("only an award not yet reversed can be reversed",
                               errors={"entry": ["Already reversed, or itself a reversal."]})
        entry = PointsEntry(member_id=original.member_id, unit_id=original.unit_id, claim_id=original.claim_id,
                            points=-original.points, kind="reversal", reverses_id=original.id, note=note[:200])
        session.add(entry)
    return entry


@dataclass
class MemberMonth:
    member_id: int
    name: str
    verified_claims: int
    hours: float
    households: int
    points: int


@dataclass
class UnitMonth:
    unit: Unit
    month: str
    members: list[MemberMonth] = field(default_factory=list)

    @property
    def verified_claims(self) -> int:
        return sum(m.verified_claims for m in self.members)

    @property
    def hours(self) -> float:
        return sum(m.hours for m in self.members)

    @property
    def points(self) -> int:
        return sum(m.points for m in self.members)


def visible_unit(session, actor, unit_id: int) -> Unit:
    """Supervisors of the district, of this unit (or admins) may read a unit's feedback."""
    unit = session.get(Unit, unit_id)
    allowed = actor.role == "admin" or (
        actor.role == "supervisor" and not actor.scope_town_id and actor.unit_id in (None, unit_id)
    )
    if unit is None or not allowed:
        raise NotFound(f"unit {unit_id} not found")
    return unit


def unit_month(session, unit: Unit, month: str) -> UnitMonth:
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or not 1 <= int(month[5:]) <= 12:
        raise InvalidInput("month must be YYYY-MM", errors={"month": ["Use the form 2026-11."]})
    rows = session.execute(
        select(UnitFeedback.member_id, User.name, func.count(UnitFeedback.id), func.sum(UnitFeedback.hours),
               func.sum(UnitFeedback.households), func.sum(UnitFeedback.points))
        .join(User, User.id == UnitFeedback.member_id)
        .where(UnitFeedback.unit_id == unit.id, UnitFeedback.month == month)
        .group_by(UnitFeedback.member_id, User.name)
        .order_by(User.name)  # alphabetical: a list of who took part, not a ranking
    ).all()
    return UnitMonth(unit=unit, month=month, members=[
        MemberMonth(member_id=r[0], name=r[1], verified_claims=r[2], hours=float(r[3] or 0),
                    households=int(r[4] or 0), points=int(r[5] or 0)) for r in rows])
