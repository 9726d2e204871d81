"""What the administrators' "login security" page shows: locked and suspicious accounts, read from
the login records (`login_attempts`).

The locks themselves live in the rate limiter (api/security.py; memory or Redis), which cannot
list its keys; the login records hold the same failures, so the page recomputes from them who is
locked now, by the same rules and numbers (services/auth.py):
- **locked pairs**: an account refused to one address — MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS
  failures from it within the window; refused until the oldest of those leaves the window;
- **locked addresses**: MAX_FAILURES_PER_ADDRESS failures across accounts within the window;
- **accounts under attack**: ACCOUNT_SLOWDOWN_AFTER failures from any addresses within the window
  (every address is slowed to one try a minute on it — never locked);
- **suspicious** over the last day: accounts that failed from several addresses or many times,
  and addresses that tried many different usernames (guessing which exist).
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..clock import utcnow
from ..models import LoginAttempt, User
from . import auth

SUSPICIOUS_PERIOD = timedelta(days=1)
SUSPICIOUS_ADDRESSES = 3  # failures on one account from this many addresses in a day
SUSPICIOUS_FAILURES = 10  # or this many failures on it in a day
GUESSING_NAMES = 5  # an address that failed on this many different usernames in a day


@dataclass
class LockedPair:
    username: str
    address: str
    failures: int
    until: datetime


@dataclass
class LockedAddress:
    address: str
    failures: int
    until: datetime


@dataclass
class WatchedAccount:
    username: str
    user_id: int | None
    failures: int
    addresses: int
    last: datetime


@dataclass
class GuessingAddress:
    address: str
    usernames: int
    failures: int
    last: datetime


@dataclass
class Overview:
    window_minutes: int
    locked_pairs: list[LockedPair] = field(default_factory=list)
    locked_addresses: list[LockedAddress] = field(default_factory=list)
    under_attack: list[WatchedAccount] = field(default_factory=list)
    suspicious: list[WatchedAccount] = field(default_factory=list)
    guessing: list[GuessingAddress] = field(default_factory=list)
    recent_failures: list = field(default_factory=list)  # (LoginAttempt) newest first


def _until(session, now, where, limit: int) -> datetime:
    """When a moving-window lock ends: the limit-th newest failure leaves the window."""
    times = session.scalars(select(LoginAttempt.at).where(*where).order_by(LoginAttempt.at.desc())
                            .limit(limit)).all()
    return times[-1] + auth.WINDOW if times else now


def overview(session, *, now: datetime | None = None, recent: int = 50) -> Overview:
    now = now or utcnow()
    window_start = now - auth.WINDOW
    failed = (LoginAttempt.ok.is_(False),)
    result = Overview(window_minutes=int(auth.WINDOW.total_seconds() // 60))
    name = func.max(LoginAttempt.username)

    for key, shown, address, n in session.execute(
            select(LoginAttempt.username_key, name, LoginAttempt.address, func.count())
            .where(*failed, LoginAttempt.at > window_start)
            .group_by(LoginAttempt.username_key, LoginAttempt.address)
            .having(func.count() >= auth.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS)
            .order_by(func.count().desc())):
        until = _until(session, now, (*failed, LoginAttempt.at > window_start, LoginAttempt.username_key == key,
                                      LoginAttempt.address == address), auth.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS)
        result.locked_pairs.append(LockedPair(shown, address, n, until))

    for address, n in session.execute(
            select(LoginAttempt.address, func.count()).where(*failed, LoginAttempt.at > window_start)
            .group_by(LoginAttempt.address).having(func.count() >= auth.MAX_FAILURES_PER_ADDRESS)
            .order_by(func.count().desc())):
        until = _until(session, now, (*failed, LoginAttempt.at > window_start, LoginAttempt.address == address),
                       auth.MAX_FAILURES_PER_ADDRESS)
        result.locked_addresses.append(LockedAddress(address, n, until))

    def accounts(since, having):
        rows = session.execute(
            select(LoginAttempt.username_key, name, func.max(LoginAttempt.user_id), func.count(),
                   func.count(func.distinct(LoginAttempt.address)), func.max(LoginAttempt.at))
            .where(*failed, LoginAttempt.at > since)
            .group_by(LoginAttempt.username_key).having(having).order_by(func.count().desc()).limit(100))
        return [WatchedAccount(shown, user_id, n, addresses, last)
                for _key, shown, user_id, n, addresses, last in rows]

    result.under_attack = accounts(window_start, func.count() >= auth.ACCOUNT_SLOWDOWN_AFTER)
    day_start = now - SUSPICIOUS_PERIOD
    result.suspicious = [a for a in accounts(day_start, (func.count(func.distinct(LoginAttempt.address))
                                                          >= SUSPICIOUS_ADDRESSES)
                                             | (func.count() >= SUSPICIOUS_FAILURES))
                         if a.user_id is not None]
    for address, names, n, last in session.execute(
            select(LoginAttempt.address, func.count(func.distinct(LoginAttempt.username_key)), func.count(),
                   func.max(LoginAttempt.at))
            .where(*failed, LoginAttempt.at > day_start).group_by(LoginAttempt.address)
            .having(func.count(func.distinct(LoginAttempt.username_key)) >= GUESSING_NAMES)
            .order_by(func.count().desc()).limit(100)):
        result.guessing.append(GuessingAddress(address, names, n, last))
    result.recent_failures = session.scalars(
        select(LoginAttempt).where(*failed).order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
        .limit(recent)).all()
    return result


def user_ids_by_name(session, names) -> dict[str, int]:
    """Usernames → ids, for links to the users' edit pages."""
    names = list(set(names))
    if not names:
        return {}
    return dict(session.execute(select(User.username, User.id).where(User.username.in_(names))).all())
