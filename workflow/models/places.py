"""Geography: district → town/street (镇/街道) → community/village (社区/村) → grid (网格).

Codes are the official statistical division codes: 9 digits for a town, 12 for a
community or village (Laiwu district is 370116).
"""
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Town(db.Model):
    __tablename__ = "towns"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    communities: Mapped[list["Community"]] = relationship(back_populates="town", order_by="Community.code")

    def __repr__(self) -> str:
        return f"<Town {self.code} {self.name}>"


class Community(db.Model):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    # Some communities ask for a location on every check-in (e.g. scattered villages);
    # the default does not: evidence is proportionate.
    requires_location: Mapped[bool] = mapped_column(default=False)
    # Who members call about a task here (usually the 党群服务中心), set by the community's staff.
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    # Where the community's service centre is (WGS-84, as a phone reports it): a map link for
    # members finding their way; unknown until staff record it.
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()

    town: Mapped[Town] = relationship(back_populates="communities")
    grids: Mapped[list["Grid"]] = relationship(back_populates="community", order_by="Grid.name")

    @property
    def short_name(self) -> str:
        """东升社区居民委员会 → 东升社区: the name people use."""
        for suffix in ("居民委员会", "村民委员会"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name

    def __repr__(self) -> str:
        return f"<Community {self.code} {self.name}>"


class Grid(db.Model):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    community: Mapped[Community] = relationship(back_populates="grids")
