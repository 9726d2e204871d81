"""Reading and checking workflow definition files (YAML).

`load_definition(path)` returns a `Definition` or raises `DefinitionError` naming the
file and the first problem found. The checks: the shape of every section; states named
once; the initial state exists; every source and destination is a state; every state
reachable from the initial one; no trigger leaves a final state; every non-final state
has a way on; every trigger names its roles (known ones) and its input (possibly empty);
guards and effects are registered names with parameters they accept.
"""
import inspect
from pathlib import Path

import yaml

from ..errors import DefinitionError
from .definition import KNOWN_ROLES, Definition, FieldSpec, GuardCall, StateSpec, TriggerSpec
from .effects import EFFECTS
from .guards import GUARDS
from .schemas import COMMON_OPTIONS, FIELD_OPTIONS, FIELD_TYPES

DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "definitions"


def definition_files(root: Path = DEFINITIONS_DIR) -> list[Path]:
    return sorted(root.glob("*/v*.yaml"))


def load_definition(path: str | Path) -> Definition:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError(str(path), f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(str(path), f"not valid YAML: {exc}") from exc
    return parse_definition(raw, str(path))


def parse_definition(raw, where: str) -> Definition:
    def fail(problem: str):
        raise DefinitionError(where, problem)

    if not isinstance(raw, dict):
        fail("the file must be a mapping with name, version, initial, states and triggers")
    for key in ("name", "version", "initial", "states", "triggers"):
        if key not in raw:
            fail(f"missing '{key}'")
    if not isinstance(raw["version"], int) or raw["version"] < 1:
        fail("'version' must be a whole number ≥ 1")
    if not isinstance(raw["states"], dict) or not raw["states"]:
        fail("'states' must map each state's name to its labels")
    if not isinstance(raw["triggers"], dict) or not raw["triggers"]:
        fail("'triggers' must map each trigger's name to its table row")

    states = tuple(_parse_state(name, spec or {}, fail) for name, spec in raw["states"].items())
    state_names = {s.name for s in states}
    if raw["initial"] not in state_names:
        fail(f"initial state '{raw['initial']}' is not a state")
    triggers = tuple(_parse_trigger(name, spec, state_names, fail) for name, spec in raw["triggers"].items())

    definition = Definition(
        name=str(raw["name"]), version=raw["version"], title=str(raw.get("title", raw["name"])),
        title_en=str(raw.get("title_en", raw.get("title", raw["name"]))), initial=raw["initial"],
        states=states, triggers=triggers, path=where,
    )
    _check_graph(definition, fail)
    return definition


def _parse_state(name, spec, fail) -> StateSpec:
    if not isinstance(spec, dict):
        fail(f"state '{name}' must be a mapping (label, label_en, final)")
    unknown = set(spec) - {"label", "label_en", "final"}
    if unknown:
        fail(f"state '{name}' has unknown keys: {', '.join(sorted(unknown))}")
    return StateSpec(name=str(name), label=str(spec.get("label", name)),
                     label_en=str(spec.get("label_en", spec.get("label", name))), final=bool(spec.get("final")))


def _parse_trigger(name, spec, state_names, fail) -> TriggerSpec:
    if not isinstance(spec, dict):
        fail(f"trigger '{name}' must be a mapping")
    allowed = {"label", "label_en", "from", "to", "roles", "guards", "effects", "input", "internal"}
    unknown = set(spec) - allowed
    if unknown:
        fail(f"trigger '{name}' has unknown keys: {', '.join(sorted(unknown))}")
    sources = spec.get("from")
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        fail(f"trigger '{name}' has no 'from' states")
    for source in sources:
        if source not in state_names:
            fail(f"trigger '{name}' fires from '{source}', which is not a state")
    dest = spec.get("to")
    if dest not in state_names:
        fail(f"trigger '{name}' leads to '{dest}', which is not a state")
    roles = spec.get("roles")
    if not roles or not isinstance(roles, list):
        fail(f"trigger '{name}' names no roles")
    for role in roles:
        if role not in KNOWN_ROLES:
            fail(f"trigger '{name}' names unknown role '{role}' (known: {', '.join(KNOWN_ROLES)})")
    if "input" not in spec:
        fail(f"trigger '{name}' has no input schema (write 'input: {{}}' for none)")
    if not isinstance(spec["input"], dict):
        fail(f"trigger '{name}': 'input' must map field names to field specs")
    return TriggerSpec(
        name=str(name), label=str(spec.get("label", name)), label_en=str(spec.get("label_en", spec.get("label", name))),
        sources=tuple(sources), dest=dest, roles=tuple(roles),
        guards=_parse_calls(name, "guard", spec.get("guards") or [], GUARDS, fail),
        effects=_parse_calls(name, "effect", spec.get("effects") or [], EFFECTS, fail),
        fields=tuple(_parse_field(name, f, fspec, fail) for f, fspec in spec["input"].items()),
        internal=bool(spec.get("internal", False)),
    )


def _parse_calls(trigger, kind, items, registry, fail) -> tuple[GuardCall, ...]:
    if not isinstance(items, list):
        fail(f"trigger '{trigger}': {kind}s must be a list")
    calls = []
    for item in items:
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
        else:
            fail(f"trigger '{trigger}': a {kind} is a name or {{name: {{param: value}}}}")
        if name not in registry:
            fail(f"trigger '{trigger}' names unknown {kind} '{name}' (known: {', '.join(sorted(registry))})")
        accepted = set(inspect.signature(registry[name]).parameters) - {"ctx"}
        for param in params:
            if param not in accepted:
                fail(f"trigger '{trigger}': {kind} '{name}' takes no parameter '{param}'")
        calls.append(GuardCall(name=name, params=dict(params)))
    return tuple(calls)


def _parse_field(trigger, name, spec, fail) -> FieldSpec:
    if not isinstance(spec, dict) or "type" not in spec:
        fail(f"trigger '{trigger}': input field '{name}' needs a type ({', '.join(FIELD_TYPES)})")
    ftype = spec["type"]
    if ftype not in FIELD_TYPES:
        fail(f"trigger '{trigger}': input field '{name}' has unknown type '{ftype}'")
    unknown = set(spec) - COMMON_OPTIONS - FIELD_OPTIONS[ftype]
    if unknown:
        fail(f"trigger '{trigger}': input field '{name}' has unknown options: {', '.join(sorted(unknown))}")
    options = {k: v for k, v in spec.items() if k not in ("type", "required")}
    return FieldSpec(name=str(name), type=ftype, required=bool(spec.get("required")), options=options)


def _check_graph(definition: Definition, fail) -> None:
    finals = definition.final_states
    for trig in definition.triggers:
        for source in trig.sources:
            if source in finals:
                fail(f"trigger '{trig.name}' leaves final state '{source}'")
        if definition.initial in (trig.dest,):
            fail(f"trigger '{trig.name}' leads back to the initial state '{definition.initial}'")
        names = {f.name for f in trig.fields}
        for spec in trig.fields:
            other = spec.options.get("together_with")
            if other is not None and other not in names:
                fail(f"trigger '{trig.name}': field '{spec.name}' goes together with unknown field '{other}'")

    reachable, frontier = {definition.initial}, [definition.initial]
    while frontier:
        state = frontier.pop()
        for trig in definition.triggers_from(state):
            if trig.dest not in reachable:
                reachable.add(trig.dest)
                frontier.append(trig.dest)
    unreachable = [s.name for s in definition.states if s.name not in reachable]
    if unreachable:
        fail(f"unreachable state(s) from '{definition.initial}': {', '.join(unreachable)}")
    for spec in definition.states:
        if not spec.final and not definition.triggers_from(spec.name):
            fail(f"state '{spec.name}' is not final but no trigger leaves it")
    if not finals:
        fail("no final state: every claim must be able to end")
