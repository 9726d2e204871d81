"""Shared `transitions` machines: one per definition version, built once per process.

A claim row is the model, but it is never added to the machine (`add_model` keeps
strong references and rewrites the state); instead a trigger is fired on it directly:
`machine.events[trigger].trigger(claim, ctx=...)`. The machine checks the source state
(an impossible trigger raises MachineError), runs the definition's guards as one
condition, moves `claim.state`, then runs the effects as `after` callbacks — all inside
the caller's database transaction, which is what makes the step all-or-nothing.
"""
import threading
from contextlib import nullcontext
from functools import partial

from marshmallow import Schema
from transitions import Machine

from ..errors import DefinitionError
from .definition import Definition, TriggerSpec
from .effects import EFFECTS, WRITES_TASK
from .guards import GUARDS
from .loader import definition_files, load_definition
from .schemas import build_schema


def run_guards(trigger: TriggerSpec, ctx) -> tuple[str, str] | None:
    """The first guard that refuses, as (name, message); None when all hold."""
    for call in trigger.guards:
        message = GUARDS[call.name](ctx, **call.params)
        if message:
            return (call.name, message)
    return None


def _guards_hold(trigger: TriggerSpec, event_data) -> bool:
    ctx = event_data.kwargs["ctx"]
    # Guards only read, and what they read is flushed already; not flushing the claim's
    # version bump here lets it reach the row with the new state in one UPDATE.
    # (No session: a machine driven without a database, as bench/engine.py's overhead figure.)
    with ctx.session.no_autoflush if ctx.session is not None else nullcontext():
        ctx.refusal = run_guards(trigger, ctx)
    return ctx.refusal is None


def _run_effects(trigger: TriggerSpec, event_data) -> None:
    ctx = event_data.kwargs["ctx"]
    for call in trigger.effects:
        EFFECTS[call.name](ctx, **call.params)


class CompiledDefinition:
    """A definition with its shared machine and its input schemas."""

    def __init__(self, definition: Definition):
        self.definition = definition
        self.schemas: dict[str, Schema] = {
            t.name: build_schema(t.name, t.fields)() for t in definition.triggers
        }
        self.machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            initial=definition.initial,
            transitions=[
                {
                    "trigger": t.name,
                    "source": list(t.sources),
                    "dest": t.dest,
                    "conditions": [partial(_guards_hold, t)],
                    "after": [partial(_run_effects, t)],
                }
                for t in definition.triggers
            ],
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            model_attribute="state",
            name=definition.label,
        )

    def fire(self, claim, ctx) -> bool:
        """Move `claim` by `ctx.trigger`. False when a guard refused (see ctx.refusal)."""
        return self.machine.events[ctx.trigger.name].trigger(claim, ctx=ctx)


class DefinitionRegistry:
    """All loaded definitions, by (name, version). Thread-safe; loaded once per process."""

    def __init__(self):
        self._compiled: dict[tuple[str, int], CompiledDefinition] = {}
        self._lock = threading.Lock()

    def load_directory(self, root=None) -> None:
        for path in definition_files(*([root] if root else [])):
            self.add(load_definition(path))

    def add(self, definition: Definition) -> CompiledDefinition:
        with self._lock:
            existing = self._compiled.get(definition.key)
            if existing is not None:
                if existing.definition != definition:
                    raise DefinitionError(
                        definition.path,
                        f"{definition.label} is already loaded from {existing.definition.path} with other contents;"
                        " a changed process needs a new version number",
                    )
                return existing
            compiled = CompiledDefinition(definition)
            self._compiled[definition.key] = compiled
            return compiled

    def get(self, name: str, version: int) -> CompiledDefinition:
        try:
            return self._compiled[(name, version)]
        except KeyError:
            raise DefinitionError(f"{name}@{version}", "this definition version is not loaded") from None

    def latest(self, name: str) -> CompiledDefinition:
        versions = [v for (n, v) in self._compiled if n == name]
        if not versions:
            raise DefinitionError(name, "no version of this definition is loaded")
        return self._compiled[(name, max(versions))]

    def live_states(self) -> tuple[str, ...]:
        """Every state that some loaded definition counts as live (holding a slot)."""
        states: list[str] = []
        for compiled in self.all():
            states += [s for s in compiled.definition.live_states if s not in states]
        return tuple(states)

    def writes_task(self, trigger_name: str) -> bool:
        """Whether `trigger_name`, in any loaded definition, has an effect that changes the
        claim's task (so firing it must lock the task first)."""
        return any(
            call.name in WRITES_TASK
            for compiled in self._compiled.values()
            if (trigger := compiled.definition.trigger(trigger_name)) is not None
            for call in trigger.effects
        )

    def all(self) -> list[CompiledDefinition]:
        return [self._compiled[k] for k in sorted(self._compiled)]


_registry: DefinitionRegistry | None = None
_registry_lock = threading.Lock()


def registry() -> DefinitionRegistry:
    """The process-wide registry with every shipped definition loaded."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                loaded = DefinitionRegistry()
                loaded.load_directory()
                _registry = loaded
    return _registry
