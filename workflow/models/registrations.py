"""Registrations (报到): a member reporting to the community where they live.

A registration is a workflow instance (workflow/definitions/registration/): applied, then
accepted by the community's staff into a grid (进网入格) with a few households to keep in
touch with, for a term of one calendar year (Asia/Shanghai), renewed, ended or lapsed.
A member holds at most one live (applied or active) registration: the services serialise a
member's registrations on the member's own row, and a partial unique index says so too.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import User
from .places import Community, Grid

# The states in which a registration is live, as the partial unique index spells them. The
# engine's notion of live comes from the definitions (every state neither initial nor final);
# the index is the database's own guard for registration@1's two.
LIVE_STATES_V1 = ("applied", "active")


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_community_state", "community_id", "state"),
        Index("ix_registrations_state_term", "state", "term_ends_at"),
        Index("uq_registrations_live_member", "member_id", unique=True,
              sqlite_where=text("state IN ('applied', 'active')"),
              postgresql_where=text("state IN ('applied', 'active')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    definition_name: Mapped[str] = mapped_column(String(64))
    definition_version: Mapped[int] = mapped_column()
    # What the member offered when applying (服务特长, when they can serve).
    skills: Mapped[str] = mapped_column(String(200), default="")
    availability: Mapped[str] = mapped_column(String(200), default="")
    # Set when accepted: the households (联系户) the member keeps in touch with, who accepted
    # them (None: the system, e.g. the migration that turned existing members' communities into
    # registrations) and when; the term is a calendar year that ends at `term_ends_at` (UTC).
    households: Mapped[int | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column()
    term_year: Mapped[int | None] = mapped_column()
    term_ends_at: Mapped[datetime | None] = mapped_column()
    # The latest reason given (a decline's words, an end's reason), shown to the member.
    last_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[User] = relationship(foreign_keys=[member_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    community: Mapped[Community] = relationship()
    grid: Mapped[Grid | None] = relationship()

    @property
    def definition_key(self) -> tuple[str, int]:
        return (self.definition_name, self.definition_version)

    def __repr__(self) -> str:
        return f"<Registration {self.id} member {self.member_id} {self.state}>"
