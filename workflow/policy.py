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

    def __post_init__(self):
        if self.settings is None:
            self.settings = Settings()


current = Policy()


def configure(*, definition: str | None = None, open_claim_limit: int | None = None) -> Policy:
    """`definition` is "name@version", e.g. "dual_reporting@2"."""
    if definition:
        name, _, version = definition.partition("@")
        current.definition_name, current.definition_version = name, int(version or 1)
    if open_claim_limit is not None:
        current.settings.open_claim_limit = open_claim_limit
    return current
