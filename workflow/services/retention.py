"""Log retention (等保 2.0 and the Cybersecurity Law: logs kept at least six months).

What is purged, by `flask purge-logs` (a daily timer), once older than the retention period
(BAODAO_LOG_RETENTION_DAYS, default 180, never less than MIN_DAYS):
- login records (`login_attempts`), by the time of the attempt;
- ended API tokens and page sessions (`api_tokens` rows, which hold the address a login came
  from), by when they ended: revoked, or expired.
What is never purged: the audit log (`audit_events`: claims, tasks and the security log of
administrators' actions and exports) — it is append-only, the database refuses DELETE on it,
and its hash chains would break — and the points ledgers. Request logs are written by gunicorn
to stdout, so the journal or the log shipper keeps them; their retention is the operator's
setting (docs/deploy.md, docs/security.md).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from ..clock import utcnow
from ..models import ApiToken, LoginAttempt
from .tx import write_transaction

MIN_DAYS = 180  # six months: the Cybersecurity Law's minimum for network logs


@dataclass
class PurgeResult:
    cutoff: datetime
    login_attempts: int
    sessions_and_tokens: int


def check_days(days: int) -> int:
    if days < MIN_DAYS:
        raise ValueError(f"log retention must be at least {MIN_DAYS} days (six months), not {days}")
    return days


def purge(days: int, *, now: datetime | None = None) -> PurgeResult:
    """Delete login records and ended tokens/sessions older than `days` (one transaction)."""
    cutoff = (now or utcnow()) - timedelta(days=check_days(days))
    with write_transaction() as session:
        attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
        tokens = session.execute(delete(ApiToken).where(or_(
            ApiToken.revoked_at < cutoff,
            (ApiToken.revoked_at.is_(None)) & (ApiToken.expires_at < cutoff)))).rowcount
    return PurgeResult(cutoff=cutoff, login_attempts=attempts, sessions_and_tokens=tokens)
