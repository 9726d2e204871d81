"""How and when each person hears from the external channel (e-mail): per kind, immediately,
in a daily digest or in the app only; quiet hours; the language of their messages.

Nothing is stored until a person changes something: the kinds' defaults (engine/
notification_kinds.py) and the district's default quiet hours (BAODAO_QUIET_HOURS) apply.
The in-app inbox always has everything; these choices only decide what is also sent.
"""
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from .. import runtime
from ..engine.notification_kinds import MODES, NOTIFICATION_KINDS, NotificationKind
from ..errors import InvalidInput
from ..models import NotificationPreference, NotificationSettings
from .outbox import LANGUAGES, parse_hhmm, settings_quiet
from .tx import write_transaction


@dataclass
class Preferences:
    modes: dict[str, str]  # kind → mode, for the kinds this person may receive
    quiet_hours: tuple[str, str] | None
    language: str
    kinds: list[NotificationKind]


def kinds_for(role: str) -> list[NotificationKind]:
    """The kinds a person of this role may receive, in the registry's order."""
    return [k for k in NOTIFICATION_KINDS.values() if role in k.audience]


def load(session, user) -> Preferences:
    kinds = kinds_for(user.role)
    chosen = dict(session.execute(select(NotificationPreference.kind, NotificationPreference.mode)
                                  .where(NotificationPreference.user_id == user.id)).all())
    settings_row = session.get(NotificationSettings, user.id)
    policy = runtime.current().policy.notify
    return Preferences(
        modes={k.name: chosen.get(k.name) if chosen.get(k.name) in MODES else k.default for k in kinds},
        quiet_hours=settings_quiet(settings_row, policy),
        language=settings_row.language if settings_row is not None else "zh_CN",
        kinds=kinds)


def save(user, *, modes: dict, quiet_hours: tuple[str, str] | None, language: str) -> None:
    """Store a person's choices (all of them at once, as the settings page sends them)."""
    kinds = {k.name for k in kinds_for(user.role)}
    errors = {}
    for kind, mode in modes.items():
        if kind not in kinds:
            errors[kind] = ["Not a notification you receive."]
        elif mode not in MODES:
            errors[kind] = [f"Must be one of: {', '.join(MODES)}."]
    if quiet_hours is not None:
        for name, value in zip(("quiet_start", "quiet_end"), quiet_hours):
            try:
                parse_hhmm(value)
            except ValueError:
                errors[name] = ["A time of day as HH:MM."]
        if not errors and quiet_hours[0] == quiet_hours[1]:
            errors["quiet_end"] = ["Quiet hours must end at another time than they start."]
    if language not in LANGUAGES:
        errors["language"] = [f"Must be one of: {', '.join(LANGUAGES)}."]
    if errors:
        raise InvalidInput("invalid notification settings", errors=errors)
    with write_transaction() as session:
        session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user.id))
        if modes:
            session.execute(insert(NotificationPreference.__table__),
                            [{"user_id": user.id, "kind": kind, "mode": mode} for kind, mode in sorted(modes.items())])
        row = session.get(NotificationSettings, user.id)
        if row is None:
            row = NotificationSettings(user_id=user.id)
            session.add(row)
        row.quiet_start, row.quiet_end = quiet_hours if quiet_hours else (None, None)
        row.language = language
