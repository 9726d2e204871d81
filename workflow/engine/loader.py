"""Reading and checking workflow definition files (YAML).

`load_definition(path)` returns a `Definition` or raises `DefinitionError` naming the
file and the first problem found. The checks: the shape of every section; the subject
kind is known; states named once; the initial state exists; every source and
destination is a state; every state reachable from the initial one; no trigger leaves a
final state; every non-final state has a way on; every trigger and input field carries
its Chinese and English words; every trigger names its roles (ones its subject knows)
and its input (possibly empty); guards and effects are registered names with parameters
they accept; field types, options and widgets are known; a trigger's `notify` and every
timer name known notification kinds, recipients the subject knows, states, an anchor the
subject has and a trigger the system may fire (see `_parse_timer`); `personal` (personal data, kept apart from
the audit chain's hash and erased when its retention ends) is true or false.
"""
import inspect
import re
from datetime import timedelta
from pathlib import Path

import yaml

from ..errors import DefinitionError
from .definition import (STYLES, SUBJECTS, Choice, Definition, FieldSpec, GuardCall, NotifySpec, StateSpec,
                         TimerSpec, TriggerSpec)
from .effects import EFFECTS
from .guards import GUARDS
from .notification_kinds import NOTIFICATION_KINDS
from .schemas import COMMON_OPTIONS, FIELD_OPTIONS, FIELD_TYPES, REFS, WIDGETS

DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "definitions"

TRIGGER_KEYS = {"label", "label_en", "from", "to", "roles", "guards", "effects", "input", "internal", "style",
                "confirm", "confirm_en", "done", "done_en", "notify"}
TIMER_KEYS = {"states", "due", "fire", "notify", "label", "label_en"}
# "deadline", "deadline - 24h", "entered + 3d": an anchor, then optionally ± an amount of m, h or d.
DUE = re.compile(r"^\s*([a-z_]+)\s*(?:([+-])\s*(\d{1,6})\s*([mhd]))?\s*$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
WORD_KEYS = {"label", "label_en", "help", "help_en", "widget", "choices"}


def definition_files(root: Path = DEFINITIONS_DIR) -> list[Path]:
    return sorted(Path(root).glob("*/v*.yaml"))


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
        fail("the file must be a mapping with name, version, subject, initial, states and triggers")
    for key in ("name", "version", "subject", "initial", "states", "triggers"):
        if key not in raw:
            fail(f"missing '{key}'")
    if not isinstance(raw["version"], int) or isinstance(raw["version"], bool) or raw["version"] < 1:
        fail("'version' must be a whole number ≥ 1")
    if raw["subject"] not in SUBJECTS:
        fail(f"unknown subject '{raw['subject']}' (known: {', '.join(SUBJECTS)})")
    if not isinstance(raw["states"], dict) or not raw["states"]:
        fail("'states' must map each state's name to its labels")
    if not isinstance(raw["triggers"], dict) or not raw["triggers"]:
        fail("'triggers' must map each trigger's name to its table row")

    subject = SUBJECTS[raw["subject"]]
    states = tuple(_parse_state(name, spec or {}, fail) for name, spec in raw["states"].items())
    state_names = {s.name for s in states}
    if raw["initial"] not in state_names:
        fail(f"initial state '{raw['initial']}' is not a state")
    triggers = tuple(_parse_trigger(name, spec, state_names, subject, fail) for name, spec in raw["triggers"].items())

    definition = Definition(
        name=str(raw["name"]), version=raw["version"], subject=subject.name,
        title=str(raw.get("title", raw["name"])), title_en=str(raw.get("title_en", raw.get("title", raw["name"]))),
        initial=raw["initial"], states=states, triggers=triggers, path=where,
    )
    _check_graph(definition, fail)
    timers = raw.get("timers") or {}
    if not isinstance(timers, dict):
        fail("'timers' must map each timer's name to its states, due time and what it does")
    if timers:
        from dataclasses import replace

        definition = replace(definition, timers=tuple(
            _parse_timer(str(name), spec, definition, fail) for name, spec in timers.items()))
    return definition


def _words(owner: str, spec: dict, fail) -> tuple[str, str]:
    """The Chinese and English label every state, trigger and field must carry: a page never
    shows a person a code where they expect words."""
    label, label_en = spec.get("label"), spec.get("label_en")
    if not isinstance(label, str) or not label.strip():
        fail(f"{owner} needs a 'label' (the Chinese words a page shows)")
    if not isinstance(label_en, str) or not label_en.strip():
        fail(f"{owner} needs a 'label_en' (the English words a page shows)")
    return label.strip(), label_en.strip()


def _parse_state(name, spec, fail) -> StateSpec:
    if not isinstance(spec, dict):
        fail(f"state '{name}' must be a mapping (label, label_en, final)")
    unknown = set(spec) - {"label", "label_en", "final"}
    if unknown:
        fail(f"state '{name}' has unknown keys: {', '.join(sorted(unknown))}")
    label, label_en = _words(f"state '{name}'", spec, fail)
    return StateSpec(name=str(name), label=label, label_en=label_en, final=bool(spec.get("final")))


def _text(spec: dict, key: str, owner: str, fail) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str):
        fail(f"{owner}: '{key}' must be text")
    return value.strip()


def _parse_trigger(name, spec, state_names, subject, fail) -> TriggerSpec:
    owner = f"trigger '{name}'"
    if not isinstance(spec, dict):
        fail(f"{owner} must be a mapping")
    unknown = set(spec) - TRIGGER_KEYS
    if unknown:
        fail(f"{owner} has unknown keys: {', '.join(sorted(unknown))}")
    label, label_en = _words(owner, spec, fail)
    sources = spec.get("from")
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        fail(f"{owner} has no 'from' states")
    for source in sources:
        if source not in state_names:
            fail(f"{owner} fires from '{source}', which is not a state")
    dest = spec.get("to")
    if dest not in state_names:
        fail(f"{owner} leads to '{dest}', which is not a state")
    roles = spec.get("roles")
    if not roles or not isinstance(roles, list):
        fail(f"{owner} names no roles")
    for role in roles:
        if role not in subject.roles:
            fail(f"{owner} names unknown role '{role}' (a {subject.name} knows: {', '.join(subject.roles)})")
    if "input" not in spec:
        fail(f"{owner} has no input schema (write 'input: {{}}' for none)")
    if not isinstance(spec["input"], dict):
        fail(f"{owner}: 'input' must map field names to field specs")
    style = spec.get("style", "secondary")
    if style not in STYLES:
        fail(f"{owner}: style must be one of {', '.join(STYLES)}, not '{style}'")
    confirm, confirm_en = _text(spec, "confirm", owner, fail), _text(spec, "confirm_en", owner, fail)
    if bool(confirm) != bool(confirm_en):
        fail(f"{owner}: a confirmation needs both 'confirm' and 'confirm_en'")
    return TriggerSpec(
        name=str(name), label=label, label_en=label_en, sources=tuple(sources), dest=dest, roles=tuple(roles),
        guards=_parse_calls(name, "guard", spec.get("guards") or [], GUARDS, fail),
        effects=_parse_calls(name, "effect", spec.get("effects") or [], EFFECTS, fail),
        fields=tuple(_parse_field(name, f, fspec, fail) for f, fspec in spec["input"].items()),
        internal=bool(spec.get("internal", False)), style=style, confirm=confirm, confirm_en=confirm_en,
        done=_text(spec, "done", owner, fail), done_en=_text(spec, "done_en", owner, fail),
        notify=_parse_notify(owner, spec.get("notify"), subject, fail),
    )


def _parse_notify(owner, raw, subject, fail) -> tuple[NotifySpec, ...]:
    """`notify: [{kind: claim_returned, to: [claimant]}, …]`: known kinds about this subject,
    addressed to relations the subject knows."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        fail(f"{owner}: 'notify' is a list of {{kind, to}}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"kind", "to"}:
            fail(f"{owner}: each notify entry is {{kind: <notification kind>, to: [<recipients>]}}")
        kind = NOTIFICATION_KINDS.get(item["kind"])
        if kind is None:
            fail(f"{owner} names unknown notification kind '{item['kind']}' "
                 f"(known: {', '.join(sorted(NOTIFICATION_KINDS))})")
        if kind.subject != subject.name:
            fail(f"{owner}: notification kind '{kind.name}' speaks about a {kind.subject}, not a {subject.name}")
        to = item["to"]
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to:
            fail(f"{owner}: notify '{kind.name}' names no recipients")
        for who in to:
            if who not in subject.recipients:
                fail(f"{owner}: notify '{kind.name}' to unknown recipients '{who}' "
                     f"(a {subject.name} knows: {', '.join(subject.recipients)})")
        out.append(NotifySpec(kind=kind.name, to=tuple(to)))
    return tuple(out)


def _parse_timer(name: str, spec, definition: Definition, fail) -> TimerSpec:
    """A timer: the states it watches, when it is due (an anchor of the subject ± an amount),
    and what it does — fire a trigger the system may fire, and/or notify."""
    owner = f"timer '{name}'"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", name):
        fail(f"{owner}: a timer's name is lower-case letters, digits and _ (at most 48)")
    if not isinstance(spec, dict):
        fail(f"{owner} must be a mapping (states, due, fire and/or notify)")
    unknown = set(spec) - TIMER_KEYS
    if unknown:
        fail(f"{owner} has unknown keys: {', '.join(sorted(unknown))}")
    states = spec.get("states")
    if isinstance(states, str):
        states = [states]
    if not states or not isinstance(states, list):
        fail(f"{owner} watches no states ('states: [...]')")
    names = {s.name for s in definition.states}
    for state in states:
        if state not in names:
            fail(f"{owner} watches '{state}', which is not a state")
        if state == definition.initial and definition.subject_spec.created_by_trigger:
            fail(f"{owner} watches the initial state '{state}', in which no {definition.subject} is ever stored")
    due = spec.get("due")
    match = DUE.match(due) if isinstance(due, str) else None
    if match is None:
        fail(f"{owner}: 'due' is an anchor with an optional offset, e.g. 'deadline', 'deadline - 24h', "
             f"'entered + 3d' (units m, h, d)")
    anchor, sign, amount, unit = match.groups()
    anchors = definition.subject_spec.anchors
    if anchor not in anchors:
        fail(f"{owner}: a {definition.subject} has no '{anchor}' to count from (it has: {', '.join(anchors)})")
    offset = timedelta(**{UNITS[unit]: int(amount)}) if amount else timedelta(0)
    if sign == "-":
        offset = -offset
    fire = spec.get("fire")
    if fire is not None:
        trigger = definition.trigger(fire) if isinstance(fire, str) else None
        if trigger is None:
            fail(f"{owner} fires '{fire}', which is not a trigger of {definition.label}")
        if not (trigger.internal or "system" in trigger.roles):
            fail(f"{owner} fires '{fire}', which is neither internal nor fired by the system (roles: system)")
        missing = [s for s in states if s not in trigger.sources]
        if missing:
            fail(f"{owner} fires '{fire}' in '{missing[0]}', from which '{fire}' does not fire")
        required = [f.name for f in trigger.fields if f.required]
        if required:
            fail(f"{owner} fires '{fire}', which needs input ({', '.join(required)}) a timer cannot give")
    notify = _parse_notify(owner, spec.get("notify"), definition.subject_spec, fail)
    if fire is None and not notify:
        fail(f"{owner} does nothing: give it 'fire' (a trigger) and/or 'notify'")
    return TimerSpec(name=name, states=tuple(states), anchor=anchor, offset=offset, fire=fire, notify=notify,
                     due_text=" ".join(due.split()))


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
    owner = f"trigger '{trigger}': input field '{name}'"
    if not isinstance(spec, dict) or "type" not in spec:
        fail(f"{owner} needs a type ({', '.join(FIELD_TYPES)})")
    ftype = spec["type"]
    if ftype not in FIELD_TYPES:
        fail(f"{owner} has unknown type '{ftype}'")
    unknown = set(spec) - COMMON_OPTIONS - WORD_KEYS - FIELD_OPTIONS[ftype]
    if unknown:
        fail(f"{owner} has unknown options: {', '.join(sorted(unknown))}")
    label, label_en = _words(owner, spec, fail)
    widget = spec.get("widget")
    if widget is not None and widget not in WIDGETS[ftype]:
        allowed = ", ".join(WIDGETS[ftype]) or "none"
        fail(f"{owner}: widget '{widget}' does not fit type '{ftype}' (fits: {allowed})")
    choices = _parse_choices(owner, spec.get("choices"), fail) if ftype == "choice" else ()
    if ftype != "choice" and "choices" in spec:
        fail(f"{owner}: only a choice field has choices")
    if ftype == "choice" and spec.get("default") is not None and spec["default"] not in {c.value for c in choices}:
        fail(f"{owner}: default '{spec['default']}' is not one of its choices")
    if ftype == "ref" and spec.get("ref") not in REFS:
        fail(f"{owner}: a ref field names what it picks: ref: {' | '.join(REFS)}")
    if ftype == "datetime" and spec.get("when", "past") not in ("past", "future"):
        fail(f"{owner}: 'when' is past or future, not '{spec['when']}'")
    if not isinstance(spec.get("personal", False), bool):
        fail(f"{owner}: 'personal' is true or false")
    options = {k: v for k, v in spec.items() if k not in ("type", "required", "personal") and k not in WORD_KEYS}
    return FieldSpec(name=str(name), type=ftype, required=bool(spec.get("required")), options=options,
                     label=label, label_en=label_en, help=_text(spec, "help", owner, fail),
                     help_en=_text(spec, "help_en", owner, fail), widget=widget, choices=choices,
                     personal=spec.get("personal", False))


def _parse_choices(owner, raw, fail) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        fail(f"{owner}: a choice field lists its choices (value, label, label_en)")
    choices = []
    for item in raw:
        if not isinstance(item, dict) or "value" not in item:
            fail(f"{owner}: each choice is a mapping with value, label and label_en")
        label, label_en = _words(f"{owner}: choice '{item['value']}'", item, fail)
        choices.append(Choice(value=str(item["value"]), label=label, label_en=label_en))
    if len({c.value for c in choices}) != len(choices):
        fail(f"{owner}: a choice value is listed twice")
    return tuple(choices)


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
            if spec.widget == "location" and other is None:
                fail(f"trigger '{trig.name}': a location field '{spec.name}' goes together_with its longitude")

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
        fail("no final state: every instance must be able to end")
