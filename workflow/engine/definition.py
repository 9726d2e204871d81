"""The in-memory form of a workflow definition file, after the loader has checked it.

Plain frozen data: the loader builds it, the machine factory and the schema builder
read it, nothing mutates it.
"""
from dataclasses import dataclass, field

# Who may fire a trigger. Relations to the claim, not just user roles: a member is a
# `claimant` only of their own claims; staff are `community_staff` only of tasks in
# their own community.
KNOWN_ROLES = ("member", "claimant", "community_staff", "admin", "system")


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    label_en: str
    final: bool = False


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    options: dict = field(default_factory=dict)

    @property
    def required_for_categories(self) -> tuple[str, ...]:
        return tuple(self.options.get("required_for_categories") or ())


@dataclass(frozen=True)
class GuardCall:
    """A named guard or effect with the parameters the definition gives it."""

    name: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    label: str
    label_en: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[GuardCall, ...]
    effects: tuple[GuardCall, ...]
    fields: tuple[FieldSpec, ...]
    internal: bool = False  # fired by a service (expiry, task cancel), not offered to callers


@dataclass(frozen=True)
class Definition:
    name: str
    version: int
    title: str
    title_en: str
    initial: str
    states: tuple[StateSpec, ...]
    triggers: tuple[TriggerSpec, ...]
    path: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @property
    def live_states(self) -> tuple[str, ...]:
        """States a claim is in while it holds a slot: neither the initial nor a final one."""
        return tuple(s.name for s in self.states if not s.final and s.name != self.initial)

    def state(self, name: str) -> StateSpec:
        for spec in self.states:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def trigger(self, name: str) -> TriggerSpec | None:
        for spec in self.triggers:
            if spec.name == name:
                return spec
        return None

    def triggers_from(self, state: str) -> list[TriggerSpec]:
        return [t for t in self.triggers if state in t.sources]
