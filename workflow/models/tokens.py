"""API bearer tokens and failed-login counters.

Only a sha256 of a token is stored: the token itself is shown once, when it is issued,
so a copy of the database never lets anyone act as a user. A token has an expiry and
may be revoked; `last_used_at` is refreshed at most once a minute (not on every request).

Failed logins are rows, counted over a sliding window per account and per address, so
the limit holds across gunicorn workers and app nodes (an in-process counter would
allow workers × nodes times as many guesses).
"""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import db
from .people import User


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_from: Mapped[str | None] = mapped_column(String(64))  # the client address that logged in

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"
