"""Process-wide policy the services read: the active workflow definition and limits.

Set once by the app factory from its config (or by a test or a command); defaults
match the design. Kept out of Flask so the services run the same from the CLI.
"""
from dataclasses import dataclass

from .engine.context import Settings


@dataclass
class Policy:
    # New claims start under this definition; existing claims keep the one they pinned.
    definition_name: str = "dual_reporting"
    definition_version: int = 1
    settings: Settings = None  # type: ignore[assignment]
    # Dashboard rollup freshness (services/stats.py): refresh inline when the last refresh took
    # at most this long, and always when the rollup is older than the maximum age.
    stats_inline_ms: float = 250
    stats_max_age_s: float = 900
    # Different household notes a member may open in any 24 hours (services/household.py).
    household_reads_per_day: int = 10

    def __post_init__(self):
        if self.settings is None:
            self.settings = Settings()


current = Policy()


def configure(*, definition: str | None = None, open_claim_limit: int | None = None,
              stats_inline_ms: float | None = None, stats_max_age_s: float | None = None,
              household_reads_per_day: int | None = None) -> Policy:
    """`definition` is "name@version", e.g. "dual_reporting@2"."""
    if definition:
        name, _, version = definition.partition("@")
        current.definition_name, current.definition_version = name, int(version or 1)
    if open_claim_limit is not None:
        current.settings.open_claim_limit = open_claim_limit
    if stats_inline_ms is not None:
        current.stats_inline_ms = stats_inline_ms
    if stats_max_age_s is not None:
        current.stats_max_age_s = stats_max_age_s
    if household_reads_per_day is not None:
        current.household_reads_per_day = household_reads_per_day
    return current
