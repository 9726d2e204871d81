"""What the task and claim lists share: the place and category filters (a claim is filtered
by its task), and paging with a total that is exact up to COUNT_CAP rows.

The total is counted exactly up to COUNT_CAP; beyond it (a district's verified claims: 630k
at 1M, a 50 ms count on every page) it is a lower bound that still offers the next page,
and `X-Total-Exact: false` says so (docs/api.md, docs/performance.md).
"""
from sqlalchemy import func, or_, select

from workflow.extensions import db
from workflow.models import Community, Task, Town

from . import http

COUNT_CAP = 10_000


def task_filters(query, args):
    """`category`, `community` (12-digit code), `town` (9-digit code) and `q` (title or
    description) on a query that selects or joins Task."""
    if "category" in args:
        query = query.where(Task.category == args["category"])
    if "community" in args:
        query = query.where(Task.community_id.in_(select(Community.id).where(Community.code == args["community"])))
    if "town" in args:
        query = query.where(Task.community_id.in_(
            select(Community.id).join(Town, Town.id == Community.town_id).where(Town.code == args["town"])))
    if "q" in args:
        needle = args["q"].lower()
        query = query.where(or_(func.lower(Task.title).contains(needle, autoescape=True),
                                func.lower(Task.description).contains(needle, autoescape=True)))
    return query


def uses_task_filters(args) -> bool:
    return any(name in args for name in ("category", "community", "town", "q"))


def page(query, pagination_parameters, *, order_by, options=()):
    """One page of `query` (newest first by `order_by`), and the headers the total needs."""
    first, size = http.first_item(pagination_parameters), pagination_parameters.page_size
    counted = db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery()))
    rows = db.session.scalars(query.options(*options).order_by(order_by).offset(first).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    headers = {}
    if counted <= COUNT_CAP:
        pagination_parameters.item_count = counted
    elif rows and not more:
        pagination_parameters.item_count = first + len(rows)  # the last page: exact after all
    else:
        pagination_parameters.item_count = max(counted, first + len(rows) + (1 if more else 0))
        headers["X-Total-Exact"] = "false"
    return rows, headers
