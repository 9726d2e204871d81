"""The retention run (`flask --app wsgi retention run`, daily): erase personal texts whose
retention period has ended. The periods are the app's policy (workflow/runtime.Retention, set
by BAODAO_RETENTION_*_DAYS); why these defaults is docs/privacy.md.

Rules, each applied in batches of rows, one transaction per batch:
- **household notes**: `household_note_days` (90) after the task ended. A task ends at its
  deadline, or earlier when it is closed or cancelled (then at its last change, the close or
  cancel); never while a claim on it is live — a member still visiting, or staff still
  verifying, may need it. The note's text becomes "" and `erased_at` is set.
- **claim records**: `record_days` (3 years) after the claim ended (reached a final state: its
  last change). Visits' notes and locations, reports' summaries, the claim's last reason, its
  photos (rows marked, files deleted unless an unerased upload shares the bytes), and every
  personal field of its audit events (services below). Hours, households, points and the
  unit's feedback stay: they are the record of the work, not personal text.
- **task records**: `record_days` after the task ended: the personal fields of its events (a
  cancel's reason).
- **project records**: `record_days` after the project ended (done or cancelled: its last
  change). Progress and completion reports' texts and the names of the members who took part,
  the project's last reason, its photos, and every personal field of its events. The member
  count, hours and dates stay (the record of the unit's work).
- **pairing records**: `record_days` after the pairing ended (declined, withdrawn, ended or
  lapsed): its last reason and the personal fields of its events (reasons, comments). The
  agreement (共建内容) is the two organisations' text, not personal: it stays.
- **resource contacts**: `record_days` after a resource line was retired: its contact, and the
  personal fields of its events (the contact it was given).
- **stored idempotent answers**: `idempotency_days` (30) after they were stored (they may hold
  a claim's last reason; they exist for retries, not as records).

An event's personal field is erased by recording the erasure (`audit_erasures`: what, when,
why, by which run) and deleting its value and salt (`audit_personal_values`); the digest stays
in the hashed payload, so verify-chain still verifies and counts it as erased. An event written
before personal fields were kept apart holds the text inside its hashed payload, which cannot
change without breaking the chain: its fields are recorded as *withheld* and no page, answer or
export shows them again (PIPL art. 47: where deletion is technically impossible, stop all
processing except storage and protection).

Safe to run on every node at the same moment, and to re-run: on PostgreSQL an advisory lock
lets one run work while the others skip; each batch locks its rows and re-checks that they are
due and not yet erased, so two runs that both proceed (or a run after a crash) erase each text
once. A second run the same day finds nothing to do.

A new subject kind with personal fields (a registration, say) adds one rule: a function that
lists its due ids and one that erases a batch, calling `erase_events` for its chain.
"""
import logging
import socket
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update

from .. import runtime
from ..audit import digest_of
from ..clock import iso, utcnow
from ..errors import DefinitionError
from ..extensions import db
from ..models import (AuditErasure, AuditEvent, AuditPersonalValue, Claim, HouseholdNote, IdempotencyKey, Pairing,
                      Project, ProjectReport, Report, RetentionRun, Task, UnitResource, Upload, Visit)
from ..models.personal import ERASED, WITHHELD
from .tx import write_transaction
from .uploads import storage_path

log = logging.getLogger("baodao.retention")

# An arbitrary constant naming this job's advisory lock on PostgreSQL ("baor").
RETENTION_LOCK_KEY = 0x6261_6F72
BATCH = 200


@dataclass
class RunResult:
    run_id: int | None = None
    skipped_locked: bool = False
    household_notes: int = 0
    claims: int = 0
    visits: int = 0
    reports: int = 0
    photos: int = 0
    photo_files: int = 0  # files deleted (several uploads may share one)
    tasks: int = 0
    projects: int = 0
    project_reports: int = 0
    pairings: int = 0
    resources: int = 0
    fields_erased: int = 0  # personal fields of events: values deleted, erasure recorded
    fields_withheld: int = 0  # personal fields of older events, inside their hashed payload
    idempotency_keys: int = 0

    def counts(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("run_id", "skipped_locked")}

    @property
    def nothing_done(self) -> bool:
        return not any(self.counts().values())


# -- what is due ------------------------------------------------------------------------------

def _live_claim_states() -> tuple[str, ...]:
    return runtime.registry().live_states("claim")


def _ended_claim_states() -> tuple[str, ...]:
    """Final in some loaded claim version and live in none (a state only another version has
    still holds its slot; docs/workflow.md)."""
    registry, live = runtime.registry(), set(_live_claim_states())
    return tuple(sorted({s for c in registry.all("claim") for s in c.definition.final_states} - live))


def _ended_task_statuses() -> tuple[str, ...]:
    return tuple(sorted({s for c in runtime.registry().all("task") for s in c.definition.final_states}))


def _task_ended_before(cutoff: datetime):
    """The task ended at or before `cutoff` (its deadline, or its close/cancel) and no claim on it is live."""
    ended = or_(Task.deadline <= cutoff, and_(Task.status.in_(_ended_task_statuses()), Task.updated_at <= cutoff))
    live = exists(select(Claim.id).where(Claim.task_id == Task.id, Claim.state.in_(_live_claim_states())))
    return and_(ended, ~live)


def _claim_ended_before(cutoff: datetime):
    return and_(Claim.state.in_(_ended_claim_states()), Claim.updated_at <= cutoff)


# -- erasing the personal fields of a subject's events -----------------------------------------

def _personal_fields(definition: str | None, trigger: str, cache: dict) -> tuple[str, ...]:
    """The fields the event's definition marks personal (for events written before they were kept apart)."""
    key = (definition, trigger)
    if key not in cache:
        found: tuple[str, ...] = ()
        name, _, version = (definition or "").partition("@")
        if version.isdigit():
            try:
                spec = runtime.registry().get(name, int(version)).definition.trigger(trigger)
            except DefinitionError:  # a definition no longer loaded: nothing is known of its fields
                spec = None
            found = spec.personal_fields if spec is not None else ()
        cache[key] = found
    return cache[key]


def erase_events(session, subject_type: str, subject_ids: list[int], *, run_id: int | None, now: datetime,
                 reason: str) -> tuple[int, int]:
    """Erase every personal field of these subjects' events, inside the caller's transaction
    (which holds the subjects' locks): record each erasure first, then delete the value — the
    database refuses the deletion otherwise. Fields of older events, whose text is inside the
    hashed payload, are recorded as withheld. Returns (erased, withheld)."""
    if not subject_ids:
        return 0, 0
    rows = session.execute(select(AuditEvent.id, AuditEvent.trigger, AuditEvent.definition, AuditEvent.payload)
                           .where(AuditEvent.subject_type == subject_type,
                                  AuditEvent.subject_id.in_(subject_ids))).all()
    already = {tuple(r) for r in session.execute(select(AuditErasure.event_id, AuditErasure.field)
                                                 .where(AuditErasure.event_id.in_([r.id for r in rows])))} \
        if rows else set()
    records, values, cache = [], [], {}
    for event_id, trigger, definition, payload in rows:
        for name, stored in (payload or {}).items():
            if (event_id, name) in already:
                continue
            if digest_of(stored) is not None:
                kind = ERASED
                values.append({"e_id": event_id, "f_name": name})
            elif stored is not None and name in _personal_fields(definition, trigger, cache):
                kind = WITHHELD
            else:
                continue
            records.append({"event_id": event_id, "field": name, "kind": kind, "erased_at": now,
                            "reason": reason[:200], "run_id": run_id})
    if records:
        session.execute(insert(AuditErasure.__table__), records)
    if values:
        table = AuditPersonalValue.__table__
        session.execute(delete(table).where(table.c.event_id == bindparam("e_id"), table.c.field == bindparam("f_name")),
                        values)
    return len(values), len(records) - len(values)


# -- the rules --------------------------------------------------------------------------------

def _batches(due_query, key_column):
    """Ids the due query finds, BATCH at a time, in key order (each batch past the last one seen,
    so a row a batch skipped on re-checking is not offered again in this run)."""
    after = 0
    while True:
        ids = list(db.session.scalars(due_query.where(key_column > after).order_by(key_column).limit(BATCH)))
        db.session.rollback()  # end the read: each batch is its own write transaction
        if not ids:
            return
        yield ids
        after = ids[-1]


def _lock_then_recheck(session, model, ids, condition) -> list[int]:
    """Lock the rows (in id order), then re-read which of them are still due: a fresh statement
    after the locks, so it sees whatever committed before them."""
    session.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update())
    return list(session.scalars(select(model.id).where(model.id.in_(ids), condition).order_by(model.id)))


def _household_notes(result: RunResult, periods, now: datetime) -> None:
    cutoff = now - timedelta(days=periods.household_note_days)
    due = (select(HouseholdNote.task_id).join(Task, Task.id == HouseholdNote.task_id)
           .where(HouseholdNote.erased_at.is_(None), _task_ended_before(cutoff)))
    for ids in _batches(due, HouseholdNote.task_id):
        with write_transaction() as session:
            tasks = _lock_then_recheck(session, Task, ids, _task_ended_before(cutoff))
            if tasks:
                result.household_notes += session.execute(
                    update(HouseholdNote).where(HouseholdNote.task_id.in_(tasks), HouseholdNote.erased_at.is_(None))
                    .values(note="", erased_at=now)).rowcount


def _claim_records(result: RunResult, periods, now: datetime, run_id: int) -> None:
    cutoff = now - timedelta(days=periods.record_days)
    condition = and_(Claim.erased_at.is_(None), _claim_ended_before(cutoff))
    reason = f"retention: claim records are kept {periods.record_days} days after the claim ended"
    for ids in _batches(select(Claim.id).where(condition), Claim.id):
        with write_transaction() as session:
            claims = _lock_then_recheck(session, Claim, ids, condition)
            if not claims:
                continue
            result.visits += session.execute(
                update(Visit).where(Visit.claim_id.in_(claims), Visit.erased_at.is_(None))
                .values(note="", lat=None, lon=None, erased_at=now)).rowcount
            result.reports += session.execute(
                update(Report).where(Report.claim_id.in_(claims), Report.erased_at.is_(None))
                .values(summary="", erased_at=now)).rowcount
            photos = set(session.scalars(select(Upload.sha256).where(Upload.claim_id.in_(claims),
                                                                     Upload.erased_at.is_(None))))
            result.photos += session.execute(
                update(Upload).where(Upload.claim_id.in_(claims), Upload.erased_at.is_(None))
                .values(erased_at=now)).rowcount
            # Not updated_at or version: erasing is not a change of the claim's process.
            session.execute(update(Claim).where(Claim.id.in_(claims)).values(last_reason=None, erased_at=now))
            erased, withheld = erase_events(session, "claim", claims, run_id=run_id, now=now, reason=reason)
            still_shown = set(session.scalars(select(Upload.sha256).where(
                Upload.sha256.in_(photos), Upload.erased_at.is_(None)))) if photos else set()
        result.claims += len(claims)
        result.fields_erased += erased
        result.fields_withheld += withheld
        result.photo_files += _delete_files(photos - still_shown)


def _delete_files(digests: set[str]) -> int:
    """After the commit: the files of erased photos that no unerased upload shares. A file that
    cannot be deleted is logged; its upload is erased all the same (no page or answer serves it)."""
    deleted = 0
    for digest in sorted(digests):
        path = storage_path(runtime.current().upload_dir, digest)
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.error("retention: could not delete the erased photo file %s: %s", path, exc)
    return deleted


def _task_records(result: RunResult, periods, now: datetime, run_id: int) -> None:
    cutoff = now - timedelta(days=periods.record_days)
    condition = and_(Task.erased_at.is_(None), _task_ended_before(cutoff))
    reason = f"retention: task records are kept {periods.record_days} days after the task ended"
    for ids in _batches(select(Task.id).where(condition), Task.id):
        with write_transaction() as session:
            tasks = _lock_then_recheck(session, Task, ids, condition)
            if not tasks:
                continue
            erased, withheld = erase_events(session, "task", tasks, run_id=run_id, now=now, reason=reason)
            session.execute(update(Task).where(Task.id.in_(tasks)).values(erased_at=now))
        result.tasks += len(tasks)
        result.fields_erased += erased
        result.fields_withheld += withheld


def _final_states(subject: str) -> tuple[str, ...]:
    return tuple(sorted({s for c in runtime.registry().all(subject) for s in c.definition.final_states}))


def _project_records(result: RunResult, periods, now: datetime, run_id: int) -> None:
    cutoff = now - timedelta(days=periods.record_days)
    condition = and_(Project.erased_at.is_(None), Project.state.in_(_final_states("project")),
                     Project.updated_at <= cutoff)
    reason = f"retention: project records are kept {periods.record_days} days after the project ended"
    for ids in _batches(select(Project.id).where(condition), Project.id):
        with write_transaction() as session:
            done = _lock_then_recheck(session, Project, ids, condition)
            if not done:
                continue
            result.project_reports += session.execute(
                update(ProjectReport).where(ProjectReport.project_id.in_(done), ProjectReport.erased_at.is_(None))
                .values(text="", members="", erased_at=now)).rowcount
            photos = set(session.scalars(select(Upload.sha256).where(Upload.project_id.in_(done),
                                                                     Upload.erased_at.is_(None))))
            result.photos += session.execute(
                update(Upload).where(Upload.project_id.in_(done), Upload.erased_at.is_(None))
                .values(erased_at=now)).rowcount
            session.execute(update(Project).where(Project.id.in_(done)).values(last_reason=None, erased_at=now))
            erased, withheld = erase_events(session, "project", done, run_id=run_id, now=now, reason=reason)
            still_shown = set(session.scalars(select(Upload.sha256).where(
                Upload.sha256.in_(photos), Upload.erased_at.is_(None)))) if photos else set()
        result.projects += len(done)
        result.fields_erased += erased
        result.fields_withheld += withheld
        result.photo_files += _delete_files(photos - still_shown)


def _pairing_records(result: RunResult, periods, now: datetime, run_id: int) -> None:
    cutoff = now - timedelta(days=periods.record_days)
    condition = and_(Pairing.erased_at.is_(None), Pairing.state.in_(_final_states("pairing")),
                     Pairing.updated_at <= cutoff)
    reason = f"retention: pairing records are kept {periods.record_days} days after the pairing ended"
    for ids in _batches(select(Pairing.id).where(condition), Pairing.id):
        with write_transaction() as session:
            ended = _lock_then_recheck(session, Pairing, ids, condition)
            if not ended:
                continue
            session.execute(update(Pairing).where(Pairing.id.in_(ended)).values(last_reason=None, erased_at=now))
            erased, withheld = erase_events(session, "pairing", ended, run_id=run_id, now=now, reason=reason)
        result.pairings += len(ended)
        result.fields_erased += erased
        result.fields_withheld += withheld


def _resource_contacts(result: RunResult, periods, now: datetime, run_id: int) -> None:
    cutoff = now - timedelta(days=periods.record_days)
    condition = and_(UnitResource.erased_at.is_(None), UnitResource.retired_at.is_not(None),
                     UnitResource.retired_at <= cutoff)
    reason = f"retention: a retired resource's contact is kept {periods.record_days} days"
    for ids in _batches(select(UnitResource.id).where(condition), UnitResource.id):
        with write_transaction() as session:
            retired = _lock_then_recheck(session, UnitResource, ids, condition)
            if not retired:
                continue
            session.execute(update(UnitResource).where(UnitResource.id.in_(retired)).values(contact="", erased_at=now))
            erased, withheld = erase_events(session, "resource", retired, run_id=run_id, now=now, reason=reason)
        result.resources += len(retired)
        result.fields_erased += erased
        result.fields_withheld += withheld


def _idempotency_keys(result: RunResult, periods, now: datetime) -> None:
    cutoff = now - timedelta(days=periods.idempotency_days)
    for ids in _batches(select(IdempotencyKey.id).where(IdempotencyKey.created_at <= cutoff), IdempotencyKey.id):
        with write_transaction() as session:
            result.idempotency_keys += session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids), IdempotencyKey.created_at <= cutoff)
            ).rowcount


# -- the run ------------------------------------------------------------------------------------

def run(*, now: datetime | None = None, node: str | None = None) -> RunResult:
    """Apply every retention rule once, as of `now` (tests move it). Records the run
    (`retention_runs`) with its periods and counts."""
    simulated = now is not None
    now = now or utcnow()
    periods = runtime.current().policy.retention
    result = RunResult()
    lock_conn = None
    if db.engine.dialect.name == "postgresql":
        lock_conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not lock_conn.scalar(select(func.pg_try_advisory_lock(RETENTION_LOCK_KEY))):
            lock_conn.close()
            result.skipped_locked = True
            return result
    try:
        with write_transaction() as session:
            record = RetentionRun(started_at=now, node=(node or socket.gethostname())[:128], counts={},
                                  settings={"household_note_days": periods.household_note_days,
                                            "record_days": periods.record_days,
                                            "idempotency_days": periods.idempotency_days})
            session.add(record)
            session.flush()
            result.run_id = record.id
        _household_notes(result, periods, now)
        _claim_records(result, periods, now, result.run_id)
        _task_records(result, periods, now, result.run_id)
        _project_records(result, periods, now, result.run_id)
        _pairing_records(result, periods, now, result.run_id)
        _resource_contacts(result, periods, now, result.run_id)
        _idempotency_keys(result, periods, now)
        with write_transaction() as session:
            session.execute(update(RetentionRun).where(RetentionRun.id == result.run_id)
                            .values(finished_at=now if simulated else utcnow(), counts=result.counts()))
    finally:
        if lock_conn is not None:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": RETENTION_LOCK_KEY})
            lock_conn.close()
    log.info("retention run %s at %s: %s", result.run_id, iso(now), result.counts())
    return result
