"""Finding a task to take on: a member's search over the open tasks of the district.

Members may help anywhere in the district (docs/decisions.md), so the list covers every open
task a member may see (`scope.task_filter`) whose deadline has not passed — less the ones the
member already holds a live claim on: those are the member's own ("mine"), listed apart, never
offered again as claimable. Tasks of the member's own community come first, then those of
the member's town, then the rest; within each, the nearest deadline first. A word matches the
title or the village/community's name; category and town narrow it; results come in pages.
"""
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import contains_eager

from .. import runtime
from ..clock import utcnow
from ..models import CATEGORIES, Claim, Community, Task, Town
from . import scope

PAGE_SIZE = 10


@dataclass(frozen=True)
class TaskFilters:
    q: str | None = None
    category: str | None = None
    town: str | None = None  # a town's 9-digit code

    @classmethod
    def parse(cls, args) -> "TaskFilters":
        category = args.get("category")
        town = args.get("town") or ""
        q = (args.get("q") or "").strip()[:50] or None
        return cls(q=q, category=category if category in CATEGORIES else None,
                   town=town if town.isdigit() and len(town) == 9 else None)

    def as_args(self) -> dict:
        return {k: v for k, v in (("q", self.q), ("category", self.category), ("town", self.town)) if v}


@dataclass
class TaskPage:
    tasks: list
    total: int
    page: int
    pages: int


def live_claims(session, member):
    """The member's live claims with their tasks, nearest deadline first."""
    live = runtime.registry().live_states("claim")
    return session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id)
        .where(scope.claim_filter(member), Claim.state.in_(live)).order_by(Task.deadline, Claim.id)).all()


def open_tasks(session, member, filters: TaskFilters = TaskFilters(), *, page: int = 1,
               page_size: int = PAGE_SIZE, now=None) -> TaskPage:
    now = now or utcnow()
    live = runtime.registry().live_states("claim")
    mine = select(Claim.task_id).where(Claim.member_id == member.id, Claim.state.in_(live))
    my_town = select(Community.town_id).where(Community.id == member.community_id).scalar_subquery()
    query = (select(Task).join(Community, Community.id == Task.community_id).join(Town, Town.id == Community.town_id)
             .where(scope.task_filter(member), Task.status == "open", Task.deadline > now, Task.id.not_in(mine)))
    if filters.q:
        word = f"%{filters.q}%"
        query = query.where(or_(Task.title.like(word), Community.name.like(word), Task.address.like(word)))
    if filters.category:
        query = query.where(Task.category == filters.category)
    if filters.town:
        query = query.where(Town.code == filters.town)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(Task.id).subquery()))
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    nearness = case((Task.community_id == member.community_id, 0), (Community.town_id == my_town, 1), else_=2)
    rows = session.scalars(
        query.options(contains_eager(Task.community).contains_eager(Community.town))
        .order_by(nearness, Task.deadline, Task.id).offset((page - 1) * page_size).limit(page_size)).all()
    return TaskPage(tasks=list(rows), total=total, page=page, pages=pages)


def towns(session) -> list:
    return session.scalars(select(Town).order_by(Town.code)).all()
