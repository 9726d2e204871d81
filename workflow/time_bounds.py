"""How far from now a time that people send may lie: one place for the ranges of time input.

Python's datetime stops at the years 1 and 9999. A time near either end cannot be moved
between time zones (0001-01-01T00:00+14:00 in UTC is in the year 0), and once stored it
broke the pages that show it in the district's time. So every time that comes in is
checked against a range that makes sense for the work, and a time outside it, or one that
cannot even be converted to UTC, is a 422 naming the field:

- a task's deadline: in the future, at most two years ahead (`DEADLINE_HORIZON`);
- a time in a query string or an export's dates (`since`, `start`, `end`): between
  `QUERY_EARLIEST` and `QUERY_LATEST` — wide enough for any record Baodao holds.

(A check-in's `time` is bounded by the claim engine: within the claim's life, not in the future.)
Rendering does not rely on these: pages, exports and the API show any stored time.
"""
from datetime import datetime, timedelta

from .engine.schemas import UTCDateTime
from .errors import InvalidInput

DEADLINE_HORIZON = timedelta(days=731)  # two years, a leap day included
QUERY_EARLIEST = datetime(2000, 1, 1)
QUERY_LATEST = datetime(2100, 1, 1)


class UTCDateTimeField(UTCDateTime):
    """The engine's ISO 8601 time in naive UTC (one whose conversion overflows is a field error,
    "Not a time Baodao can store."), here also bounded to [earliest, latest) when they are given."""

    default_error_messages = {"outside": "Must be between {earliest} and {latest} (UTC)."}

    def __init__(self, *args, earliest: datetime | None = None, latest: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.earliest, self.latest = earliest, latest

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if (self.earliest and moment < self.earliest) or (self.latest and moment >= self.latest):
            raise self.make_error("outside", earliest=f"{self.earliest:%Y-%m-%d}", latest=f"{self.latest:%Y-%m-%d}")
        return moment


def check_query_time(value: datetime, field: str) -> None:
    """For times a caller parsed itself (an export's dates): InvalidInput outside the query range."""
    if not QUERY_EARLIEST <= value < QUERY_LATEST:
        raise InvalidInput(f"{field} is out of range", errors={field: [
            f"Must be between {QUERY_EARLIEST:%Y-%m-%d} and {QUERY_LATEST:%Y-%m-%d}."]})


def check_deadline(deadline: datetime, now: datetime, field: str = "deadline") -> None:
    """A deadline must lie in the future and at most DEADLINE_HORIZON ahead of `now`."""
    if deadline <= now:
        raise InvalidInput("the deadline has passed", errors={field: ["The deadline must be in the future."]})
    if deadline > now + DEADLINE_HORIZON:
        raise InvalidInput("the deadline is too far ahead", errors={field: [
            "The deadline may be at most two years ahead."]})
