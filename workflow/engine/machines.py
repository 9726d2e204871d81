"""Shared `transitions` machines: one per definition version, and the registry of them.

A subject row (a claim, a task, …) is the model, but it is never added to the machine
(`add_model` keeps strong references and rewrites the state); instead a trigger is fired
on it directly: `machine.events[trigger].trigger(row, ctx=...)`. The machine checks the
source state (an impossible trigger raises MachineError), runs the definition's guards as
one condition, moves the row's state attribute, then runs the effects as `after`
callbacks — all inside the caller's database transaction, which is what makes the step
all-or-nothing.

A `DefinitionRegistry` belongs to one app (create_app builds it from the shipped
directory and any configured extra ones): two apps in one process may load different
definitions. Compiling a file is cached per file contents, so apps share the machines of
identical definitions.
"""
import hashlib
import threading
from contextlib import nullcontext
from functools import partial
from pathlib import Path

from marshmallow import Schema
from transitions import Machine

from ..errors import DefinitionError
from .definition import Definition, TriggerSpec
from .effects import DRAWS, EFFECTS, WRITES
from .guards import GUARDS
from .loader import DEFINITIONS_DIR, definition_files, load_definition
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
    # Guards only read, and what they read is flushed already; not flushing the subject's
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
            model_attribute=definition.subject_spec.state_attribute,
            name=definition.label,
        )

    def fire(self, row, ctx) -> bool:
        """Move `row` by `ctx.trigger`. False when a guard refused (see ctx.refusal)."""
        return self.machine.events[ctx.trigger.name].trigger(row, ctx=ctx)


# Compiled definitions by the sha256 of their file: a pure cache (a file's contents decide
# its machine), so every app that loads the same file shares one machine.
_compiled_files: dict[str, CompiledDefinition] = {}
_compiled_lock = threading.Lock()


def compile_file(path: Path) -> CompiledDefinition:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    with _compiled_lock:
        compiled = _compiled_files.get(digest)
    if compiled is None:
        compiled = CompiledDefinition(load_definition(path))
        with _compiled_lock:
            compiled = _compiled_files.setdefault(digest, compiled)
    return compiled


class DefinitionRegistry:
    """The definitions one app has loaded, by (name, version). Read-only once the app is built."""

    def __init__(self):
        self._compiled: dict[tuple[str, int], CompiledDefinition] = {}
        self._lock = threading.Lock()
        self._live: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_directories(cls, *extra: str | Path) -> "DefinitionRegistry":
        """The shipped definitions, then those of each extra directory (`<name>/v<N>.yaml`)."""
        registry = cls()
        for root in (DEFINITIONS_DIR, *extra):
            for path in definition_files(Path(root)):
                registry.add_compiled(compile_file(path))
        return registry

    def add(self, definition: Definition) -> CompiledDefinition:
        return self.add_compiled(CompiledDefinition(definition))

    def add_compiled(self, compiled: CompiledDefinition) -> CompiledDefinition:
        definition = compiled.definition
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
            others = {c.definition.subject for (n, _), c in self._compiled.items() if n == definition.name}
            if others and definition.subject not in others:
                raise DefinitionError(definition.path, f"{definition.name} drives {others.pop()} in its other "
                                                       f"versions, not {definition.subject}")
            self._compiled[definition.key] = compiled
            self._live.clear()
            return compiled

    def get(self, name: str, version: int) -> CompiledDefinition:
        try:
            return self._compiled[(name, version)]
        except KeyError:
            raise DefinitionError(f"{name}@{version}", "this definition version is not loaded") from None

    def latest(self, name: str) -> CompiledDefinition:
        versions = self.versions(name)
        if not versions:
            raise DefinitionError(name, "no version of this definition is loaded")
        return self._compiled[(name, versions[-1])]

    def versions(self, name: str) -> list[int]:
        return sorted(v for (n, v) in self._compiled if n == name)

    def names(self, subject: str | None = None) -> list[str]:
        """Process names, optionally only those driving one kind of subject."""
        return sorted({c.definition.name for c in self._compiled.values()
                       if subject is None or c.definition.subject == subject})

    def live_states(self, subject: str = "claim") -> tuple[str, ...]:
        """Every state that some loaded definition of this subject counts as live: for claims,
        the states that hold a slot — a claim of an older or newer version keeps its slot."""
        states = self._live.get(subject)
        if states is None:
            collected: list[str] = []
            for compiled in self.all(subject):
                collected += [s for s in compiled.definition.live_states if s not in collected]
            states = self._live[subject] = tuple(collected)
        return states

    def writes(self, subject: str, trigger_name: str) -> set[str]:
        """The kinds of related rows (e.g. "task") that `trigger_name` changes, in any loaded
        definition of `subject`: firing it must lock those first (the lock order)."""
        return {
            kind
            for compiled in self.all(subject)
            if (trigger := compiled.definition.trigger(trigger_name)) is not None
            for call in trigger.effects
            for kind in WRITES.get(call.name, ())
        }

    def draws(self, subject: str, trigger_name: str) -> tuple[str, ...]:
        """The tables whose next id `trigger_name`'s effects want drawn with the subject's lock, in
        any loaded definition of `subject` (sorted: the lock statement is built once per set)."""
        return tuple(sorted({
            table
            for compiled in self.all(subject)
            if (trigger := compiled.definition.trigger(trigger_name)) is not None
            for call in trigger.effects
            for table in DRAWS.get(call.name, ())
        }))

    def all(self, subject: str | None = None) -> list[CompiledDefinition]:
        return [self._compiled[k] for k in sorted(self._compiled)
                if subject is None or self._compiled[k].definition.subject == subject]
