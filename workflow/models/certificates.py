"""Service-record certificates (志愿服务记录证明): what was stated, signed, and when.

A certificate states a member's verified service over a period (name, unit, period, hours,
number of services, the district). The statement is stored exactly as it was signed (its
canonical JSON), with an Ed25519 signature by the district's signing key; issuing it is an
event on the member's own audit chain (subject type "member"), whose payload carries the
statement's sha256: a row changed afterwards fails both its signature and its event.
"""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import User


class Certificate(db.Model):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the QR code and the printed address carry: random, with a check character.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    hours: Mapped[float] = mapped_column()
    services: Mapped[int] = mapped_column()
    statement: Mapped[dict] = mapped_column(JSON)  # exactly what was signed
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519, base64
    key_id: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[User] = relationship()
