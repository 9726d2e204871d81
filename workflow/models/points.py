"""Points and feedback to units, both ledgers: rows are added, never changed.

A correction is a reversing entry (negative points, `reverses_id` naming the original).
Unit feedback records are what each member's home unit receives for verified work.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class PointsEntry(db.Model):
    __tablename__ = "points_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    points: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))  # "award" | "reversal"
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("points_entries.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitFeedback(db.Model):
    __tablename__ = "unit_feedback"
    __table_args__ = (
        # a unit's year (the receipt report) and members' years (a community's roster): migration 0015
        Index("ix_unit_feedback_unit_month", "unit_id", "month", postgresql_include=["member_id", "hours"]),
        Index("ix_unit_feedback_member_month", "member_id", "month", postgresql_include=["claim_id", "hours"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # "2026-11"
    hours: Mapped[float] = mapped_column()
    households: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column()
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
