"""What a guard or an effect sees when a trigger fires.

Built by the transitions service inside its transaction, after the rows are locked;
passed to the shared `transitions` machine as the event's keyword argument.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .definition import Definition, TriggerSpec


@dataclass
class Settings:
    """Policy numbers a definition's guards read (from the app's configuration)."""

    open_claim_limit: int = 5


@dataclass
class TransitionContext:
    session: Session | None
    definition: Definition
    trigger: TriggerSpec
    subject: Any  # the row the trigger moves: a Claim, a Task, …
    actor: Any  # workflow.models.User or SYSTEM
    now: datetime
    # Other rows the guards and effects read, by kind ({"task": task} for a claim).
    related: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # validated input
    settings: Settings = field(default_factory=Settings)
    request_id: str | None = None
    # Live states per subject kind, over every loaded definition version (a claim in a state
    # that only a newer version has still holds its slot).
    live_states: Callable[[str], tuple[str, ...]] = lambda subject: ()
    # Fires an internal trigger on another locked row within this transaction (a claim's
    # slot recount moves its task to full; a task's cancel cancels its claims). Supplied by
    # the service that runs the transition, so the engine never reaches into the services.
    cascade: Callable | None = None
    # Set by the guard check when a guard refuses: (guard name, message).
    refusal: tuple[str, str] | None = None
    # Extra facts effects want recorded in the audit event (e.g. the visit id).
    recorded: dict = field(default_factory=dict)
    # What guards read once and share within this transition (see guards.py).
    memo: dict = field(default_factory=dict)
    # Ids the subject's lock drew for rows the effects write (table name → id; PostgreSQL, for the
    # effects that ask: effects.py, DRAWS), so the audit event can name a row sent with it.
    drawn: dict = field(default_factory=dict)
    # Writes sent with the audit event, in its statement (PostgreSQL): (statement, parameters).
    with_event: list = field(default_factory=list)

    def _row(self, kind: str):
        return self.subject if self.definition.subject == kind else self.related.get(kind)

    @property
    def claim(self):
        return self._row("claim")

    @property
    def task(self):
        return self._row("task")
