"""API tokens: issue one for a username and password, resolve it on each request, revoke it.

- A token is `bd_` + 43 random url-safe characters; only its sha256 is stored.
- Tokens expire (`ttl`, default 12 hours) and can be revoked; an inactive user's tokens
  stop working at once.
- Failed logins are rate-limited per account and per client address over a sliding
  window, counted in the database (see models.tokens.LoginFailure), so the limit holds
  across processes and nodes. A successful login clears the account's failures (not the
  address's). Unknown users cost the same password-hash work as known ones, so timing
  does not tell which usernames exist.

No Flask here: the HTTP layer passes the client address and request id in.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import ApiToken, LoginFailure, User
from .tx import write_transaction

TOKEN_PREFIX = "bd_"
DEFAULT_TTL = timedelta(hours=12)
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
LAST_USED_RESOLUTION = timedelta(minutes=1)

# A hash to check wrong usernames against, so they cost as much as wrong passwords.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    http_status = 401


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass
class IssuedToken:
    token: str  # shown once; never stored
    record: ApiToken
    expires_in: int  # seconds


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _retry_after(session, column, value, since) -> int:
    oldest = session.scalar(select(func.min(LoginFailure.at)).where(column == value, LoginFailure.at >= since))
    if oldest is None:
        return 1
    return max(1, int((oldest + WINDOW - utcnow()).total_seconds()) + 1)


def check_rate_limit(session, username: str, address: str, *, now=None) -> None:
    """Raise TooManyAttempts when the account or the address has failed too often lately."""
    since = (now or utcnow()) - WINDOW
    for column, value, limit in ((LoginFailure.username, username, MAX_FAILURES_PER_ACCOUNT),
                                 (LoginFailure.address, address, MAX_FAILURES_PER_ADDRESS)):
        count = session.scalar(select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at >= since))
        if count >= limit:
            raise TooManyAttempts("too many failed logins; try again later",
                                  retry_after=_retry_after(session, column, value, since))


def issue_token(username: str, password: str, *, address: str = "", ttl: timedelta = DEFAULT_TTL,
                now=None) -> IssuedToken:
    """A new token for a valid username and password; InvalidCredentials or TooManyAttempts otherwise."""
    now = now or utcnow()
    username = (username or "")[:64]
    address = (address or "unknown")[:64]
    session = db.session()
    check_rate_limit(session, username, address, now=now)
    user = session.scalar(select(User).where(User.username == username))
    # Always do the hash work (see module docstring), then decide.
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if not (user and ok and user.active):
        with write_transaction() as s:
            s.add(LoginFailure(username=username, address=address, at=now))
        raise InvalidCredentials("wrong username or password")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.username == username))
        record = ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl,
                          created_from=address)
        s.add(record)
    return IssuedToken(token=token, record=record, expires_in=int(ttl.total_seconds()))


def issue_token_for(user: User, *, ttl: timedelta = DEFAULT_TTL, now=None) -> IssuedToken:
    """A token for a user without a password check: for commands and tests."""
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as s:
        record = ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl)
        s.add(record)
    return IssuedToken(token=token, record=record, expires_in=int(ttl.total_seconds()))


def resolve(token: str, *, now=None) -> tuple[User, ApiToken] | None:
    """The user and token record for a live token (not expired, not revoked, user active), else None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or utcnow()
    session = db.session()
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token))
                            .execution_options(populate_existing=True))  # never a stale copy
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    user = session.get(User, record.user_id, populate_existing=True)
    if user is None or not user.active:
        return None
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        with write_transaction() as s:
            s.execute(ApiToken.__table__.update().where(ApiToken.id == record.id).values(last_used_at=now))
        set_committed_value(record, "last_used_at", now)  # as stored; not a pending change
    return user, record


def revoke(token_id: int, *, now=None) -> None:
    """Revoke a token (idempotent: an already revoked token stays revoked at its first time)."""
    now = now or utcnow()
    with write_transaction() as s:
        s.execute(ApiToken.__table__.update()
                  .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))


def revoke_all(user_id: int, *, now=None) -> int:
    """Revoke every live token of a user (e.g. when they are deactivated). Returns how many."""
    now = now or utcnow()
    with write_transaction() as s:
        result = s.execute(ApiToken.__table__.update()
                           .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                           .values(revoked_at=now))
    return result.rowcount


def check_verify_access(session, actor, subject: str | None) -> None:
    """Who may run the audit chain check, and on what.

    - no subject (every chain): admins and district supervisors only (a town or unit
      supervisor would learn about chains outside their scope);
    - one subject: admins, supervisors and staff who may see that task or claim
      (out of scope is NotFound, as everywhere); members never.
    Raises Forbidden, NotFound or InvalidInput (a malformed subject).
    """
    from .. import audit
    from ..errors import Forbidden, InvalidInput
    from . import scope

    if actor.role not in ("admin", "supervisor", "staff"):
        raise Forbidden("only supervisors, admins and community staff verify the audit log")
    if subject is None:
        if actor.role == "admin" or (actor.role == "supervisor" and not actor.scope_town_id and not actor.unit_id):
            return
        raise Forbidden("checking every chain is for district supervisors and admins; name a subject")
    try:
        kind, ident = audit.parse_subject(subject)
    except ValueError as exc:
        raise InvalidInput("bad subject", errors={"subject": [str(exc)]}) from None
    if kind == "task":
        scope.visible_task(session, actor, ident)
    else:
        scope.visible_claim(session, actor, ident)
