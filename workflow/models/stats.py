"""The supervisor dashboard's rollup: derived figures, rebuilt whole by `flask refresh-stats`.

Nothing here is a record of its own: every row can be recomputed from claims, tasks,
communities and the audit log (see workflow/services/stats.py), so the tables carry no
foreign keys and a refresh simply replaces them.

- `stats_claims`: claims per (town, unit, category, state) — by state, by town, by category
  and the per-unit counts of the dashboard, for any supervisor scope (district, town, unit).
- `stats_units`: per unit, the members who took part (distinct, so kept both per town and for
  the whole district: `town_id` NULL) and the sum/count of verification times (from the last
  submit_report event to the approve event).
- `stats_refresh`: one row: when, up to which audit event, how long the last refresh took.
"""
from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class StatsClaims(db.Model):
    __tablename__ = "stats_claims"
    __table_args__ = (Index("ix_stats_claims_town_unit", "town_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column()
    unit_id: Mapped[int | None] = mapped_column()
    category: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    claims: Mapped[int] = mapped_column()


class StatsUnits(db.Model):
    __tablename__ = "stats_units"
    __table_args__ = (Index("ix_stats_units_town_unit", "town_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int | None] = mapped_column()  # None: the whole district
    unit_id: Mapped[int] = mapped_column()
    participants: Mapped[int] = mapped_column()
    verified_timed: Mapped[int] = mapped_column()  # verified claims with a report and an approval
    verify_seconds: Mapped[float] = mapped_column(Float)  # their summed report → approval time


class StatsRefresh(db.Model):
    __tablename__ = "stats_refresh"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    refreshed_at: Mapped[datetime] = mapped_column()
    last_event_id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    duration_ms: Mapped[int] = mapped_column()
