"""The verification queue: reported claims waiting for staff, oldest first.

What staff need to decide well and quickly: how long each report has waited (and whether
that is longer than the district allows: `Policy.review_days`), and — when the member is
resubmitting after a return — the reason it was returned and what changed since the report
before. Filters (category, a word from the title or the member's name, only resubmissions,
only overdue ones) and pages keep a long queue workable. Scope is the caller's
(`scope.claim_filter`): staff see their community's claims.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from .. import runtime
from ..clock import utcnow
from ..models import CATEGORIES, Claim, Report, Task, User, Visit
from . import scope

PAGE_SIZE = 20


@dataclass(frozen=True)
class QueueFilters:
    category: str | None = None
    q: str | None = None
    resubmitted: bool = False  # only claims returned once and reported again
    overdue: bool = False  # only reports waiting longer than the review time

    @classmethod
    def parse(cls, args) -> "QueueFilters":
        """From a query string (a mapping): unknown categories and blank words are ignored."""
        category = args.get("category")
        q = (args.get("q") or "").strip()[:50] or None
        return cls(category=category if category in CATEGORIES else None, q=q,
                   resubmitted=args.get("resubmitted") == "1", overdue=args.get("overdue") == "1")


@dataclass
class Change:
    """One difference between the report before and the new one: what, before, after."""

    what: str  # summary | hours | households | photos_added | photos_removed | visits
    before: object = None
    after: object = None


@dataclass
class Resubmission:
    reason: str | None
    changes: list[Change] = field(default_factory=list)


@dataclass
class QueueItem:
    claim: Claim
    reported_at: datetime
    age: timedelta
    overdue: bool
    resubmission: Resubmission | None = None


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    pages: int
    review_time: timedelta


def review_time() -> timedelta:
    return timedelta(days=runtime.current().policy.review_days)


def queue(session, actor, filters: QueueFilters = QueueFilters(), *, page: int = 1, page_size: int = PAGE_SIZE,
          now: datetime | None = None) -> QueuePage:
    now = now or utcnow()
    limit = review_time()
    query = (select(Claim).join(Task, Task.id == Claim.task_id)
             .where(scope.claim_filter(actor), Claim.state == "reported"))
    if filters.category:
        query = query.where(Task.category == filters.category)
    if filters.q:
        word = f"%{filters.q}%"
        query = query.where(or_(Task.title.like(word),
                                Claim.member_id.in_(select(User.id).where(User.name.like(word)))))
    if filters.resubmitted:
        query = query.where(select(func.count(Report.id)).where(Report.claim_id == Claim.id)
                            .scalar_subquery() > 1)
    if filters.overdue:
        query = query.where(Claim.updated_at < now - limit)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = session.scalars(query.order_by(Claim.updated_at, Claim.id)
                           .offset((page - 1) * page_size).limit(page_size)).all()
    items = []
    for claim in rows:
        # The claim moved to `reported` by its last transition, so updated_at is when it was reported.
        age = now - claim.updated_at
        items.append(QueueItem(claim=claim, reported_at=claim.updated_at, age=age, overdue=age > limit,
                               resubmission=resubmission(session, claim)))
    return QueuePage(items=items, total=total, page=page, pages=pages, review_time=limit)


def resubmission(session, claim) -> Resubmission | None:
    """For a claim reported again after a return: the reason it was returned (the claim's last
    reason: only a return leaves one on a claim that is still live) and what changed between
    the report before and the latest one; None for a first report."""
    reports = session.scalars(select(Report).where(Report.claim_id == claim.id)
                              .order_by(Report.id.desc()).limit(2)).all()
    if len(reports) < 2:
        return None
    last, before = reports
    changes = []
    if (last.summary or "").strip() != (before.summary or "").strip():
        changes.append(Change("summary", before.summary, last.summary))
    if last.hours != before.hours:
        changes.append(Change("hours", before.hours, last.hours))
    if (last.households or 0) != (before.households or 0):
        changes.append(Change("households", before.households or 0, last.households or 0))
    old, new = set(before.photo_ids or []), set(last.photo_ids or [])
    if new - old:
        changes.append(Change("photos_added", after=sorted(new - old)))
    if old - new:
        changes.append(Change("photos_removed", before=sorted(old - new)))
    visits = session.scalars(select(Visit).where(Visit.claim_id == claim.id, Visit.created_at > before.created_at,
                                                 Visit.created_at <= last.created_at).order_by(Visit.id)).all()
    if visits:
        changes.append(Change("visits", after=visits))
    return Resubmission(reason=claim.last_reason, changes=changes)
