"""API tokens: issue one for a username and password, resolve it on each request, revoke it.

- A token is `bd_` + 43 random url-safe characters; only its sha256 is stored.
- Tokens expire (`ttl`, default 12 hours) and can be revoked; an inactive user's tokens
  stop working at once.
- Failed logins are rate-limited over a sliding window by the HTTP layer (Flask-Limiter,
  `api/security.py`; Redis when REDIS_URL is set), with the numbers below. **Decision (issue
  16):** the lock is per (account, client address) pair, so an attacker at one address cannot
  lock the owner out at another; each address also has a ceiling across accounts; and per
  account, across all addresses, there is no lock but a slow-down: once an account has
  ACCOUNT_SLOWDOWN_AFTER failures in the window, every address may try it at most once a minute
  (`account_under_attack`, counted from the login records, so it holds across workers and
  nodes even with the memory store). Unknown users cost the same password-hash work as known
  ones, so timing does not tell which usernames exist.
- Every attempt that reaches the password check is a login record (`login_attempts`), success
  or failure: the security log of logins, kept for the retention period (docs/security.md).
- Usernames are looked up as typed first, then by their case- and width-insensitive key
  (workflow/identity.py), so `Admin` logs in as `admin`.
- Page sessions are server-side records too (`start_session`): the signed session cookie
  carries a `bs_` session token whose sha256 is an `api_tokens` row, so logging out
  revokes it at once and a copied cookie stops working. A session ends after `idle` without a
  request (default 30 minutes) and at most `ttl` after login (default 12 hours), checked on the
  server (`page_session`), whatever the cookie says. A `bs_` token is never a bearer
  token (`resolve` takes `bd_` tokens only).
- A password reset, a role or scope change and deactivation revoke every token and page session
  of the user (services/users.py, `users.end_sessions`).

No Flask here: the HTTP layer passes the client address and request id in.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import utcnow
from ..errors import DomainError
from ..extensions import db
from ..identity import username_key
from ..models import ApiToken, LoginAttempt, User
from .tx import write_transaction

TOKEN_PREFIX = "bd_"
SESSION_PREFIX = "bs_"
SESSION_MARK = "page-session"  # api_tokens.created_from of a page session's record
DEFAULT_TTL = timedelta(hours=12)
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5  # then that address is refused for that account
MAX_FAILURES_PER_ADDRESS = 20  # across accounts: then that address is refused altogether
ACCOUNT_SLOWDOWN_AFTER = 10  # failures on one account from any address: then one try a minute per address
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_SESSION_IDLE = timedelta(minutes=30)
DEFAULT_SESSION_MAX = timedelta(hours=12)

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


def issue_token(username: str, password: str, *, address: str = "", ttl: timedelta = DEFAULT_TTL,
                now=None) -> IssuedToken:
    """A new token for a valid username and password; InvalidCredentials otherwise.
    (The HTTP layer limits failed attempts before calling this.)"""
    now = now or utcnow()
    address = (address or "unknown")[:64]
    user = check_credentials(username, password, address=address, channel="api")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as s:
        record = ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl,
                          created_from=address)
        s.add(record)
    return IssuedToken(token=token, record=record, expires_in=int(ttl.total_seconds()))


def find_user(username: str) -> User | None:
    """The user a typed username means: the exact username first (users from before the
    identity rules keep working), else the one with the same case- and width-insensitive key."""
    username = (username or "")[:64]
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None and username:
        user = db.session.scalar(select(User).where(User.username_key == username_key(username)))
    return user


def check_credentials(username: str, password: str, *, address: str = "", channel: str = "page",
                      now=None) -> User:
    """The active user with this username and password; InvalidCredentials otherwise.
    Always does the scrypt work, so a wrong username costs what a wrong password does.
    The attempt is written to the login records either way."""
    typed = (username or "")[:64]
    user = find_user(typed)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    ok = bool(user and ok and user.active)
    with write_transaction() as s:
        s.add(LoginAttempt(at=now or utcnow(), username=typed, username_key=username_key(typed)[:255],
                           user_id=user.id if user else None, address=(address or "unknown")[:64],
                           channel=channel, ok=ok))
    if not ok:
        raise InvalidCredentials("wrong username or password")
    return user


def recent_failures(username: str, *, address: str | None = None, window: timedelta = WINDOW, now=None) -> int:
    """Failed logins on an account (by its key) within the window; from one address if given."""
    now = now or utcnow()
    query = (select(func.count(LoginAttempt.id))
             .where(LoginAttempt.username_key == username_key((username or "")[:64]),
                    LoginAttempt.ok.is_(False), LoginAttempt.at > now - window))
    if address is not None:
        query = query.where(LoginAttempt.address == address[:64])
    return db.session.scalar(query) or 0


def account_under_attack(username: str, *, now=None) -> bool:
    """Has the account had ACCOUNT_SLOWDOWN_AFTER failures in the window, from any addresses?
    Then the HTTP layer slows every address down on it (one try a minute) instead of locking it."""
    if not username:
        return False
    return recent_failures(username, now=now) >= ACCOUNT_SLOWDOWN_AFTER


def start_session(user: User, *, ttl: timedelta = DEFAULT_SESSION_MAX, address: str = "", now=None) -> str:
    """A new page-session token for `user` (its sha256 is stored); a fresh one at every login.
    `ttl` is the session's absolute lifetime (BAODAO_SESSION_MAX_HOURS)."""
    now = now or utcnow()
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as s:
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl,
                       last_used_at=now, created_from=SESSION_MARK))
    return token


@dataclass
class PageSession:
    user_id: int | None  # the user of a live session, else None
    ended: str | None = None  # why it is not live: "idle", "expired", "revoked", "inactive", "unknown"


def page_session(token: str | None, *, idle: timedelta = DEFAULT_SESSION_IDLE, now=None) -> PageSession:
    """Check a page session and mark it used (at most once a minute: a write per active user a
    minute, not per request). Ends it for good when it has been idle too long."""
    if not token or not isinstance(token, str) or not token.startswith(SESSION_PREFIX) or len(token) > 128:
        return PageSession(None, "unknown")
    now = now or utcnow()
    row = db.session.execute(
        select(ApiToken.id, ApiToken.user_id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.created_at,
               ApiToken.last_used_at, User.active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.created_from == SESSION_MARK)).first()
    if row is None:
        return PageSession(None, "unknown")
    if row.revoked_at is not None:
        return PageSession(None, "revoked")
    if not row.active:
        return PageSession(None, "inactive")
    if row.expires_at <= now:
        return PageSession(None, "expired")
    last = row.last_used_at or row.created_at
    if now - last > idle:
        with write_transaction() as s:  # idle out for good: a later request cannot revive it
            s.execute(ApiToken.__table__.update().where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
                      .values(revoked_at=now))
        return PageSession(None, "idle")
    if now - last >= LAST_USED_RESOLUTION:
        with write_transaction() as s:
            s.execute(ApiToken.__table__.update().where(ApiToken.id == row.id).values(last_used_at=now))
    return PageSession(row.user_id)


def session_user_id(token: str | None, *, idle: timedelta = DEFAULT_SESSION_IDLE, now=None) -> int | None:
    """The user id of a live page session (not ended, not idle or expired, user active), else None."""
    return page_session(token, idle=idle, now=now).user_id


def token_id(token: str | None) -> int | None:
    """The api_tokens row id of a page-session or bearer token, None for an unknown one."""
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    return db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))


def end_session(token: str | None, *, now=None) -> None:
    """End a page session at once (logout). Unknown or already ended tokens are ignored."""
    if not token or not isinstance(token, str) or not token.startswith(SESSION_PREFIX):
        return
    now = now or utcnow()
    with write_transaction() as s:
        s.execute(ApiToken.__table__.update()
                  .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
                  .values(revoked_at=now))


def issue_token_for(user: User, *, ttl: timedelta = DEFAULT_TTL, now=None) -> IssuedToken:
    """A token for a user without a password check: for commands and tests."""
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as s:
        record = ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl)
        s.add(record)
    return IssuedToken(token=token, record=record, expires_in=int(ttl.total_seconds()))


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """The columns of a resolved token that a request needs (not an ORM object: nothing changes it)."""

    id: int
    revoked_at: object
    expires_at: object
    last_used_at: object


# Built once: the statement every API request runs (its compiled form is cached by SQLAlchemy).
# The user as an object (the actor the services take), the token as plain columns.
_RESOLVE = (select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("token_hash"))
            .execution_options(populate_existing=True))


def resolve(token: str, *, now=None) -> tuple[User, TokenRecord] | None:
    """The user and token record for a live token (not expired, not revoked, user active), else None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or utcnow()
    session = db.session()
    # Token and user in one round trip, never a stale copy of the user.
    row = session.execute(_RESOLVE, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    user, record = row[0], TokenRecord(*row[1:])
    if record.revoked_at is not None or record.expires_at <= now or not user.active:
        return None
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        with write_transaction() as s:
            s.execute(ApiToken.__table__.update().where(ApiToken.id == record.id).values(last_used_at=now))
        record = TokenRecord(record.id, record.revoked_at, record.expires_at, now)
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
    - one subject: admins, supervisors and staff who may see that task, claim, registration,
      pairing, project or resource line
      (out of scope is NotFound, as everywhere); members never.
    Raises Forbidden, NotFound or InvalidInput (a malformed subject).
    """
    from .. import audit
    from ..errors import Forbidden, InvalidInput, NotFound
    from . import scope

    if actor.role not in ("admin", "supervisor", "staff"):
        raise Forbidden("only supervisors, admins and community staff verify the audit log")
    if subject is not None and subject.startswith("admin:"):
        # The security log's chains (one per actor) are the administrators' to check.
        if actor.role != "admin":
            raise NotFound("no such subject")
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
    elif kind == "claim":
        scope.visible_claim(session, actor, ident)
    elif kind == "registration":
        scope.visible_registration(session, actor, ident)
    elif kind == "pairing":
        scope.visible_pairing(session, actor, ident)
    elif kind == "project":
        scope.visible_project(session, actor, ident)
    elif kind == "resource":
        from ..models import UnitResource
        if session.scalar(select(UnitResource.id).where(UnitResource.id == ident,
                                                        scope.resource_filter(actor))) is None:
            raise NotFound("no such subject")
    elif actor.role != "admin":  # the security log's and members' records: admins only
        raise NotFound("no such subject")
