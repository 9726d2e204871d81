"""Filling the outbox: what an external channel (e-mail) will send, and when.

Called by services/notifications.py inside the transaction that writes the notifications, so a
message exists exactly when its notification does. For each recipient with an address, the
person's choice for the kind (or the kind's default) decides:
- `immediate`: due now — unless now falls in their quiet hours, then at the end of them;
- `digest`: due at the next daily digest time (default 08:00, district time; moved to the end of
  quiet hours if it falls inside them);
- `in_app`: no row at all (the inbox has it).
Rows of one person that are due together leave as one message (services/delivery.py).
"""
import re
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import insert, select

from .. import runtime
from ..clock import DISTRICT_TZ
from ..engine.notification_kinds import MODES, NotificationKind
from ..models import NotificationPreference, NotificationSettings, OutboxMessage, User

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LANGUAGES = ("zh_CN", "en")


def parse_hhmm(text: str) -> time:
    match = HHMM.match(text or "")
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet_hours(text: str) -> tuple[str, str] | None:
    """"22:00-08:00" → ("22:00", "08:00"); "off" or "" → None (BAODAO_QUIET_HOURS)."""
    text = (text or "").strip()
    if text.lower() in ("", "off", "none"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours are written HH:MM-HH:MM (or off), not {text!r}")
    parse_hhmm(start.strip()), parse_hhmm(end.strip())
    return start.strip(), end.strip()


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ)


def _utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def in_quiet_hours(moment: datetime, quiet: tuple[str, str] | None) -> bool:
    if not quiet:
        return False
    start, end = parse_hhmm(quiet[0]), parse_hhmm(quiet[1])
    now = _local(moment).time()
    if start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end  # across midnight (22:00–08:00)


def hold(moment: datetime, quiet: tuple[str, str] | None) -> datetime:
    """`moment` (naive UTC), or the end of the quiet hours it falls in."""
    if not in_quiet_hours(moment, quiet):
        return moment
    end = parse_hhmm(quiet[1])
    local = _local(moment)
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return _utc(release)


def next_digest(moment: datetime, digest_time: str, quiet: tuple[str, str] | None) -> datetime:
    """The next daily digest after `moment` (naive UTC), outside the quiet hours."""
    at = parse_hhmm(digest_time)
    local = _local(moment)
    when = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if when <= local:
        when += timedelta(days=1)
    return hold(_utc(when), quiet)


def settings_quiet(settings_row, policy) -> tuple[str, str] | None:
    """A person's quiet hours: their own when they saved settings (None there: none), else the default."""
    if settings_row is None:
        return policy.quiet_hours
    if settings_row.quiet_start and settings_row.quiet_end:
        return (settings_row.quiet_start, settings_row.quiet_end)
    return None


def due_at(now: datetime, mode: str, quiet, policy) -> datetime:
    if mode == "digest":
        return next_digest(now, policy.digest_time, quiet)
    return hold(now, quiet)


def enqueue(session, kind: NotificationKind, written: list[tuple[int, int]], *, now: datetime) -> int:
    """Outbox rows for the notifications just written ((notification id, user id) pairs), per
    each person's channel choice. Returns how many were queued."""
    policy = runtime.current().policy.notify
    if "email" not in policy.channels or not written:
        return 0
    by_user = {user_id: notification_id for notification_id, user_id in written}
    people = session.execute(
        select(User.id, User.email, NotificationPreference.mode, NotificationSettings)
        .outerjoin(NotificationPreference, (NotificationPreference.user_id == User.id)
                   & (NotificationPreference.kind == kind.name))
        .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(User.id.in_(list(by_user)), User.email.is_not(None), User.email != "", User.active.is_(True))
    ).all()
    rows = []
    for user_id, email, chosen, settings_row in people:
        mode = chosen if chosen in MODES else kind.default
        if mode == "in_app":
            continue
        rows.append({"notification_id": by_user[user_id], "user_id": user_id, "channel": "email", "mode": mode,
                     "status": "pending", "due_at": due_at(now, mode, settings_quiet(settings_row, policy), policy),
                     "attempts": 0, "address": email, "created_at": now})
    if rows:
        session.execute(insert(OutboxMessage.__table__), rows)
    return len(rows)
