"""Grids (网格): a community's own division into grids, managed by its staff (and admins).

Staff add and rename their community's grids; a grid with members on it (an active
registration) cannot be deleted, nor one a task names. Registrations move between grids by
their own trigger (`move_grid`), with an audit event; a grid's name is not evidence, so adding
and renaming are not chained (they are ordinary rows, like the division list).
"""
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import Community, Grid, Registration, Task
from .idempotency import record as record_idempotency
from .tx import lock_one, write_transaction

NAME_LENGTH = 64
# The states in which a registration puts its member on a grid's roster.
ON_ROSTER = ("active",)


@dataclass
class GridRow:
    id: int
    name: str
    members: int  # active registrations placed in it


def require_grid_manager(actor) -> None:
    """Staff and admins manage grids; other roles never do (403)."""
    if actor.role not in ("staff", "admin"):
        raise Forbidden("only community staff and admins manage grids")


def visible_community(session, actor, community_id: int) -> Community:
    """The community whose grids the actor manages: staff their own, admins any (else 404)."""
    require_grid_manager(actor)
    community = session.get(Community, community_id)
    if community is None or (actor.role == "staff" and actor.community_id != community_id):
        raise NotFound(f"community {community_id} not found")
    return community


def grid_rows(session, community_id: int) -> list[GridRow]:
    """The community's grids in the order they were made (第一网格, 第二网格, …) with their members."""
    members = (select(Registration.grid_id, func.count(Registration.id).label("n"))
               .where(Registration.state.in_(ON_ROSTER)).group_by(Registration.grid_id).subquery())
    rows = session.execute(select(Grid.id, Grid.name, func.coalesce(members.c.n, 0))
                           .outerjoin(members, members.c.grid_id == Grid.id)
                           .where(Grid.community_id == community_id).order_by(Grid.id)).all()
    return [GridRow(id=r[0], name=r[1], members=int(r[2])) for r in rows]


def _name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else None
    if not name:
        raise InvalidInput("a grid needs a name", errors={"name": ["Missing data for required field."]})
    if len(name) > NAME_LENGTH:
        raise InvalidInput("grid name too long", errors={"name": [f"Longer than maximum length {NAME_LENGTH}."]})
    return name


def _taken(session, community_id: int, name: str, except_id: int | None = None) -> None:
    query = select(Grid.id).where(Grid.community_id == community_id, Grid.name == name)
    if except_id is not None:
        query = query.where(Grid.id != except_id)
    if session.scalar(query) is not None:
        raise InvalidInput("a grid of that name exists", errors={"name": ["This community has a grid of that name."]})


@dataclass
class Added:
    """A new grid and the answer's view of it (recorded with an Idempotency-Key when sent)."""

    grid: Grid
    view: dict
    created: bool = True


def add_grid(actor, community_id: int, name, *, idempotency=None) -> Added:
    name = _name(name)
    with write_transaction() as session:
        community = visible_community(session, actor, community_id)
        lock_one(session, Community, community.id)  # two adds of one name queue here, then see each other
        _taken(session, community.id, name)
        grid = Grid(community_id=community.id, name=name)
        session.add(grid)
        session.flush()
        view = {"id": grid.id, "name": grid.name, "members": 0}
        record_idempotency(idempotency, session, view, created=True)
    return Added(grid=grid, view=view)


def _locked_grid(session, actor, grid_id: int) -> Grid:
    require_grid_manager(actor)
    grid = lock_one(session, Grid, grid_id)
    if grid is None or (actor.role == "staff" and grid.community_id != actor.community_id):
        raise NotFound(f"grid {grid_id} not found")
    return grid


def rename_grid(actor, grid_id: int, name) -> Grid:
    name = _name(name)
    with write_transaction() as session:
        grid = _locked_grid(session, actor, grid_id)
        _taken(session, grid.community_id, name, except_id=grid.id)
        grid.name = name
    return grid


def delete_grid(actor, grid_id: int) -> None:
    """Only an empty grid: no active registration on it and no task naming it. (Registrations
    that ended keep their grid id as history, so such a grid stays too: it is refused the same way.)"""
    with write_transaction() as session:
        grid = _locked_grid(session, actor, grid_id)
        # Placing a member in a grid takes the grid FOR KEY SHARE (RegistrationKind.allows), so an
        # accept racing with this delete either finishes first (and is counted here) or finds
        # the grid gone (a field error): never a member in a deleted grid.
        members = session.scalar(select(func.count(Registration.id)).where(
            Registration.grid_id == grid.id, Registration.state.in_(ON_ROSTER)))
        if members:
            raise Conflict(f"grid {grid.name} has {members} members; move them to another grid first")
        if session.scalar(select(Registration.id).where(Registration.grid_id == grid.id).limit(1)) is not None \
                or session.scalar(select(Task.id).where(Task.grid_id == grid.id).limit(1)) is not None:
            raise Conflict(f"grid {grid.name} is named in past registrations or tasks; rename it instead")
        session.delete(grid)
        try:
            session.flush()
        except IntegrityError:  # a task named it meanwhile: the foreign key refuses, the delete fails whole
            raise Conflict(f"grid {grid.name} is in use; rename it instead") from None
