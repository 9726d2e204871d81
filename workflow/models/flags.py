"""Supervisors' reviews of anomaly flags (services/anomalies.py).

Flags are computed from the audit log and the records, never stored; a review names the flag by
its kind and a stable key (a claim id, a photo's sha256, a visit id, a member or staff id with the
first claim of the run) and keeps who looked at it, when, and their note. One review per flag.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db


class FlagReview(db.Model):
    __tablename__ = "flag_reviews"
    __table_args__ = (UniqueConstraint("kind", "flag_key", name="uq_flag_reviews_kind_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    flag_key: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    reviewer = relationship("User", lazy="joined")
