"""One place that says what time it is.

All stored times are naive UTC datetimes (both databases keep them the same way),
so the audit hash of a time is identical on SQLite and PostgreSQL.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

# The district's own clock, for what people count by calendar (a month's feedback).
DISTRICT_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_utc_naive(value: datetime) -> datetime:
    """Normalise an aware or naive datetime to naive UTC (naive input is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def iso(value: datetime | None) -> str | None:
    """The one textual form of a stored time: ISO 8601 with microseconds and a Z.

    isoformat, not strftime: strftime writes the year 1 as "1", which is no ISO 8601 (nor an
    OpenAPI date-time); for the years 1000 to 9999 both spell a time the same, so hashes of
    times already in the audit log are unchanged."""
    if value is None:
        return None
    return as_utc_naive(value).isoformat(timespec="microseconds") + "Z"


def district_month(value: datetime) -> str:
    """The month ("2026-12") a stored UTC time falls in, on the district's calendar."""
    return value.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).strftime("%Y-%m")
