"""What one app runs with: the definitions it loaded, which version of each process new
instances start under, and the policy numbers its services read.

`create_app` builds a `Runtime` from its configuration and keeps it in
`app.extensions["baodao"]`; services, commands and tests read it with `current()` inside
the app's context. Nothing here is a module global: two apps made in one process with
different settings each see their own.
"""
from dataclasses import dataclass, field


from .engine import CompiledDefinition, DefinitionRegistry, Settings
from .extensions import app_extension
from .errors import DefinitionError

EXTENSION = "baodao"


@dataclass(frozen=True)
class Retention:
    """How long personal texts are kept (days), applied by `flask retention run`
    (services/erasure.py; the reasons are in docs/privacy.md)."""

    household_note_days: int = 90  # after the task ended (and no claim on it is live)
    record_days: int = 3 * 365  # visits' notes and locations, summaries, reasons, photos: after the claim ended
    idempotency_days: int = 30  # stored answers of idempotent requests (a retry window, not a record)

    def __post_init__(self):
        for name in ("household_note_days", "record_days", "idempotency_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"retention {name} must be a whole number of days, at least 1 (not {value!r})")


@dataclass
class NotifyPolicy:
    """How notifications leave the app (services/outbox.py): the external channels set up
    (("email",) when BAODAO_SMTP_URL is set), and the defaults of quiet hours and the daily
    digest's time, in the district's time ("HH:MM"; quiet_hours None: none)."""

    channels: tuple[str, ...] = ()
    quiet_hours: tuple[str, str] | None = ("22:00", "08:00")
    digest_time: str = "08:00"


@dataclass
class Policy:
    """Numbers the services read. Guards see the engine's part of it as `ctx.settings`."""

    settings: Settings = field(default_factory=Settings)
    notify: NotifyPolicy = field(default_factory=NotifyPolicy)
    # Dashboard rollup freshness (services/stats.py): refresh inline when the last refresh took
    # at most this long, and always when the rollup is older than the maximum age.
    stats_inline_ms: float = 250
    stats_max_age_s: float = 900
    # How long a report may wait for staff before the queue marks it overdue (services/review.py).
    review_days: float = 3
    # Different household notes a member may open in any 24 hours (services/household.py).
    household_reads_per_day: int = 10
    retention: Retention = field(default_factory=Retention)


def parse_ref(text: str) -> tuple[str, int]:
    """"dual_reporting@2" → ("dual_reporting", 2); a bare name means version 1."""
    name, _, version = text.strip().partition("@")
    if not name or (version and not version.isdigit()):
        raise DefinitionError(text, "name a definition as name@version, e.g. dual_reporting@2")
    return name, int(version or 1)


class Runtime:
    def __init__(self, registry: DefinitionRegistry, policy: Policy | None = None, *, upload_dir: str = ""):
        self.registry = registry
        self.policy = policy or Policy()
        self.upload_dir = upload_dir  # the photo store (BAODAO_UPLOAD_DIR), for scheduled work
        self._active: dict[str, int] = {}  # process name → version new instances start under

    def activate(self, ref: str) -> None:
        """Make `name@version` the version new instances of that process start under."""
        name, version = parse_ref(ref)
        self.registry.get(name, version)  # refuses a version that is not loaded
        self._active[name] = version

    def active_version(self, name: str) -> int:
        """The configured version of a process, else its first: a newly shipped version
        applies only when configured (instances already running keep theirs anyway)."""
        if name in self._active:
            return self._active[name]
        versions = self.registry.versions(name)
        if not versions:
            raise DefinitionError(name, "no version of this definition is loaded")
        return versions[0]

    def is_active(self, name: str, version: int) -> bool:
        return self.active_version(name) == version

    def claim_process(self) -> str:
        return self._claim_process

    def configure_claim_process(self, ref: str) -> None:
        """BAODAO_WORKFLOW: the claim process (name@version) new claims start under."""
        self.activate(ref)
        self._claim_process = parse_ref(ref)[0]

    _claim_process = "dual_reporting"

    def active(self, subject: str) -> CompiledDefinition:
        """The definition new instances of `subject` start under."""
        if subject == "claim":
            name = self._claim_process
        else:
            names = self.registry.names(subject)
            configured = [n for n in names if n in self._active]
            candidates = configured or names
            if len(candidates) != 1:
                raise DefinitionError(subject, "name the active process for this subject in BAODAO_WORKFLOWS "
                                               f"(loaded: {', '.join(names) or 'none'})")
            name = candidates[0]
        return self.registry.get(name, self.active_version(name))


def build(*, claim_process: str | None = None, processes: str = "", extra_dirs: tuple[str, ...] = (),
          policy: Policy | None = None, upload_dir: str = "") -> Runtime:
    """A runtime from configuration text: BAODAO_WORKFLOW (the claim process, name@version),
    BAODAO_WORKFLOWS (comma-separated name@version, any process) and BAODAO_DEFINITIONS_DIRS.
    Without BAODAO_WORKFLOW the claim process is the one BAODAO_WORKFLOWS names, else
    dual_reporting. A reference to a definition that is not loaded, or two versions named for
    one process, stops start-up."""
    runtime = Runtime(DefinitionRegistry.from_directories(*extra_dirs), policy, upload_dir=upload_dir)
    refs = [parse_ref(r) for r in processes.split(",") if r.strip()]
    named: dict[str, int] = {}
    for name, version in refs + ([parse_ref(claim_process)] if claim_process else []):
        if named.setdefault(name, version) != version:
            raise DefinitionError(name, f"two versions named for one process: {name}@{named[name]} and "
                                        f"{name}@{version} (BAODAO_WORKFLOW and BAODAO_WORKFLOWS must agree)")
    for name, version in refs:
        runtime.activate(f"{name}@{version}")
    if not claim_process:
        claims = [f"{n}@{v}" for n, v in refs if runtime.registry.get(n, v).definition.subject == "claim"]
        claim_process = claims[0] if len(claims) == 1 else f"dual_reporting@{runtime.active_version('dual_reporting')}"
    runtime.configure_claim_process(claim_process)
    if runtime.registry.get(*parse_ref(claim_process)).definition.subject != "claim":
        raise DefinitionError(claim_process, "BAODAO_WORKFLOW must name a claim process")
    return runtime


def current() -> Runtime:
    """The runtime of the app whose context is active."""
    return app_extension(EXTENSION)


def registry() -> DefinitionRegistry:
    return current().registry
