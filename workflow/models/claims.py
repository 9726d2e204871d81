"""Claims (认领): one member's run through a task — the workflow instance.

A claim pins the workflow definition (name + version) it started under and carries a
version counter that every transition increments (the API's ETag). Visits and reports
are the evidence recorded by the check_in and submit_report triggers.
"""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import Unit, User
from .tasks import Task


class Claim(db.Model):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_task_state", "task_id", "state"),
        Index("ix_claims_member_state", "member_id", "state"),
        Index("ix_claims_state_updated", "state", "updated_at"),
        # A state filter, newest first (GET /claims?state=…) and its capped count: one index range.
        Index("ix_claims_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Denormalised from the member at claim time: feedback goes to the unit the member
    # belonged to when the work was done, and supervisors filter by it.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    definition_name: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column()
    # The latest reason staff gave (return/reject/cancel): shown prominently to the member.
    last_reason: Mapped[str | None] = mapped_column(Text)
    # Raised by record_visit under the claim's row lock, in the UPDATE that moves the state:
    # the min_visits guard reads it instead of counting the visits table.
    visit_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the retention run erased its personal texts (reasons, visits' notes and locations,
    # reports' summaries, photos, its events' personal fields): docs/privacy.md.
    erased_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship()
    member: Mapped[User] = relationship()
    unit: Mapped[Unit | None] = relationship()
    visits: Mapped[list["Visit"]] = relationship(back_populates="claim", order_by="Visit.id")
    reports: Mapped[list["Report"]] = relationship(back_populates="claim", order_by="Report.id")

    @property
    def definition_key(self) -> tuple[str, int]:
        return (self.definition_name, self.definition_version)

    def __repr__(self) -> str:
        return f"<Claim {self.id} {self.state} v{self.version}>"


class Visit(db.Model):
    """A check-in (进村入户 visit): time, optional location, a note, optional photos."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column()
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased its note and location (the note is then "", lat/lon None).
    erased_at: Mapped[datetime | None] = mapped_column()

    claim: Mapped[Claim] = relationship(back_populates="visits")


class Report(db.Model):
    """A completion report. A returned claim gets a new report; old ones stay."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    hours: Mapped[float] = mapped_column()
    households: Mapped[int] = mapped_column(default=0)
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased its summary (then ""); hours and households stay.
    erased_at: Mapped[datetime | None] = mapped_column()

    claim: Mapped[Claim] = relationship(back_populates="reports")
