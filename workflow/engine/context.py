"""What a guard or an effect sees when a trigger fires.

Built by the claims service inside its transaction, after the task and claim rows are
locked; passed to the shared `transitions` machine as the event's keyword argument.
"""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .definition import Definition, TriggerSpec


@dataclass
class Settings:
    """Policy numbers a definition's guards read (from the app config)."""

    open_claim_limit: int = 5


@dataclass
class TransitionContext:
    session: Session
    definition: Definition
    trigger: TriggerSpec
    claim: Any  # workflow.models.Claim
    task: Any  # workflow.models.Task
    actor: Any  # workflow.models.User or SYSTEM
    now: datetime
    data: dict = field(default_factory=dict)  # validated input
    settings: Settings = field(default_factory=Settings)
    request_id: str | None = None
    # Set by the guard check when a guard refuses: (guard name, message).
    refusal: tuple[str, str] | None = None
    # Extra facts effects want recorded in the audit event (e.g. the visit id).
    recorded: dict = field(default_factory=dict)
    # What guards read once and share within this transition (see guards.py).
    memo: dict = field(default_factory=dict)
