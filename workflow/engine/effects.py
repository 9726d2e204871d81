"""The effects a definition may name: what a trigger does besides moving the state.

Effects run inside the trigger's transaction (as the shared machine's `after`
callbacks), so an exception in any of them rolls the whole transition back. Like
guards, only names registered here can appear in a definition. An effect that changes a
row other than the subject says which kind (`@effect(writes=("task",))`): a trigger with
it locks that row before the subject (the lock order, services/tx.py).

On PostgreSQL the rows an effect writes and never reads back travel with the transition's audit
event, as data-modifying WITHs of its one statement (`_with_event`; services/transitions.step
sends them). An effect whose event records the new row's id (a visit, a report, a points entry)
says which table (`@effect(draws=("visits",))`): the subject's lock draws the id from that table's
sequence in its own statement (services/subjects.py), so the id is known, and hashed in the
event, before the row is written (`_insert_recorded`). On SQLite every row is written at once, as
before.
"""
from collections.abc import Callable

from sqlalchemy import DateTime, Integer, String, bindparam, func, insert, select, update

from .. import capacity
from ..clock import district_month
from ..models import PointsEntry, Report, UnitFeedback, Upload, Visit

EFFECTS: dict[str, Callable] = {}
# Effect name → the kinds of related rows it changes (beyond the subject itself).
WRITES: dict[str, tuple[str, ...]] = {}
# Effect name → the tables whose next id it takes from those the subject's lock drew (ctx.drawn).
DRAWS: dict[str, tuple[str, ...]] = {}


def effect(fn: Callable | None = None, *, writes: tuple[str, ...] = (), draws: tuple[str, ...] = ()):
    def register(fn: Callable) -> Callable:
        EFFECTS[fn.__name__] = fn
        if writes:
            WRITES[fn.__name__] = tuple(writes)
        if draws:
            DRAWS[fn.__name__] = tuple(draws)
        return fn
    return register(fn) if fn is not None else register


def _insert(ctx, model, **values) -> int:
    """One row, written at once with a Core INSERT … RETURNING id. Effects write rows the
    transition never reads back as objects, so the ORM's unit of work (a large share of a
    transition's CPU) buys nothing here. A Core statement does not autoflush: objects added to
    the session are inserted first (a new subject, say, whose id the row names); the subject's
    own changes (state, version, counters) need not precede it and reach its row in one UPDATE
    after the effects, with the audit event (services/tx.py, row_update)."""
    if ctx.session.new:
        ctx.session.flush()
    # On the session's connection: a Core statement needs none of the ORM's execution (nor its autoflush).
    return ctx.session.connection().execute(_insert_returning_id(model.__table__), values).scalar_one()


_INSERTS: dict = {}


def _insert_returning_id(table):
    """INSERT … RETURNING id for a table, built once (its compiled form is cached per column set)."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table).returning(table.c.id)
    return statement


def _insert_recorded(ctx, model, **values) -> int:
    """One row whose id the audit event records (a visit, a report, a points entry). With an id the
    subject's lock drew for its table (ctx.drawn, PostgreSQL) the row travels with the event and that
    id is its own; otherwise it is inserted now and its id read back (`_insert`)."""
    table = model.__table__
    drawn = ctx.drawn.pop(table.name, None)  # each drawn id names one row: a second row of the table inserts now
    if drawn is None:
        return _insert(ctx, model, **values)
    if ctx.session.new:  # a row it names must be stored first, as `_insert` does
        ctx.session.flush()
    values["id"] = drawn
    prefix = f"ins_{table.name}_"  # named apart from every column and every other statement's parameters
    _with_event(ctx, _insert_given(table, tuple(values)), {prefix + name: value for name, value in values.items()})
    return drawn


_GIVEN: dict = {}


def _insert_given(table, names: tuple[str, ...]):
    """INSERT INTO table (<names>) VALUES (:ins_<table>_<name> …), built once per table and columns."""
    statement = _GIVEN.get((table, names))
    if statement is None:
        prefix = f"ins_{table.name}_"
        statement = _GIVEN[(table, names)] = insert(table).values(
            {name: bindparam(prefix + name, type_=table.c[name].type) for name in names})
    return statement


def _with_event(ctx, statement, params: dict) -> None:
    """A write the transition reads nothing back from. PostgreSQL: it travels with the audit event,
    in the event's statement (ctx.with_event: one round trip for all of them); its parameters are
    named apart from every column (a prefix per statement), as the event's own are. Elsewhere: now."""
    connection = ctx.session.connection()
    if connection.dialect.name == "postgresql":
        ctx.with_event.append((statement, params))
    else:
        connection.execute(statement, params)


def _attach_photos(ctx, photo_ids) -> None:
    """Bind the photos to this claim (they were checked to be the actor's own and free)."""
    if photo_ids:  # an ORM UPDATE: upload objects already in the session see it too
        ctx.session.execute(update(Upload).where(Upload.id.in_(photo_ids)).values(claim_id=ctx.claim.id))


@effect(writes=("task",))
def recount_task_slots(ctx) -> None:
    """The claim's task: its live claims recounted; it fills or reopens by its own trigger."""
    capacity.recount(ctx.session, ctx.task, ctx.live_states("claim"), cascade=ctx.cascade, actor=ctx.actor,
                     send=lambda statement, params: _with_event(ctx, statement, params))


@effect
def cancel_live_claims(ctx) -> None:
    """A task's cancel: every live claim on it is cancelled too, each by its own `cancel`
    trigger and event, with the task's reason. The task (the subject) is locked already;
    each claim is locked after it (the lock order)."""
    from ..models import Claim

    ids = ctx.session.scalars(
        select(Claim.id).where(Claim.task_id == ctx.task.id, Claim.state.in_(ctx.live_states("claim")))
        .order_by(Claim.id)).all()
    for claim_id in ids:
        ctx.cascade("claim", claim_id, "cancel", ctx.actor, {"reason": ctx.data["reason"]})
    ctx.task.slots_taken = 0


@effect(draws=("visits",))
def record_visit(ctx) -> None:
    photos = ctx.data.get("photos") or []
    ctx.claim.visit_count = (ctx.claim.visit_count or 0) + 1  # written with the state, in the claim's UPDATE
    ctx.recorded["visit_id"] = _insert_recorded(
        ctx, Visit,
        claim_id=ctx.claim.id,
        visited_at=ctx.data.get("time") or ctx.now,
        lat=ctx.data.get("lat"),
        lon=ctx.data.get("lon"),
        note=ctx.data.get("note") or "",
        photo_ids=photos,
        created_at=ctx.now,
    )
    _attach_photos(ctx, photos)


@effect(draws=("reports",))
def record_report(ctx) -> None:
    photos = ctx.data.get("photos") or []
    ctx.recorded["report_id"] = _insert_recorded(
        ctx, Report,
        claim_id=ctx.claim.id,
        summary=ctx.data["summary"],
        hours=ctx.data["hours"],
        households=ctx.data.get("households") or 0,
        photo_ids=photos,
        created_at=ctx.now,
    )
    _attach_photos(ctx, photos)


@effect
def remember_reason(ctx) -> None:
    """Keeps the reason on the subject (a claim's, a registration's `last_reason`)."""
    reason = ctx.data.get("reason")
    if reason:
        ctx.subject.last_reason = reason


@effect(draws=("points_entries",))
def award_points(ctx) -> None:
    ctx.recorded["points_entry_id"] = _insert_recorded(
        ctx, PointsEntry,
        member_id=ctx.claim.member_id,
        unit_id=ctx.claim.unit_id,
        claim_id=ctx.claim.id,
        points=ctx.task.points,
        kind="award",
        note=ctx.task.title[:200],
        created_at=ctx.now,
    )


@effect
def feedback_to_unit(ctx) -> None:
    """The record the member's home unit receives: hours and households from the last report
    (read by the INSERT itself: one statement, built once; on PostgreSQL sent with the event)."""
    _with_event(ctx, _feedback_insert(), {
        "fb_unit_id": ctx.claim.unit_id, "fb_member_id": ctx.claim.member_id, "fb_claim_id": ctx.claim.id,
        "fb_month": district_month(ctx.now), "fb_points": ctx.task.points, "fb_verified_by_id": ctx.actor.id,
        "fb_created_at": ctx.now})


_FEEDBACK: list = []


def _feedback_insert():
    """INSERT INTO unit_feedback … SELECT :fb_*, the last report's hours and households (0 without one)."""
    if not _FEEDBACK:
        reports = Report.__table__
        last_report = select(reports.c.hours, reports.c.households) \
            .where(reports.c.claim_id == bindparam("fb_claim_id", type_=Integer)) \
            .order_by(reports.c.id.desc()).limit(1).subquery()
        values = {
            "unit_id": bindparam("fb_unit_id", type_=Integer),
            "member_id": bindparam("fb_member_id", type_=Integer),
            "claim_id": bindparam("fb_claim_id", type_=Integer),
            "month": bindparam("fb_month", type_=String),
            "hours": func.coalesce(select(last_report.c.hours).scalar_subquery(), 0.0),
            "households": func.coalesce(select(last_report.c.households).scalar_subquery(), 0),
            "points": bindparam("fb_points", type_=Integer),
            "verified_by_id": bindparam("fb_verified_by_id", type_=Integer),
            "created_at": bindparam("fb_created_at", type_=DateTime),
        }
        _FEEDBACK.append(insert(UnitFeedback.__table__).from_select(list(values), select(*values.values())))
    return _FEEDBACK[0]
