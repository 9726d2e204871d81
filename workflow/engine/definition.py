"""The in-memory form of a workflow definition file, after the loader has checked it.

Plain frozen data: the loader builds it, the machine factory, the schema builder and
the page-form builder read it, nothing mutates it.
"""
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class SubjectSpec:
    """A kind of subject a definition may drive: what its rows keep the state in, and the
    roles (relations of an actor to one subject) its triggers may name."""

    name: str
    state_attribute: str
    roles: tuple[str, ...]
    # True: an instance comes into being by a trigger fired from the initial state, which is
    # never stored (a claim's `claim`); False: a service creates the row in the initial state
    # (a task is created as a draft, and `publish` is an ordinary trigger).
    created_by_trigger: bool = True
    # Points in time a timer may count from (see TimerSpec): `entered` (when the subject
    # entered its current state) for every kind, plus the kind's own dates.
    anchors: tuple[str, ...] = ("entered",)
    # Whom a notification about such a subject may be addressed to: relations of people to
    # one subject, computed by the subject kind (services/subjects.py, `recipients`).
    recipients: tuple[str, ...] = ()


# Who may fire a trigger. Relations to the subject, not just user roles: a member is a
# `claimant` only of their own claims; staff are `community_staff` only of subjects in
# their own community; a liaison acts for one unit. `system` is scheduled work.
SUBJECTS: dict[str, SubjectSpec] = {
    spec.name: spec for spec in (
        SubjectSpec("claim", "state", ("member", "claimant", "community_staff", "admin", "system"),
                    anchors=("entered", "deadline"), recipients=("claimant", "community_staff", "supervisors")),
        SubjectSpec("task", "status", ("community_staff", "admin", "system"), created_by_trigger=False,
                    anchors=("entered", "deadline"), recipients=("community_staff", "supervisors")),
        SubjectSpec("registration", "state", ("member", "applicant", "community_staff", "admin", "system"),
                    anchors=("entered", "end"), recipients=("applicant", "community_staff", "supervisors")),
        SubjectSpec("pairing", "state", ("liaison", "unit_liaison", "community_staff", "admin", "system"),
                    anchors=("entered", "end"), recipients=("unit_liaison", "community_staff", "supervisors")),
        SubjectSpec("project", "state", ("liaison", "project_liaison", "community_staff", "admin", "system"),
                    anchors=("entered", "deadline"), recipients=("project_liaison", "community_staff", "supervisors")),
    )
}
KNOWN_ROLES = tuple(dict.fromkeys(role for spec in SUBJECTS.values() for role in spec.roles))

# How prominent a trigger's action is on a page.
STYLES = ("primary", "secondary", "danger")


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    label_en: str
    final: bool = False


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    label_en: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    options: dict = field(default_factory=dict)
    # The words a person sees: labels and an optional help line, in Chinese and English.
    label: str = ""
    label_en: str = ""
    help: str = ""
    help_en: str = ""
    # How a page shows it where the type alone does not decide (textarea, select, radio, location).
    widget: str | None = None
    choices: tuple[Choice, ...] = ()
    # Personal data (a note, a summary, a reason that may name people, a location): kept apart
    # from the audit chain's hashed payload as a digest, and erased when its retention ends.
    personal: bool = False

    @property
    def required_for_categories(self) -> tuple[str, ...]:
        return tuple(self.options.get("required_for_categories") or ())

    @property
    def ref(self) -> str | None:
        """What a `ref` field picks from the database (grid, community); None for other types."""
        return self.options.get("ref") if self.type == "ref" else None


@dataclass(frozen=True)
class GuardCall:
    """A named guard or effect with the parameters the definition gives it."""

    name: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NotifySpec:
    """Tell people something: a notification kind (engine/notification_kinds.py) and the
    relations to the subject of those who get it (one row per person)."""

    kind: str
    to: tuple[str, ...]


@dataclass(frozen=True)
class TimerSpec:
    """Something that happens when time passes: while a subject is in one of `states`, at
    `anchor` + `offset` (e.g. the claim's deadline − 24 h, or 3 days after it entered its
    state) the system fires `fire` (an internal trigger) and/or sends `notify`. The timers
    run (services/timers.py) does each exactly once per subject and point in time."""

    name: str
    states: tuple[str, ...]
    anchor: str
    offset: timedelta
    fire: str | None = None
    notify: tuple[NotifySpec, ...] = ()
    due_text: str = ""  # as written in the file ("deadline - 24h"), for people


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
    internal: bool = False  # fired by a service (expiry, task cancel, slot count), never offered to callers
    style: str = "secondary"
    # Asked before the action runs ("" = no question), and said after it succeeded.
    confirm: str = ""
    confirm_en: str = ""
    done: str = ""
    done_en: str = ""
    # Who is told when it has fired (written in the same transaction).
    notify: tuple[NotifySpec, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        """The names of its input fields marked `personal: true`."""
        return tuple(f.name for f in self.fields if f.personal)


@dataclass(frozen=True)
class Definition:
    name: str
    version: int
    subject: str
    title: str
    title_en: str
    initial: str
    states: tuple[StateSpec, ...]
    triggers: tuple[TriggerSpec, ...]
    path: str = ""
    timers: tuple[TimerSpec, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def subject_spec(self) -> SubjectSpec:
        return SUBJECTS[self.subject]

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @property
    def live_states(self) -> tuple[str, ...]:
        """States an instance is in while it runs: neither the initial nor a final one.
        (For claims: the states in which a claim holds a slot of its task.)"""
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

    def timer(self, name: str) -> TimerSpec | None:
        return next((t for t in self.timers if t.name == name), None)

    def triggers_from(self, state: str) -> list[TriggerSpec]:
        return [t for t in self.triggers if state in t.sources]

    @property
    def creating_triggers(self) -> tuple[TriggerSpec, ...]:
        """Triggers that bring a new instance into being (they fire from the initial state only)."""
        if not self.subject_spec.created_by_trigger:
            return ()
        return tuple(t for t in self.triggers if set(t.sources) == {self.initial})
