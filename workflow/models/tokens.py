"""API bearer tokens, page sessions, and the login records.

Only a sha256 of a token is stored: the token itself is shown once, when it is issued,
so a copy of the database never lets anyone act as a user. A token has an expiry and
may be revoked; `last_used_at` is refreshed at most once a minute (not on every request).
A page session is a row of the same table marked `created_from = "page-session"`.

Login records (`login_attempts`) are one row per login attempt that reached the password
check, success or failure: the security log's record of logins (等保 2.0), what the admins'
"locked and suspicious accounts" page reads, and what the per-account slow-down counts across
addresses. They are kept for the retention period (BAODAO_LOG_RETENTION_DAYS, at least 180
days), then purged by `flask purge-logs` (docs/security.md).
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
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


class LoginAttempt(db.Model):
    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_key_at", "username_key", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
        Index("ix_login_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(64))  # as typed (cut to 64)
    username_key: Mapped[str] = mapped_column(String(255))  # workflow.identity.username_key of it
    user_id: Mapped[int | None] = mapped_column()  # the account, when the name exists (no FK: kept after a user goes)
    address: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))  # "page" | "api"
    ok: Mapped[bool] = mapped_column()
