"""The hash-chained audit log: append, verify, checkpoint.

Every subject (a task or a claim) has its own chain. An event's hash is
    sha256(prev_hash ‖ canonical JSON of the event's fields)
where prev_hash is the hash of the subject's previous event ("" for the first). The
event is written in the same transaction as the change it records, while the subject's
row is locked, so a chain never forks.

Verification recomputes every hash and checks each chain is gap-free from seq 1; it
also checks that every task and claim has a chain at all, and that every head recorded
in the latest checkpoint is still there — so deleting a whole chain shows too.
"""
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from .clock import iso, utcnow
from .models import AuditEvent, Checkpoint, Claim, Task

HASHED_FIELDS = (
    "subject_type", "subject_id", "seq", "trigger", "from_state", "to_state", "actor_id",
    "actor_role", "created_at", "payload", "request_id", "definition",
)


def _default(value):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_jsonable(value):
    """The validated input as plain JSON types (datetimes as ISO text), as it is stored."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def compute_hash(fields: dict, prev_hash: str | None) -> str:
    body = canonical_json({name: fields[name] for name in HASHED_FIELDS})
    return hashlib.sha256(((prev_hash or "") + body).encode("utf-8")).hexdigest()


def append(session, *, subject_type: str, subject_id: int, trigger: str, from_state: str | None,
           to_state: str | None, actor, payload: dict | None = None, request_id: str | None = None,
           definition: str | None = None, now: datetime | None = None) -> AuditEvent:
    """Add the next event to a subject's chain. The caller holds the subject's row lock."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, None)
    fields = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "seq": seq,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "created_at": iso(now or utcnow()),
        "payload": to_jsonable(payload or {}),
        "request_id": request_id,
        "definition": definition,
    }
    event = AuditEvent(
        **{**fields, "created_at": now or utcnow()}, prev_hash=prev_hash, hash=compute_hash(fields, prev_hash)
    )
    session.add(event)
    return event


def _row_fields(row) -> dict:
    return {
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "seq": row.seq,
        "trigger": row.trigger,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "created_at": iso(row.created_at),
        "payload": row.payload if not isinstance(row.payload, str) else json.loads(row.payload),
        "request_id": row.request_id,
        "definition": row.definition,
    }


@dataclass
class Problem:
    subject: str
    seq: int | None
    event_id: int | None
    what: str

    def __str__(self) -> str:
        where = f" event {self.event_id} (seq {self.seq})" if self.event_id is not None else ""
        return f"{self.subject}{where}: {self.what}"


@dataclass
class VerifyResult:
    checked: int = 0
    subjects: int = 0
    problems: list[Problem] = field(default_factory=list)
    head: str | None = None  # the last hash seen (for a single subject: its head)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def parse_subject(subject: str) -> tuple[str, int]:
    kind, _, ident = subject.partition(":")
    if kind not in ("task", "claim") or not ident.isdigit():
        raise ValueError(f"subject must look like claim:12 or task:3, not {subject!r}")
    return kind, int(ident)


def verify(session, subject: str | None = None, checkpoint: dict | None = None,
           progress=None, batch: int = 10_000) -> VerifyResult:
    """Recompute every chain (or one subject's). `checkpoint` is a heads mapping
    ({"claim:1": [seq, hash]}) to compare against; by default the latest stored one."""
    cols = [AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash] + [
        getattr(AuditEvent, name) for name in HASHED_FIELDS
    ]
    query = select(*cols).order_by(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.seq)
    if subject:
        kind, ident = parse_subject(subject)
        query = query.where(AuditEvent.subject_type == kind, AuditEvent.subject_id == ident)

    if checkpoint is None and subject is None:
        latest = session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))
        checkpoint = latest.heads if latest else None
    # The hash each checkpointed chain had at the checkpoint's seq, collected during the scan.
    wanted = {key: seq for key, (seq, _) in (checkpoint or {}).items()}
    at_checkpoint: dict[str, str] = {}

    result = VerifyResult()
    heads: dict[str, tuple[int, str]] = {}
    current, expected_seq, prev = None, 1, None
    rows = session.execute(query.execution_options(yield_per=batch))
    for row in rows:
        key = f"{row.subject_type}:{row.subject_id}"
        if key != current:
            current, expected_seq, prev = key, 1, None
            result.subjects += 1
        fields = _row_fields(row)
        if row.seq != expected_seq:
            what = "missing events before this one" if row.seq > expected_seq else "duplicate sequence number"
            result.problems.append(Problem(key, row.seq, row.id, f"{what} (expected seq {expected_seq})"))
        elif row.prev_hash != prev:
            result.problems.append(Problem(key, row.seq, row.id, "previous-hash link broken (deleted or reordered)"))
        elif compute_hash(fields, row.prev_hash) != row.hash:
            result.problems.append(Problem(key, row.seq, row.id, "contents altered: hash does not match"))
        expected_seq, prev = row.seq + 1, row.hash
        heads[key] = (row.seq, row.hash)
        if wanted.get(key) == row.seq:
            at_checkpoint[key] = row.hash
        result.checked += 1
        result.head = row.hash
        if progress is not None:
            progress(1)

    _check_subjects_have_chains(session, subject, heads, result)
    if checkpoint:
        _check_against_checkpoint(checkpoint, heads, at_checkpoint, subject, result)
    return result


def _check_subjects_have_chains(session, subject, heads, result) -> None:
    """A task or claim without any event means its whole chain was deleted."""
    for kind, model in (("task", Task), ("claim", Claim)):
        if subject:
            s_kind, ident = parse_subject(subject)
            if s_kind != kind:
                continue
            ids = session.scalars(select(model.id).where(model.id == ident))
        else:
            ids = session.scalars(select(model.id).order_by(model.id).execution_options(yield_per=50_000))
        for ident in ids:
            key = f"{kind}:{ident}"
            if key not in heads:
                result.problems.append(Problem(key, None, None, "has no events: its chain was deleted"))


def _check_against_checkpoint(checkpoint, heads, at_checkpoint, subject, result) -> None:
    for key, (seq, digest) in checkpoint.items():
        if subject and key != subject:
            continue
        if key not in heads:
            result.problems.append(Problem(key, seq, None, "chain recorded in the checkpoint is gone"))
        elif heads[key][0] < seq:
            result.problems.append(
                Problem(key, seq, None, f"chain is shorter than the checkpoint (head seq {heads[key][0]})")
            )
        elif at_checkpoint.get(key) != digest:
            result.problems.append(Problem(key, seq, None, "event recorded in the checkpoint was rewritten"))


def chain_heads(session) -> dict[str, list]:
    """Every subject's last (seq, hash)."""
    last = (
        select(AuditEvent.subject_type, AuditEvent.subject_id, func.max(AuditEvent.seq).label("seq"))
        .group_by(AuditEvent.subject_type, AuditEvent.subject_id)
        .subquery()
    )
    rows = session.execute(
        select(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.seq, AuditEvent.hash).join(
            last,
            (AuditEvent.subject_type == last.c.subject_type)
            & (AuditEvent.subject_id == last.c.subject_id)
            & (AuditEvent.seq == last.c.seq),
        )
    )
    return {f"{r.subject_type}:{r.subject_id}": [r.seq, r.hash] for r in rows}


def checkpoint_digest(heads: dict) -> str:
    return hashlib.sha256(canonical_json(heads).encode("utf-8")).hexdigest()


def make_checkpoint(session) -> Checkpoint:
    """Record all chain heads. The caller commits; export `heads` + `digest` off-database."""
    heads = chain_heads(session)
    point = Checkpoint(
        created_at=utcnow(),
        subjects=len(heads),
        events=sum(seq for seq, _ in heads.values()),
        heads=heads,
        digest=checkpoint_digest(heads),
    )
    session.add(point)
    return point
