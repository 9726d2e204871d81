"""One place that says what time it is.

All stored times are naive UTC datetimes (both databases keep them the same way),
so the audit hash of a time is identical on SQLite and PostgreSQL.
"""
from datetime import datetime, timedelta, timezone
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


# -- registration terms: a calendar year on the district's calendar ------------------------------

def district_year(value: datetime) -> int:
    """The year a stored UTC time falls in, on the district's calendar (Asia/Shanghai)."""
    return value.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).year


def district_midnight(year: int, month: int, day: int) -> datetime:
    """Midnight of a district calendar day, as naive UTC."""
    return as_utc_naive(datetime(year, month, day, tzinfo=DISTRICT_TZ))


def year_end(year: int) -> datetime:
    """When a term for `year` ends: 1 January of the next year, 00:00 Beijing time, as naive UTC."""
    return district_midnight(year + 1, 1, 1)


def renewal_opens(year: int) -> datetime:
    """From when a term for `year` may be renewed: 1 December, 00:00 Beijing time, as naive UTC."""
    return district_midnight(year, 12, 1)


# -- terms ending on a date: a pairing's end date, a project's last day ----------------------------

def district_date(value: datetime):
    """The calendar day a stored UTC time falls on, on the district's calendar."""
    return value.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).date()


def day_end(day) -> datetime:
    """When a district calendar day is over (00:00 Beijing time of the next day), as naive UTC:
    a term "until 2026-12-31" runs to the end of that day."""
    return as_utc_naive(datetime(day.year, day.month, day.day, tzinfo=DISTRICT_TZ)) + timedelta(days=1)
