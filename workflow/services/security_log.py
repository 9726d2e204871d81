"""The security log (等保 2.0 安全审计): administrators' actions and every export or download of
personal data, as events on hash chains of their own in the audit log.

**Decision: one chain per actor.** Events have `subject_type = "admin"` and `subject_id` = the
acting user's id (0 for the command line and the system, which have no user). Why per actor:
- the log is read by actor first ("what did this administrator do?"), and a chain per actor answers
  that from one index range;
- appending needs the chain's head under a lock; per actor that lock is the actor's own (two
  administrators never wait on each other), while one chain per day would make every
  administrator and every export in the district queue on one lock;
- `verify-chain` and checkpoints already walk every chain whatever its subject type, so the
  security log is verified, checkpointed and exported (signed) with the rest; a tampered event
  shows as `admin:<actor id>` with its seq.
A day's events are found by the time index instead (`search`).

The event is written in the same transaction as the change it records (a user created and its
event commit together, or neither). Exports are reads: their event is written in its own
transaction just before the file is streamed, so a download that was recorded may still have
been cut off — never the other way round.

What goes in: the action, the actor and role, the time, the request id, and a payload naming the
target (user id and username) and what changed (old → new for role, unit, community, scope,
name, active; `password_reset: true`; how many tokens and sessions were ended). Never a password
or a hash. Events are append-only like every audit event: retention never deletes them
(docs/security.md).
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from .. import audit
from ..models import AuditEvent, User

SUBJECT_TYPE = "admin"
SYSTEM_CHAIN = 0  # the command line and scheduled work: no user
# An arbitrary constant: the first half of PostgreSQL's two-part advisory lock key for these chains.
ADVISORY_LOCK_CLASS = 7_316_001

# Every action the log records (change_password: a person setting their own password, on their
# own chain — after an administrator's reset it closes what the reset opened) (the pages label them; see api/pages/admin.py).
ACTIONS = (
    "create_user", "edit_user", "change_role", "change_scope", "reset_password", "deactivate_user",
    "reactivate_user", "end_sessions", "import_users", "export", "download_feedback", "read_feedback",
    "load_demo", "review_flag", "change_password",
)


@dataclass(frozen=True)
class Actor:
    """An actor as a plain value (for work handed to another thread, away from its session)."""

    id: int | None
    role: str


def chain_id(actor) -> int:
    return getattr(actor, "id", None) or SYSTEM_CHAIN


def _lock_chain(session, subject_id: int) -> None:
    """Hold the chain's lock for the rest of the transaction, so two appends never fork it.
    PostgreSQL: a transaction-scoped advisory lock per chain. SQLite: the write transaction is
    BEGIN IMMEDIATE, so it already excludes every other writer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": ADVISORY_LOCK_CLASS, "b": subject_id})


def record(session, actor, action: str, *, target: User | None = None, details: dict | None = None,
           request_id: str | None = None, now: datetime | None = None) -> dict:
    """Append one event to the actor's security chain, inside the caller's write transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown security-log action {action!r}")
    subject_id = chain_id(actor)
    _lock_chain(session, subject_id)
    payload = dict(details or {})
    if target is not None:
        payload["target"] = {"id": target.id, "username": target.username}
    return audit.append(session, subject_type=SUBJECT_TYPE, subject_id=subject_id, trigger=action,
                        from_state=None, to_state=None, actor=actor, payload=payload, request_id=request_id,
                        now=now)


def record_export(actor, action: str, details: dict, *, request_id: str | None = None) -> None:
    """An export or download of personal data (claims, events, a unit's feedback), in its own
    transaction, before the data is sent."""
    from .tx import write_transaction

    with write_transaction() as session:
        record(session, actor, action, details=details, request_id=request_id)


def search(session, *, actor: str | None = None, action: str | None = None, start: datetime | None = None,
           end: datetime | None = None, page: int = 1, per_page: int = 50) -> tuple[list, int]:
    """Security-log events, newest first, filtered by actor (username, or "system"), action and time
    ([start, end), naive UTC). Returns (rows of (event, actor username or None), total)."""
    query = select(AuditEvent).where(AuditEvent.subject_type == SUBJECT_TYPE)
    if actor:
        if actor.strip().lower() == "system":
            query = query.where(AuditEvent.subject_id == SYSTEM_CHAIN)
        else:
            from ..identity import username_key
            ids = select(User.id).where(User.username_key == username_key(actor))
            query = query.where(AuditEvent.subject_id.in_(ids))
    if action:
        query = query.where(AuditEvent.trigger == action)
    if start is not None:
        query = query.where(AuditEvent.created_at >= start)
    if end is not None:
        query = query.where(AuditEvent.created_at < end)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.add_columns(User.username).outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return [(event, username) for event, username in rows], total
