"""The unit's 报到: a unit's Party organisation pairs with communities (结对共建), offers its
resources (资源清单) and takes on projects (项目清单).

- A pairing (workflow/definitions/pairing/) is a co-building agreement (共驻共建) between one
  unit and one community for a term: proposed by the unit's liaison, accepted or declined by the
  community's staff, renewed, ended or lapsed at the end of its term. At most one live (proposed or
  active) pairing per unit and community: the services serialise one unit's pairings on the unit's
  row, and a partial unique index says so too.
- A project (workflow/definitions/project/) is a piece of work a community publishes for a paired
  unit to lead over weeks: taken by one unit, reported on as it goes, reported complete and
  approved by the community. The community's ordinary tasks may belong to it (tasks.project_id).
- A resource is a line of the unit's list of what it can offer: not a process, edited by the
  unit's liaison; every change is an event on its own audit chain (subject type `resource`).
"""
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import Unit, User
from .places import Community

# The states in which a pairing is live, as the partial unique index spells them (pairing@1's).
PAIRING_LIVE_STATES_V1 = ("proposed", "active")

# What a unit can offer and what a project is about (one list, so a resource becomes a project
# with its category kept).
RESOURCE_CATEGORIES = ("政策宣讲", "法律服务", "医疗健康", "教育培训", "助老助残", "环境整治", "乡村振兴帮扶",
                       "文化文艺", "志愿服务", "其他")


class Pairing(db.Model):
    __tablename__ = "pairings"
    __table_args__ = (
        Index("ix_pairings_community_state", "community_id", "state"),
        Index("ix_pairings_unit_state", "unit_id", "state"),
        Index("ix_pairings_state_term", "state", "term_ends_at"),
        Index("uq_pairings_live_unit_community", "unit_id", "community_id", unique=True,
              sqlite_where=text("state IN ('proposed', 'active')"),
              postgresql_where=text("state IN ('proposed', 'active')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    definition_name: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column()
    # 共建内容: what the two sides agree to do.
    agreement: Mapped[str] = mapped_column(Text, default="")
    # The last day of the term (the district's calendar), and the instant it is over (00:00
    # Beijing time the next day, as UTC): the timers' `end` anchor.
    ends_on: Mapped[date] = mapped_column(Date)
    term_ends_at: Mapped[datetime] = mapped_column()
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column()
    # The latest reason given (a decline's, an end's).
    last_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased its personal texts (reasons, comments): services/erasure.py.
    erased_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship()
    community: Mapped[Community] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    @property
    def definition_key(self) -> tuple[str, int]:
        return (self.definition_name, self.definition_version)

    def __repr__(self) -> str:
        return f"<Pairing {self.id} unit {self.unit_id} community {self.community_id} {self.state}>"


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_community_state", "community_id", "state"),
        Index("ix_projects_unit_state", "unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    expected_outcome: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The instant the last day is over (00:00 Beijing time the next day, as UTC): the timers'
    # `deadline` anchor.
    deadline: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    definition_name: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set by `take`: the unit leading it, under which pairing, who took it and when.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id"))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime | None] = mapped_column()
    # Set by `report` (the completion report; approve keeps them): members who took part and hours.
    member_count: Mapped[int | None] = mapped_column()
    hours: Mapped[float | None] = mapped_column()
    reported_at: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    # The latest reason given (a return's, a cancel's), shown to the unit.
    last_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased its records' personal texts and photos.
    erased_at: Mapped[datetime | None] = mapped_column()

    community: Mapped[Community] = relationship()
    unit: Mapped[Unit | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    taken_by: Mapped[User | None] = relationship(foreign_keys=[taken_by_id])

    @property
    def definition_key(self) -> tuple[str, int]:
        return (self.definition_name, self.definition_version)

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.state} {self.title!r}>"


class ProjectReport(db.Model):
    """What the unit reported on a project: progress (any number of times) or its completion."""

    __tablename__ = "project_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # progress | completion
    text: Mapped[str] = mapped_column(Text, default="")
    # Completion only: the members who took part (as the liaison wrote them), how many, hours in total.
    members: Mapped[str] = mapped_column(Text, default="")
    member_count: Mapped[int | None] = mapped_column()
    hours: Mapped[float | None] = mapped_column()
    photo_ids: Mapped[list] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased its text and members (then ""); count and hours stay.
    erased_at: Mapped[datetime | None] = mapped_column()

    author: Mapped[User | None] = relationship()


class UnitResource(db.Model):
    """A line of the unit's resource list (资源清单): what it can offer communities."""

    __tablename__ = "unit_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    # How often it can be offered ("每月一次", "周末").
    frequency: Mapped[str] = mapped_column(String(100), default="")
    # Whom to call: shown only to the unit, the staff of communities paired with it, and admins.
    contact: Mapped[str] = mapped_column(String(200), default="")
    retired_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased a retired line's contact.
    erased_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<UnitResource {self.id} unit {self.unit_id} {self.title!r}>"
