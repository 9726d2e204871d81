"""A member's service record: verified work with its hours and points, by month and year.

The record is read from the unit-feedback ledger (one row per verified claim, written by the
claim process's `feedback_to_unit` effect, on the district's calendar month of the
verification): the same figures the member's unit receives, so the record, the unit's
monthly report and a certificate never disagree. Projects will add rows of their own.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..models import Claim, Community, Task, UnitFeedback


@dataclass
class Entry:
    month: str  # "2026-11"
    verified_at: datetime
    title: str
    place: str
    hours: float
    points: int
    claim_id: int


@dataclass
class Period:
    """A month or a year: its entries and totals."""

    key: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return round(sum(e.hours for e in self.entries), 2)

    @property
    def points(self) -> int:
        return sum(e.points for e in self.entries)

    @property
    def services(self) -> int:
        return len(self.entries)


@dataclass
class Year(Period):
    months: list[Period] = field(default_factory=list)


@dataclass
class ServiceRecord:
    years: list[Year]
    total: Period


def entries(session, member_id: int, *, first_month: str | None = None, last_month: str | None = None) -> list[Entry]:
    """The member's verified work, newest first; months "YYYY-MM" bound it when given."""
    query = (select(UnitFeedback, Task.title, Community.name).join(Claim, Claim.id == UnitFeedback.claim_id)
             .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
             .where(UnitFeedback.member_id == member_id))
    if first_month:
        query = query.where(UnitFeedback.month >= first_month)
    if last_month:
        query = query.where(UnitFeedback.month <= last_month)
    rows = session.execute(query.order_by(UnitFeedback.month.desc(), UnitFeedback.created_at.desc(),
                                          UnitFeedback.id.desc())).all()
    return [Entry(month=f.month, verified_at=f.created_at, title=title, place=_short(place), hours=f.hours,
                  points=f.points, claim_id=f.claim_id) for f, title, place in rows]


def record(session, member_id: int) -> ServiceRecord:
    found = entries(session, member_id)
    years: dict[str, Year] = {}
    for entry in found:
        year = years.setdefault(entry.month[:4], Year(entry.month[:4]))
        year.entries.append(entry)
        if not year.months or year.months[-1].key != entry.month:
            year.months.append(Period(entry.month))
        year.months[-1].entries.append(entry)
    return ServiceRecord(years=list(years.values()), total=Period("all", found))


def _short(name: str) -> str:
    for suffix in ("居民委员会", "村民委员会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
