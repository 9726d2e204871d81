"""The effects a definition may name: what a trigger does besides moving the state.

Effects run inside the trigger's transaction (as the shared machine's `after`
callbacks), so an exception in any of them rolls the whole transition back. Like
guards, only names registered here can appear in a definition.
"""
from collections.abc import Callable

from .. import capacity
from ..clock import district_month
from ..models import PointsEntry, Report, UnitFeedback, Upload, Visit

EFFECTS: dict[str, Callable] = {}
# Effects that change the claim's task row. A trigger with one of them locks the task
# before the claim (the lock order, services/tx.py); the others lock only the claim.
WRITES_TASK: set[str] = set()


def effect(fn: Callable | None = None, *, writes_task: bool = False):
    def register(fn: Callable) -> Callable:
        EFFECTS[fn.__name__] = fn
        if writes_task:
            WRITES_TASK.add(fn.__name__)
        return fn
    return register(fn) if fn is not None else register


def _attach_photos(ctx, photo_ids) -> None:
    """Bind the photos to this claim (they were checked to be the actor's own and free)."""
    if not photo_ids:
        return
    for upload in ctx.session.query(Upload).filter(Upload.id.in_(photo_ids)):
        upload.claim_id = ctx.claim.id


@effect(writes_task=True)
def recount_task_slots(ctx) -> None:
    capacity.recount(
        ctx.session, ctx.task, ctx.definition.live_states, actor=ctx.actor, now=ctx.now,
        request_id=ctx.request_id,
    )


@effect
def record_visit(ctx) -> None:
    photos = ctx.data.get("photos") or []
    visit = Visit(
        claim_id=ctx.claim.id,
        visited_at=ctx.data.get("time") or ctx.now,
        lat=ctx.data.get("lat"),
        lon=ctx.data.get("lon"),
        note=ctx.data.get("note") or "",
        photo_ids=photos,
        created_at=ctx.now,
    )
    ctx.session.add(visit)
    _attach_photos(ctx, photos)
    ctx.session.flush()
    ctx.recorded["visit_id"] = visit.id


@effect
def record_report(ctx) -> None:
    photos = ctx.data.get("photos") or []
    report = Report(
        claim_id=ctx.claim.id,
        summary=ctx.data["summary"],
        hours=ctx.data["hours"],
        households=ctx.data.get("households") or 0,
        photo_ids=photos,
        created_at=ctx.now,
    )
    ctx.session.add(report)
    _attach_photos(ctx, photos)
    ctx.session.flush()
    ctx.recorded["report_id"] = report.id


@effect
def remember_reason(ctx) -> None:
    reason = ctx.data.get("reason")
    if reason:
        ctx.claim.last_reason = reason


@effect
def award_points(ctx) -> None:
    entry = PointsEntry(
        member_id=ctx.claim.member_id,
        unit_id=ctx.claim.unit_id,
        claim_id=ctx.claim.id,
        points=ctx.task.points,
        kind="award",
        note=ctx.task.title[:200],
        created_at=ctx.now,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    ctx.recorded["points_entry_id"] = entry.id


@effect
def feedback_to_unit(ctx) -> None:
    """The record the member's home unit receives: hours and households from the last report."""
    report = ctx.session.query(Report).filter_by(claim_id=ctx.claim.id).order_by(Report.id.desc()).first()
    ctx.session.add(
        UnitFeedback(
            unit_id=ctx.claim.unit_id,
            member_id=ctx.claim.member_id,
            claim_id=ctx.claim.id,
            month=district_month(ctx.now),
            hours=report.hours if report else 0.0,
            households=report.households if report else 0,
            points=ctx.task.points,
            verified_by_id=ctx.actor.id,
            created_at=ctx.now,
        )
    )
