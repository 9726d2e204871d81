"""Notifications: one row per person told something, written in the transaction of its cause;
the outbox of what external channels (e-mail first) still have to send; and each person's
choices of how (immediately, in a daily digest, or in the app only) and when (quiet hours).

A notification stores its kind and parameters, never prose: its text is rendered when read,
in the reader's language (services/notifications.py).
"""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db

# Outbox statuses: pending (due at due_at; a worker may hold a lease on it), sent, failed (gave
# up after retries or refused for good: shown to admins), skipped (nothing to send any more:
# read in the app first, no address, the person deactivated).
OUTBOX_STATUSES = ("pending", "sent", "failed", "skipped")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The inbox, newest first, and its pages.
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # The bell: a person's unread ones, counted from this small partial index alone.
        Index("ix_notifications_unread", "user_id", "id", postgresql_where=text("read_at IS NULL"),
              sqlite_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column()
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class NotificationPreference(db.Model):
    """How one person wants one kind sent by the external channel (none: the kind's default)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))  # immediate | digest | in_app


class NotificationSettings(db.Model):
    """One person's quiet hours and the language of their e-mails (none: the defaults)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # "22:00" / "08:00" in the district's time; both None: no quiet hours.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")


class OutboxMessage(db.Model):
    """One notification waiting for an external channel. Rows of one person due together go
    out as one message (a digest when there are several)."""

    __tablename__ = "outbox"
    __table_args__ = (
        # What is due: the delivery run's scan.
        Index("ix_outbox_due", "status", "due_at"),
        Index("ix_outbox_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    mode: Mapped[str] = mapped_column(String(16))  # immediate | digest (as chosen when written)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    # A worker's lease: who is sending it, until when (then another worker may take it over).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(254))  # where it went (or was to go)
    sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimerFiring(db.Model):
    """A timer that fired for one subject at one due time: the record that makes the timers
    run do each thing exactly once (its unique key), written in the firing's transaction."""

    __tablename__ = "timer_firings"
    __table_args__ = (
        UniqueConstraint("timer", "subject_type", "subject_id", "anchor_at", name="uq_timer_firings_key"),
        Index("ix_timer_firings_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<definition>@<version>:<timer>", e.g. "dual_reporting@1:deadline_near".
    timer: Mapped[str] = mapped_column(String(128))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column()
    # The anchor's value it counted from (the deadline, the time the state was entered): a
    # changed deadline or a new stay in the state is a new due time, so the timer fires again.
    anchor_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    # fired (trigger fired and/or notified), or refused: <guard> (the trigger's guard said no).
    outcome: Mapped[str] = mapped_column(String(128), default="fired")
