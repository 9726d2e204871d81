"""Personal fields of audit events, kept apart from the hash chain, and their erasure.

An event's hashed payload holds, for each field its definition marks `personal: true`, only
`{"personal": "<sha256(salt ‖ value)>"}`; the value itself and its salt live here, one row per
(event, field). Erasing a value under the retention rules deletes its row and records the
erasure (what, when, why, by which run) in `audit_erasures`; verify-chain then tells an erased
field (no value, an erasure record) from an altered one (a value whose digest does not match,
or no value and no record). See workflow/audit.py and docs/privacy.md.

The database protects these tables as it protects the log: a stored value is never updated,
and deleted only once its erasure is recorded; erasure records are never changed or deleted
(triggers from migration 0009). There is deliberately no foreign key to `audit_events`:
the log is checked by recomputation (verify-chain), not by constraints, and a foreign key
would only turn a superuser's deletion of an event into an error instead of the gap in its
chain that verify-chain names.
"""
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class AuditPersonalValue(db.Model):
    __tablename__ = "audit_personal_values"

    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[str] = mapped_column(String(32))  # 16 random bytes as hex
    value: Mapped[str] = mapped_column(Text)  # the value's canonical JSON text, exactly as digested


class RetentionRun(db.Model):
    """One run of `flask retention run`: when, where, with which periods, what it erased."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    node: Mapped[str] = mapped_column(String(128), default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # the periods in days it applied
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # what it erased, by rule


# AuditErasure.kind
ERASED = "erased"  # the value and its salt were deleted; the event's digest stays in the chain
# An event written before personal fields were kept apart holds the text inside its hashed
# payload, which cannot change without breaking the chain: the text is withheld from every
# page, answer and export from then on (PIPL art. 47: when deletion is technically impossible,
# stop all processing but storage and protection).
WITHHELD = "withheld"


class AuditErasure(db.Model):
    __tablename__ = "audit_erasures"

    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ERASED | WITHHELD
    erased_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("retention_runs.id"), index=True)
