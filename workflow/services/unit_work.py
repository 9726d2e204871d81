"""What the unit's 报到 looks like on a page: a liaison's overview (pairings with their terms,
projects and their progress, resources), the open projects a unit may take on, a community's
proposals and paired units, the unit's page for the year, and pairings and projects counted per
unit and per community for supervisors — counts and rates, sorted by place and name, never a
ranking. Reads only; every query is under the scope rules (services/scope.py).
"""
from dataclasses import dataclass, field
from sqlalchemy import case, func, or_, select

from ..clock import district_midnight, district_year, utcnow
from ..models import Community, Pairing, Project, ProjectReport, Task, Town, Unit
from . import receipts, scope

def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


# -- a liaison's overview ---------------------------------------------------------------------------

@dataclass
class ProjectLine:
    project: Project
    progress_reports: int
    tasks: int


@dataclass
class Overview:
    unit: Unit
    pairings: list[Pairing]
    projects: list[ProjectLine]


def _progress(session, project_ids) -> tuple[dict, dict]:
    if not project_ids:
        return {}, {}
    reports = dict(session.execute(select(ProjectReport.project_id, func.count(ProjectReport.id)).where(
        ProjectReport.project_id.in_(project_ids), ProjectReport.kind == "progress")
        .group_by(ProjectReport.project_id)).all())
    tasks = dict(session.execute(select(Task.project_id, func.count(Task.id)).where(
        Task.project_id.in_(project_ids)).group_by(Task.project_id)).all())
    return reports, tasks


def project_lines(session, rows) -> list[ProjectLine]:
    reports, tasks = _progress(session, [p.id for p in rows])
    return [ProjectLine(project=p, progress_reports=reports.get(p.id, 0), tasks=tasks.get(p.id, 0)) for p in rows]


def overview(session, actor) -> Overview:
    """A liaison's unit: its pairings (live first, then newest) and the projects it took."""
    unit = session.get(Unit, actor.unit_id)
    live = Pairing.state.in_(("proposed", "active"))
    pairings = session.scalars(select(Pairing).where(Pairing.unit_id == unit.id)
                               .order_by(live.desc(), Pairing.id.desc()).limit(100)).all()
    rows = session.scalars(select(Project).where(Project.unit_id == unit.id)
                           .order_by(Project.state.in_(("done", "cancelled")), Project.id.desc()).limit(100)).all()
    return Overview(unit=unit, pairings=pairings, projects=project_lines(session, rows))


@dataclass
class OpenProject:
    project: Project
    paired: bool  # the unit has an active pairing with its community: it may take it on


def open_projects(session, actor, *, limit: int = 100) -> list[OpenProject]:
    """Open projects for a liaison: those of communities the unit is paired with first, then the
    rest of the district (to find communities worth proposing to), newest first."""
    paired = select(Pairing.community_id).where(Pairing.unit_id == actor.unit_id, Pairing.state == "active")
    is_paired = Project.community_id.in_(paired)
    rows = session.execute(select(Project, is_paired).where(Project.state == "open", scope.project_filter(actor))
                           .order_by(is_paired.desc(), Project.id.desc()).limit(limit)).all()
    return [OpenProject(project=p, paired=bool(flag)) for p, flag in rows]


# -- a community's staff ----------------------------------------------------------------------------

def community_pairings(session, actor) -> tuple[list[Pairing], list[Pairing]]:
    """(proposals waiting, oldest first; active pairings, by unit) of the staff member's community."""
    base = select(Pairing).where(Pairing.community_id == actor.community_id)
    waiting = session.scalars(base.where(Pairing.state == "proposed").order_by(Pairing.created_at)).all()
    active = session.scalars(base.where(Pairing.state == "active").join(Unit, Unit.id == Pairing.unit_id)
                             .order_by(Unit.code)).all()
    return waiting, active


def community_projects(session, actor, state: str | None = None) -> list[ProjectLine]:
    query = select(Project).where(scope.project_filter(actor))
    if state:
        query = query.where(Project.state == state)
    order = case((Project.state == "reported", 0), (Project.state == "taken", 1), (Project.state == "open", 2),
                 else_=3)
    rows = session.scalars(query.order_by(order, Project.id.desc()).limit(200)).all()
    return project_lines(session, rows)


def projects_of_community(session, community_id) -> list[Project]:
    """Projects a task may belong to: the community's, not cancelled (the task form's choices)."""
    return session.scalars(select(Project).where(Project.community_id == community_id,
                                                 Project.state != "cancelled").order_by(Project.id.desc())).all()


# -- the unit's page for the year -------------------------------------------------------------------

@dataclass
class Yearbook:
    unit: Unit
    year: int
    pairings: list[Pairing]  # communities paired at some time in the year
    projects_done: list[Project]  # approved in the year
    receipt: receipts.Receipt  # members registered and not
    member_hours: float  # members' verified service credited to the unit in the year
    project_hours: float  # hours of the projects done in the year

    @property
    def hours(self) -> float:
        return self.member_hours + self.project_hours


def yearbook(session, unit: Unit, year: int | None = None) -> Yearbook:
    """The unit's year (Beijing calendar): communities paired, projects done, members registered
    and unregistered, hours (members' verified service and the projects' reported hours)."""
    year = year or district_year(utcnow())
    start, end = district_midnight(year, 1, 1), district_midnight(year + 1, 1, 1)
    pairings = session.scalars(select(Pairing).where(
        Pairing.unit_id == unit.id, Pairing.accepted_at.is_not(None), Pairing.accepted_at < end,
        or_(Pairing.state == "active", Pairing.updated_at >= start), Pairing.term_ends_at > start)
        .join(Community, Community.id == Pairing.community_id).order_by(Community.code, Pairing.id)).all()
    done = session.scalars(select(Project).where(Project.unit_id == unit.id, Project.state == "done",
                                                 Project.done_at >= start, Project.done_at < end)
                           .order_by(Project.done_at)).all()
    report = receipts.receipt(session, unit, year=year)
    return Yearbook(unit=unit, year=year, pairings=pairings, projects_done=done, receipt=report,
                    member_hours=sum(line.hours for line in report.lines),
                    project_hours=sum(p.hours or 0.0 for p in done))


# -- supervisors: per unit and per community --------------------------------------------------------

@dataclass
class Figures:
    """One row of the rates table: a unit's or a community's pairings and projects."""

    name: str
    place: str = ""  # the community's town, or the unit's code
    pairings_active: int = 0
    pairings_proposed: int = 0
    pairings_ended: int = 0  # ended or lapsed
    pairings_declined: int = 0
    projects_published: int = 0  # per community: all but cancelled-while-open; per unit: taken on
    projects_open: int = 0
    projects_taken: int = 0  # under way or reported
    projects_done: int = 0
    projects_cancelled: int = 0
    hours: float = 0.0

    @property
    def taken_rate(self) -> float | None:
        """Of a community's projects, the share a unit took on (认领率)."""
        taken = self.projects_taken + self.projects_done
        return taken / self.projects_published if self.projects_published else None

    @property
    def done_rate(self) -> float | None:
        """Of the projects taken on, the share done (完成率)."""
        taken = self.projects_taken + self.projects_done
        return self.projects_done / taken if taken else None

    @property
    def acceptance_rate(self) -> float | None:
        """Of the proposals answered, the share accepted (结对成功率)."""
        answered = self.pairings_active + self.pairings_ended + self.pairings_declined
        return (self.pairings_active + self.pairings_ended) / answered if answered else None


@dataclass
class PairingRates:
    units: list[Figures] = field(default_factory=list)
    communities: list[Figures] = field(default_factory=list)


def _pairing_counts(session, actor, key):
    return {row[0]: row[1:] for row in session.execute(
        select(key, _count_if(Pairing.state == "active"), _count_if(Pairing.state == "proposed"),
               _count_if(Pairing.state.in_(("ended", "lapsed"))), _count_if(Pairing.state == "declined"))
        .where(scope.pairing_filter(actor)).group_by(key))}


def _project_counts(session, actor, key):
    return {row[0]: row[1:] for row in session.execute(
        select(key, func.count(Project.id), _count_if(Project.state == "open"),
               _count_if(Project.state.in_(("taken", "reported"))), _count_if(Project.state == "done"),
               _count_if(Project.state == "cancelled"),
               func.sum(case((Project.state == "done", Project.hours), else_=0.0)))
        .where(scope.project_filter(actor), key.is_not(None)).group_by(key))}


def _figures(name, place, pairing, project) -> Figures:
    active, proposed, ended, declined = (int(v or 0) for v in (pairing or (0, 0, 0, 0)))
    total, open_, taken, done, cancelled, hours = project or (0, 0, 0, 0, 0, 0.0)
    return Figures(name=name, place=place, pairings_active=active, pairings_proposed=proposed,
                   pairings_ended=ended, pairings_declined=declined,
                   projects_published=int(total or 0) - int(cancelled or 0), projects_open=int(open_ or 0),
                   projects_taken=int(taken or 0), projects_done=int(done or 0),
                   projects_cancelled=int(cancelled or 0), hours=float(hours or 0.0))


def rates(session, actor) -> PairingRates:
    """Pairings and projects in the caller's scope, per unit and per community, with rates;
    places and names in their official order. Only units and communities with something to count."""
    out = PairingRates()
    by_unit_p, by_unit_j = _pairing_counts(session, actor, Pairing.unit_id), _project_counts(session, actor,
                                                                                              Project.unit_id)
    unit_ids = set(by_unit_p) | set(by_unit_j)
    if unit_ids:
        for unit in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.code)):
            out.units.append(_figures(unit.name, unit.code, by_unit_p.get(unit.id), by_unit_j.get(unit.id)))
    by_comm_p = _pairing_counts(session, actor, Pairing.community_id)
    by_comm_j = _project_counts(session, actor, Project.community_id)
    community_ids = set(by_comm_p) | set(by_comm_j)
    if community_ids:
        for community, town in session.execute(select(Community, Town).join(Town, Town.id == Community.town_id)
                                               .where(Community.id.in_(community_ids))
                                               .order_by(Town.code, Community.code)):
            out.communities.append(_figures(community.short_name, town.name, by_comm_p.get(community.id),
                                            by_comm_j.get(community.id)))
    return out


RATE_COLUMNS = ["名称", "所属", "共建中", "待确认", "已结束或到期", "未同意", "结对成功率", "发布项目", "待认领", "进行中",
                "已完成", "已取消", "认领率", "完成率", "项目服务时长（小时）"]


def rate_rows(rows: list[Figures]) -> list[list]:
    """The table under RATE_COLUMNS (Chinese headers: the district's own files)."""
    def pct(value):
        return "" if value is None else f"{value * 100:.0f}%"
    return [[f.name, f.place, f.pairings_active, f.pairings_proposed, f.pairings_ended, f.pairings_declined,
             pct(f.acceptance_rate), f.projects_published, f.projects_open, f.projects_taken, f.projects_done,
             f.projects_cancelled, pct(f.taken_rate), pct(f.done_rate), round(f.hours, 1)] for f in rows]


def projects_in_scope(session, actor, *, state: str | None = None, limit: int = 200) -> list[Project]:
    """Projects a supervisor may open (any project's timeline), newest first."""
    query = select(Project).where(scope.project_filter(actor))
    if state:
        query = query.where(Project.state == state)
    return session.scalars(query.order_by(Project.id.desc()).limit(limit)).all()
