"""The audit log: an append-only, hash-chained table of events, and checkpoints.

Each subject (a task or a claim) has its own chain: event `seq` n carries the hash of
event n-1 of the same subject. The database refuses UPDATE and DELETE on this table
(triggers created by the migration); `workflow.audit` computes and verifies the hashes.
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "seq", name="uq_audit_events_subject_seq"),
        Index("ix_audit_events_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # "task" | "claim"
    subject_id: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column()  # 1, 2, 3 … within the subject
    trigger: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column()  # None for the system
    actor_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # the validated input
    request_id: Mapped[str | None] = mapped_column(String(64))
    definition: Mapped[str | None] = mapped_column(String(80))  # "dual_reporting@1"
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def subject(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"


class Checkpoint(db.Model):
    """A snapshot of every chain head: a deleted chain or a truncated one shows against it.

    `heads` maps "claim:12" → [seq, hash]; `digest` is the sha256 over the canonical heads,
    so a checkpoint exported outside the database can be compared with a later state.
    """

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    subjects: Mapped[int] = mapped_column()
    events: Mapped[int] = mapped_column()
    heads: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
