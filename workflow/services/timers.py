"""The timers run: every loaded definition's timers, each done exactly once when due.

`flask --app wsgi timers run` (every minute, on every node; `expire-claims` is the same run
under its old name). For each definition version and each of its timers (in the order the
file writes them: a claim's expiry before its reminder, so an expired claim is not reminded):

1. find the subjects pinned to that version, in a state the timer watches, whose anchor (the
   deadline, the time they entered their state, …) ± the timer's offset has passed, and that
   have no firing of this timer for this anchor yet (`timer_firings`, one indexed NOT EXISTS);
2. for each, in its own write transaction: lock the subject the way its triggers do (the lock
   order), re-check all of the above under the lock, fire the timer's trigger through the
   engine (guards, effects, audit event, the trigger's own notifications) and/or write its
   notifications, and record the firing — all in that one transaction.

Exactly once, also with several nodes at once: on PostgreSQL a session advisory lock lets one
run work while the others skip; even without it, the re-check under the row lock and the
firing's unique key (timer, subject, anchor) let a second run find the work done (on SQLite
the immediate transaction serialises runs). Re-running does nothing new. A due time that moves
(a deadline changed, a new stay in the state) is a new anchor: the timer fires again for it.
A trigger whose guard refuses is recorded as refused, so it is not retried every minute.
"""
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import exists, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from .. import runtime
from ..clock import utcnow
from ..errors import NotFound, TransitionNotAllowed
from ..extensions import db
from ..models import SYSTEM, TimerFiring
from . import notifications, transitions
from .subjects import KINDS
from .tx import write_transaction

log = logging.getLogger("baodao.timers")

# The advisory lock's key: the same number the expiry run used, so an old expiry run and a
# new timers run (during a rolling upgrade) exclude each other too.
TIMERS_LOCK_KEY = 0x6261_6F64  # "baod"
BATCH = 500


@dataclass
class TimersResult:
    # (subject type, trigger) → how many the timers fired, e.g. ("claim", "expire").
    fired: Counter = field(default_factory=Counter)
    notified: int = 0  # notifications timers wrote (one per person)
    refused: int = 0  # due, but the trigger's guard said no (recorded; not retried)
    by_timer: Counter = field(default_factory=Counter)  # timer key → firings
    problems: list[str] = field(default_factory=list)
    skipped_locked: bool = False

    @property
    def firings(self) -> int:
        return sum(self.by_timer.values())


def timer_key(definition, timer) -> str:
    return f"{definition.label}:{timer.name}"


def _candidates(session, definition, timer, kind, now, limit):
    model = kind.model
    anchor, joins = kind.anchor(timer.anchor)
    state = getattr(model, definition.subject_spec.state_attribute)
    done = exists().where(TimerFiring.timer == timer_key(definition, timer),
                          TimerFiring.subject_type == definition.subject, TimerFiring.subject_id == model.id,
                          TimerFiring.anchor_at == anchor)
    query = select(model.id, anchor).select_from(model)
    for target, on in joins:
        query = query.join(target, on)
    query = query.where(model.definition_name == definition.name, model.definition_version == definition.version,
                        state.in_(timer.states), anchor.is_not(None), anchor <= now - timer.offset, ~done)
    return session.execute(query.order_by(anchor, model.id).limit(limit)).all()


def _record(session, definition, timer, subject_id, anchor_at, now, outcome) -> None:
    session.execute(insert(TimerFiring.__table__).values(
        timer=timer_key(definition, timer), subject_type=definition.subject, subject_id=subject_id,
        anchor_at=anchor_at, due_at=anchor_at + timer.offset, fired_at=now, outcome=outcome[:128]))


def _fire_one(definition, timer, kind, subject_id, anchor_at, now, request_id) -> tuple[str, int]:
    """Do one timer for one subject in one transaction: ("fired" | "not due" | "done", notified)."""
    rt = runtime.current()
    writes = rt.registry.writes(definition.subject, timer.fire) if timer.fire else set()
    with write_transaction() as session:
        try:
            locked = kind.lock(session, SYSTEM, subject_id, writes)
        except NotFound:
            return "not due", 0
        row, related = locked.subject, locked.related
        # Re-checked under the lock: the same version, a watched state, the same anchor, due.
        anchor_now = kind.anchor_value(row, related, timer.anchor)
        if (kind.pinned(row) != definition.key or kind.state_of(row) not in timer.states or anchor_now is None
                or anchor_now != anchor_at or anchor_now + timer.offset > now):
            return "not due", 0
        already = session.scalar(select(TimerFiring.id).where(
            TimerFiring.timer == timer_key(definition, timer), TimerFiring.subject_type == definition.subject,
            TimerFiring.subject_id == subject_id, TimerFiring.anchor_at == anchor_at))
        if already is not None:
            return "done", 0
        if timer.fire:
            compiled = rt.registry.get(*definition.key)
            trigger = definition.trigger(timer.fire)
            data = transitions.validate(compiled, trigger, {}, category=kind.category(row, related), now=now)
            transitions.step(session, definition.subject, compiled, trigger, row, related, SYSTEM, data, now=now,
                             request_id=request_id, head=(row.version, locked.head_hash),
                             recorded={"timer": timer.name})
        written = []
        if timer.notify:
            written = notifications.notify(session, timer.notify, subject_type=definition.subject, row=row,
                                           related=related, actor=SYSTEM, now=now, timer=timer)
        _record(session, definition, timer, subject_id, anchor_at, now, "fired")
    return "fired", len(written)


def _refused(definition, timer, subject_id, anchor_at, now, reason) -> bool:
    """Record that the trigger's guard refused, so the run does not try again every minute."""
    try:
        with write_transaction() as session:
            _record(session, definition, timer, subject_id, anchor_at, now, f"refused: {reason}")
    except IntegrityError:  # another run recorded it first
        db.session.rollback()
        return False
    return True


def _run_timer(definition, timer, kind, now, request_id, result: TimersResult, progress) -> None:
    seen: set[tuple[int, object]] = set()
    while True:
        candidates = _candidates(db.session, definition, timer, kind, now, BATCH)
        db.session.rollback()  # end the read before the writes (SQLite: BEGIN IMMEDIATE comes first)
        fresh = [(i, a) for i, a in candidates if (i, a) not in seen]
        for subject_id, anchor_at in fresh:
            seen.add((subject_id, anchor_at))
            try:
                outcome, notified = _fire_one(definition, timer, kind, subject_id, anchor_at, now, request_id)
            except TransitionNotAllowed as exc:
                db.session.rollback()
                if _refused(definition, timer, subject_id, anchor_at, now, exc.reason or exc.message):
                    result.refused += 1
                continue
            except IntegrityError:  # a concurrent run recorded this firing first: its work stands
                db.session.rollback()
                continue
            if outcome == "fired":
                result.by_timer[timer_key(definition, timer)] += 1
                if timer.fire:
                    result.fired[(definition.subject, timer.fire)] += 1
                result.notified += notified
                if progress is not None:
                    progress(1)
        if not fresh or len(candidates) < BATCH:
            return


def run(*, now=None, request_id: str | None = None, progress=None) -> TimersResult:
    """Fire every due timer of every loaded definition, exactly once."""
    now = now or utcnow()
    result = TimersResult()
    lock_conn = None
    if db.engine.dialect.name == "postgresql":
        lock_conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not lock_conn.scalar(select(func.pg_try_advisory_lock(TIMERS_LOCK_KEY))):
            lock_conn.close()
            result.skipped_locked = True
            return result
    try:
        for compiled in runtime.registry().all():
            definition = compiled.definition
            if not definition.timers:
                continue
            kind = KINDS.get(definition.subject)
            if kind is None:
                result.problems.append(f"{definition.label}: no subject kind '{definition.subject}' is registered "
                                       "(services/subjects.py); its timers did not run")
                continue
            for timer in definition.timers:
                _run_timer(definition, timer, kind, now, request_id, result, progress)
    finally:
        if lock_conn is not None:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": TIMERS_LOCK_KEY})
            lock_conn.close()
    for problem in result.problems:
        log.warning(problem)
    return result
