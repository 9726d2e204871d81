"""Tasks (任务/需求): what a community needs, and the household note kept apart from them.

A task's public fields never identify the household; the note (address details, phone,
circumstances) lives in its own table and is read only through
`workflow.services.household`, which checks the reader and logs the read.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import User
from .places import Community, Grid

CATEGORIES = ("微心愿", "政策宣讲", "环境整治", "助老助残", "矛盾调解", "乡村振兴帮扶", "志愿服务")

# draft → open → full (capacity taken) → closed | cancelled; full goes back to open when a slot
# frees. The lifecycle itself is workflow/definitions/task/v1.yaml; these name its states for queries.
TASK_STATUSES = ("draft", "open", "full", "closed", "cancelled")
TASK_LIVE_STATUSES = ("open", "full")


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_community_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    # Public meeting point or area (e.g. "东升社区3号楼前"), never the household's door.
    address: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(default=1)
    # Live claims, recounted under the task's row lock whenever a claim changes
    # (see services.capacity), never incremented blindly.
    slots_taken: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(default=0)
    deadline: Mapped[datetime] = mapped_column(index=True)
    # When the activity itself takes place (a talk on Saturday at 9:00), if it has a set time.
    activity_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    # The task definition (workflow/definitions/task/) it was created under and keeps.
    definition_name: Mapped[str] = mapped_column(String(64), default="task", server_default="task")
    definition_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased the personal fields of its events (a cancel's reason).
    erased_at: Mapped[datetime | None] = mapped_column()
    # The project (项目) of the same community this task is a concrete job of, if any.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)

    community: Mapped[Community] = relationship()
    grid: Mapped[Grid | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def free_slots(self) -> int:
        return max(self.capacity - self.slots_taken, 0)

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.status} {self.title!r}>"


class HouseholdNote(db.Model):
    """Personal data about the household a task serves. One per task, optional."""

    __tablename__ = "household_notes"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased it (90 days after the task ended, by default); the
    # note is then "". Kept as a row so pages can say it was erased rather than never written.
    erased_at: Mapped[datetime | None] = mapped_column()


class HouseholdNoteRead(db.Model):
    """Who read which household note, when, and why: every read is logged."""

    __tablename__ = "household_note_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str | None] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
