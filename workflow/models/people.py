"""Organisations and people: units (机关单位) and users with a role and a scope.

A user has exactly one role:
- member: belongs to a unit, registered to the community where they live;
- staff: works for one community;
- supervisor: reads everything in a scope — the district (no town, no unit), one town or one unit;
- liaison (联络员): acts for one unit's Party organisation (unit_id): its pairings with
  communities, its resources and projects, its members' receipt report;
- admin: the platform's operator.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import utcnow
from ..extensions import db
from ..identity import USERNAME_KEY_MAX, username_key
from .places import Community, Town

ROLES = ("member", "staff", "supervisor", "liaison", "admin")


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # a unit's active members by name (the receipt report), read from the index alone: migration 0015
        Index("ix_users_unit_members", "unit_id", "name", "id",
              postgresql_where=text("role = 'member' AND active"), sqlite_where=text("role = 'member' AND active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # NFKC + case folding of the username: unique, so `Admin` cannot stand next to `admin`
    # (workflow/identity.py); kept in step with `username` by the validator below.
    username_key: Mapped[str] = mapped_column(String(USERNAME_KEY_MAX), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # member: unit + registered community; staff: community; liaison: the unit they act for.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    # supervisor: one town, one unit (unit_id above), or neither = the whole district.
    scope_town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    # Optional: where external notifications go (services/delivery.py). Set by an admin.
    email: Mapped[str | None] = mapped_column(String(254))
    # Set when an administrator set or generated the password (a new user, a reset): the person
    # must choose their own at the next login before anything else (migration 0014).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit | None] = relationship()
    community: Mapped[Community | None] = relationship()
    scope_town: Mapped[Town | None] = relationship()

    @validates("username")
    def _keep_username_key(self, _key, value):
        self.username_key = username_key(value)
        return value

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def scope_label(self) -> str:
        """The supervisor's scope in words: district, town:<code> or unit:<code>."""
        if self.role != "supervisor":
            return ""
        if self.scope_town_id:
            return f"town:{self.scope_town.code}"
        if self.unit_id:
            return f"unit:{self.unit.code}"
        return "district"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class SystemActor:
    """The actor of scheduled work (expiry): not a user, never logs in."""

    id = None
    username = "system"
    name = "system"
    role = "system"
    unit_id = None
    community_id = None
    scope_town_id = None
    email = None
    must_change_password = False


SYSTEM = SystemActor()
