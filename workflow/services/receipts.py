"""What registrations tell people (reads only): the home unit's receipt report (回执: every
member of the unit and where they are registered — nobody missed, 不漏一人), a community's
roster by grid and its pending applications, registration rates for supervisors (per
community and per unit: rates, never a ranking of people), and the registration section of
a unit's monthly feedback.

"This year's" service is verified work counted from the unit-feedback ledger (one row per
verified claim), on the district's calendar. People are listed by name, never by how much
they did.
"""
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import selectinload

from .. import runtime
from ..clock import district_midnight, district_year, utcnow
from ..errors import InvalidInput
from ..models import Claim, Community, Grid, Registration, Task, Town, Unit, UnitFeedback, User
from ..models.places import short_name
from . import scope

SUBJECT = "registration"


def _live() -> tuple[str, ...]:
    return runtime.registry().live_states(SUBJECT)


def _final() -> tuple[str, ...]:
    states: list[str] = []
    for compiled in runtime.registry().all(SUBJECT):
        states += [s for s in compiled.definition.final_states if s not in states]
    return tuple(states)


def _year_months(year: int) -> tuple[str, str]:
    return f"{year:04d}-01", f"{year:04d}-12"


def _work(session, member_ids, year: int, *, unit_id=None, community_id=None) -> dict[int, tuple[int, float]]:
    """member id → (verified claims, hours) this year, from the feedback ledger; credited to
    `unit_id`, or done on `community_id`'s tasks."""
    if not member_ids:
        return {}
    first, last = _year_months(year)
    # (count(*), not count(id): the sums come from ix_unit_feedback_member_month alone, migration 0015)
    query = (select(UnitFeedback.member_id, func.count(), func.coalesce(func.sum(UnitFeedback.hours), 0))
             .where(UnitFeedback.member_id.in_(member_ids), UnitFeedback.month >= first, UnitFeedback.month <= last)
             .group_by(UnitFeedback.member_id))
    if unit_id is not None:
        query = query.where(UnitFeedback.unit_id == unit_id)
    if community_id is not None:
        query = query.join(Claim, Claim.id == UnitFeedback.claim_id).join(Task, Task.id == Claim.task_id) \
            .where(Task.community_id == community_id)
    return {member_id: (int(n), float(hours)) for member_id, n, hours in session.execute(query)}


def _with_places(query):
    return query.options(selectinload(Registration.community).selectinload(Community.town),
                         selectinload(Registration.grid))


# -- the unit's receipt report -----------------------------------------------------------------

@dataclass(frozen=True)
class TownRef:
    code: str
    name: str


@dataclass(frozen=True)
class CommunityRef:
    id: int
    code: str
    name: str
    town: TownRef

    @property
    def short_name(self) -> str:
        return short_name(self.name)


@dataclass(frozen=True)
class GridRef:
    id: int
    name: str


@dataclass(frozen=True)
class LiveRegistration:
    """A member's live registration as the receipt shows it: the fields of `Registration` the report,
    its exports and the API read, with its community (and town) and grid — read in the same query as
    the unit's members, not loaded as ORM rows (a large unit has thousands)."""
    id: int
    member_id: int
    state: str
    definition_name: str
    definition_version: int
    community: CommunityRef
    grid: GridRef | None
    households: int | None
    accepted_at: object
    term_year: int | None
    term_ends_at: object


@dataclass
class ReceiptLine:
    user_id: int
    name: str
    registration: LiveRegistration | None  # the live one (applied or active); None: 未报到
    verified_claims: int
    hours: float


@dataclass
class Receipt:
    unit: Unit
    year: int
    lines: list[ReceiptLine] = field(default_factory=list)

    @property
    def unregistered(self) -> int:
        return sum(1 for line in self.lines if line.registration is None)

    @property
    def registered(self) -> int:
        return sum(1 for line in self.lines if line.registration is not None and line.registration.state == "active")


def receipt(session, unit: Unit, *, year: int | None = None) -> Receipt:
    """Every active member account of the unit with their live registration and this year's
    verified work credited to the unit; those with no live registration (未报到) first, then
    everyone by name."""
    year = year or district_year(utcnow())
    # One query: the members, each with their live registration (found through the partial unique index
    # on live registrations' members), its community, town and grid.
    rows = session.execute(
        select(User.id, User.name, Registration.id, Registration.state, Registration.definition_name,
               Registration.definition_version, Registration.households, Registration.accepted_at,
               Registration.term_year, Registration.term_ends_at, Community.id, Community.code, Community.name,
               Town.code, Town.name, Grid.id, Grid.name)
        .outerjoin(Registration, and_(Registration.member_id == User.id, Registration.state.in_(_live())))
        .outerjoin(Community, Community.id == Registration.community_id)
        .outerjoin(Town, Town.id == Community.town_id)
        .outerjoin(Grid, Grid.id == Registration.grid_id)
        .where(User.unit_id == unit.id, User.role == "member", User.active == true())
        .order_by(User.name, User.id, Registration.id)).all()
    work = _unit_work(session, unit.id, year)
    places, grids, lines, seen = {}, {}, [], set()
    for (user_id, name, reg_id, state, def_name, def_version, households, accepted_at, term_year, term_ends_at,
         community_id, code, community_name, town_code, town_name, grid_id, grid_name) in rows:
        if user_id in seen:  # (two live registrations cannot be: the partial unique index; first one kept)
            continue
        seen.add(user_id)
        registration = None
        if reg_id is not None:
            community = places.get(community_id) or places.setdefault(
                community_id, CommunityRef(community_id, code, community_name, TownRef(town_code, town_name)))
            grid = None if grid_id is None else grids.get(grid_id) or grids.setdefault(grid_id, GridRef(grid_id, grid_name))
            registration = LiveRegistration(reg_id, user_id, state, def_name, def_version, community, grid, households,
                                            accepted_at, term_year, term_ends_at)
        n, hours = work.get(user_id, (0, 0.0))
        lines.append(ReceiptLine(user_id=user_id, name=name, registration=registration, verified_claims=n, hours=hours))
    lines.sort(key=lambda line: line.registration is not None)  # stable: by name within each part
    return Receipt(unit=unit, year=year, lines=lines)


def _unit_work(session, unit_id: int, year: int) -> dict[int, tuple[int, float]]:
    """member id → (verified claims, hours) credited to the unit this year: the unit's feedback rows of the
    year's months, read from `ix_unit_feedback_unit_month` alone (migration 0015), without naming its
    thousands of members in the query."""
    first, last = _year_months(year)
    query = (select(UnitFeedback.member_id, func.count(), func.coalesce(func.sum(UnitFeedback.hours), 0))
             .where(UnitFeedback.unit_id == unit_id, UnitFeedback.month >= first, UnitFeedback.month <= last)
             .group_by(UnitFeedback.member_id))
    return {member_id: (int(n), float(hours)) for member_id, n, hours in session.execute(query)}


RECEIPT_COLUMNS = ["姓名", "报到状态", "报到社区（村）", "所属镇（街道）", "网格", "报到日期", "报到年度", "到期日期",
                   "联系户数", "本年核实服务（次）", "本年服务时长（小时）"]


def receipt_rows(report: Receipt, state_label, date_text) -> list[list]:
    """The receipt as rows under RECEIPT_COLUMNS (Chinese headers, for the unit's files).
    `state_label(state)` and `date_text(utc)` give the words and dates a reader expects."""
    rows = []
    for line in report.lines:
        r = line.registration
        if r is None:
            rows.append([line.name, "未报到", "", "", "", "", "", "", "", line.verified_claims, line.hours])
            continue
        last_day = date_text(r.term_ends_at, last_day=True) if r.term_ends_at else ""
        rows.append([line.name, state_label(r.state), r.community.short_name, r.community.town.name,
                     r.grid.name if r.grid else "", date_text(r.accepted_at) if r.accepted_at else "",
                     r.term_year or "", last_day, r.households if r.households is not None else "",
                     line.verified_claims, line.hours])
    return rows


# -- a community's staff: pending applications and the roster by grid ---------------------------

def pending(session, community_id: int) -> list[Registration]:
    """Applications waiting for the community's staff, oldest first."""
    return session.scalars(select(Registration).where(Registration.community_id == community_id,
                                                      Registration.state == "applied")
                           .options(selectinload(Registration.member).selectinload(User.unit))
                           .order_by(Registration.created_at, Registration.id)).all()


@dataclass
class RosterLine:
    registration: Registration
    name: str
    unit: str
    verified_claims: int
    hours: float


@dataclass
class RosterGrid:
    grid: Grid | None  # None: members not yet placed in a grid
    lines: list[RosterLine] = field(default_factory=list)


def roster(session, community_id: int, *, year: int | None = None) -> list[RosterGrid]:
    """The community's active registrations by grid (grids in the order they were made, then
    those in no grid), members by name; with this year's verified work on the community's tasks."""
    year = year or district_year(utcnow())
    grids = session.scalars(select(Grid).where(Grid.community_id == community_id).order_by(Grid.id)).all()
    regs = session.scalars(select(Registration).join(User, User.id == Registration.member_id)
                           .where(Registration.community_id == community_id, Registration.state == "active")
                           .options(selectinload(Registration.member).selectinload(User.unit))
                           .order_by(User.name, Registration.id)).all()
    work = _work(session, [r.member_id for r in regs], year, community_id=community_id)
    parts = {g.id: RosterGrid(grid=g) for g in grids}
    loose = RosterGrid(grid=None)
    for r in regs:
        n, hours = work.get(r.member_id, (0, 0.0))
        line = RosterLine(registration=r, name=r.member.name, unit=r.member.unit.name if r.member.unit else "",
                          verified_claims=n, hours=hours)
        parts.get(r.grid_id, loose).lines.append(line)
    return list(parts.values()) + ([loose] if loose.lines else [])


# -- supervisors: rates per community and per unit ------------------------------------------------

@dataclass
class CommunityRate:
    community: str
    town: str
    active: int
    applied: int
    in_grid: int

    @property
    def grid_rate(self) -> float | None:
        """入格率: of the registered members, the share placed in a grid."""
        return self.in_grid / self.active if self.active else None


@dataclass
class UnitRate:
    unit_id: int
    unit: str
    members: int
    registered: int  # active registrations (in the caller's scope, for a town supervisor)
    applied: int
    registered_anywhere: int  # the unit's overall figure

    @property
    def rate(self) -> float | None:
        """报到率: the share of the unit's members registered with a community."""
        return self.registered_anywhere / self.members if self.members else None


@dataclass
class Rates:
    communities: list[CommunityRate]
    units: list[UnitRate]
    town: bool  # a town supervisor's view: the unit figures say how many are registered in the town


def rates(session, actor) -> Rates:
    """Registration rates in the caller's scope: per community (registered, waiting, share in a
    grid) and per unit (members, registered, rate). Sorted by place and name, never by rate: a
    table to read, not a ranking."""
    in_scope = scope.registration_filter(actor)
    by_community = session.execute(
        select(Community.name, Town.name, _count_if(Registration.state == "active"),
               _count_if(Registration.state == "applied"),
               _count_if(and_(Registration.state == "active", Registration.grid_id.is_not(None))))
        .join(Community, Community.id == Registration.community_id).join(Town, Town.id == Community.town_id)
        .where(in_scope, Registration.state.in_(_live()))
        .group_by(Community.id, Community.code, Community.name, Town.code, Town.name)
        .order_by(Town.code, Community.code)).all()
    communities = [CommunityRate(community=short_name(c), town=t, active=int(a or 0), applied=int(p or 0),
                                 in_grid=int(g or 0)) for c, t, a, p, g in by_community]
    members = dict(session.execute(select(User.unit_id, func.count(User.id)).where(
        User.role == "member", User.active == true(), User.unit_id.is_not(None)).group_by(User.unit_id)).all())
    overall = dict(session.execute(
        select(User.unit_id, func.count(Registration.id)).join(User, User.id == Registration.member_id)
        .where(Registration.state == "active", User.active == true()).group_by(User.unit_id)).all())
    scoped = {}
    for unit_id, state, n in session.execute(
            select(User.unit_id, Registration.state, func.count(Registration.id))
            .join(User, User.id == Registration.member_id)
            .where(in_scope, Registration.state.in_(_live()), User.active == true())
            .group_by(User.unit_id, Registration.state)):
        scoped.setdefault(unit_id, {})[state] = n
    town = bool(actor.role == "supervisor" and actor.scope_town_id)
    units = []
    for unit in session.scalars(select(Unit).order_by(Unit.code)):
        counts = scoped.get(unit.id, {})
        if town and not counts:
            continue  # a town supervisor sees the units with members registered in the town
        units.append(UnitRate(unit_id=unit.id, unit=unit.name, members=members.get(unit.id, 0),
                              registered=counts.get("active", 0), applied=counts.get("applied", 0),
                              registered_anywhere=overall.get(unit.id, 0)))
    return Rates(communities=communities, units=units, town=town)


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


# -- the registration section of a unit's monthly feedback -----------------------------------------

@dataclass
class MonthRegistrations:
    month: str
    members: int
    registered: int  # active at the end of the month (or now, for the current month)
    accepted: int  # registrations accepted in the month
    left: int  # registrations that ended or lapsed in the month
    unregistered_names: list[str] = field(default_factory=list)  # now, by name

    @property
    def unregistered(self) -> int:
        return self.members - self.registered

    @property
    def rate(self) -> float | None:
        return self.registered / self.members if self.members else None


def month_bounds(month: str):
    """[start, end) of a district calendar month ("2026-11") as naive UTC."""
    try:
        year, number = int(month[:4]), int(month[5:7])
        if len(month) != 7 or month[4] != "-" or not 1 <= number <= 12:
            raise ValueError(month)
    except ValueError:
        raise InvalidInput("month must be YYYY-MM", errors={"month": ["Use the form 2026-11."]}) from None
    start = district_midnight(year, number, 1)
    end = district_midnight(year + (number == 12), number % 12 + 1, 1)
    return start, end


def month_section(session, unit: Unit, month: str, *, now=None) -> MonthRegistrations:
    """How the unit's members stood with their communities in a month: registered at its end,
    accepted and left during it, and who is not registered now (不漏一人)."""
    start, end = month_bounds(month)
    end = min(end, now or utcnow())
    members = select(User.id).where(User.unit_id == unit.id, User.role == "member", User.active == true())
    finals = _final()
    of_unit = Registration.member_id.in_(members)
    registered = session.scalar(select(func.count(func.distinct(Registration.member_id))).where(
        of_unit, Registration.accepted_at < end,
        or_(Registration.state.not_in(finals), Registration.updated_at >= end)))
    accepted = session.scalar(select(func.count(Registration.id)).where(
        of_unit, Registration.accepted_at >= start, Registration.accepted_at < end))
    left = session.scalar(select(func.count(Registration.id)).where(
        of_unit, Registration.accepted_at.is_not(None), Registration.state.in_(finals),
        Registration.updated_at >= start, Registration.updated_at < end))
    count = session.scalar(select(func.count()).select_from(members.subquery()))
    unregistered = session.scalars(select(User.name).where(
        User.id.in_(members), ~User.id.in_(select(Registration.member_id).where(Registration.state.in_(_live()))))
        .order_by(User.name)).all()
    return MonthRegistrations(month=month, members=int(count or 0), registered=int(registered or 0),
                              accepted=int(accepted or 0), left=int(left or 0), unregistered_names=list(unregistered))
