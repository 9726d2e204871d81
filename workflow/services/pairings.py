"""Pairings (结对共建): a unit's liaison (or an admin, for a unit) proposes a co-building
agreement with a community; every later step (accept, decline, withdraw, renew, end) is a
trigger on the engine; `lapse` is fired by the definition's timer when the end date has passed.

Proposing is the pairing process's creating trigger (`propose`, from `new`), built as applying
for a registration is: the unit's own row is locked first (FOR NO KEY UPDATE), so two proposals
of one unit at once are checked one at a time and at most one live pairing per unit and
community exists (the `one_live_pairing` guard; a partial unique index backs it). Every trigger
on an existing pairing takes the same unit lock first (services/subjects.py, PairingKind.lock).
"""
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from .. import runtime
from ..clock import day_end, utcnow
from ..errors import Forbidden, InvalidInput
from ..models import Community, Pairing
from . import scope, transitions
from .idempotency import record as record_idempotency
from .subjects import kind as subject_kind
from .subjects import lock_unit
from .tx import write_transaction

SUBJECT = "pairing"


def live_states() -> tuple[str, ...]:
    return runtime.registry().live_states(SUBJECT)


def _unit_of(actor, data: dict) -> int:
    """Whose pairing it is: a liaison's own unit; an admin names it (`unit_id`)."""
    if actor.role == "liaison":
        if data.get("unit_id") not in (None, actor.unit_id):
            raise InvalidInput("a liaison proposes for their own unit", errors={
                "unit_id": ["You propose for your own unit only: leave it out."]})
        return actor.unit_id
    if data.get("unit_id") is None:
        raise InvalidInput("an admin names the unit", errors={"unit_id": ["Required: the unit it is for."]})
    return data["unit_id"]


def propose(actor, data: dict | None, *, request_id: str | None = None, now=None,
            idempotency=None) -> transitions.TransitionResult:
    """A new pairing under the active pairing process, in state `proposed`. Refused (409,
    `one_live_pairing`) while the unit has a live pairing with that community."""
    now = now or utcnow()
    if actor.role not in ("liaison", "admin"):
        raise Forbidden("only a unit's liaison (or an admin) proposes a pairing")
    compiled = runtime.current().active(SUBJECT)
    trigger = compiled.definition.creating_triggers[0]
    kind = subject_kind(SUBJECT)
    data = transitions.validate(compiled, trigger, data, now=now)
    unit_id = _unit_of(actor, data)
    with write_transaction() as session:
        unit = lock_unit(session, unit_id)  # also: an admin's unit_id exists (check_input says so too)
        kind.check_input(session, trigger, actor, None, {}, data)  # community and unit exist, the end date
        if unit is None:
            raise InvalidInput("unknown unit", errors={"unit_id": ["Not one of the options here."]})
        community = session.get(Community, data["community_id"])
        related = {"unit": unit, "community": community}
        # Added in the initial state but not flushed: the guards run first, then the row is
        # inserted once, already proposed (a refusal rolls back and leaves nothing).
        pairing = Pairing(
            unit_id=unit.id, community_id=community.id, state=compiled.definition.initial, version=0,
            definition_name=compiled.definition.name, definition_version=compiled.definition.version,
            agreement=data["agreement"], ends_on=data["ends_on"], term_ends_at=day_end(data["ends_on"]),
            proposed_by_id=actor.id, created_at=now, updated_at=now)
        set_committed_value(pairing, "unit", unit)
        set_committed_value(pairing, "community", community)
        if not kind.relations(actor, pairing, related).intersection(trigger.roles):
            raise Forbidden(f"your role may not {trigger.name} a pairing")
        session.add(pairing)
        transitions.step(session, SUBJECT, compiled, trigger, pairing, related, actor, data, now=now,
                         request_id=request_id, head=(0, None), recorded={"unit_id": unit.id})
        answer = transitions.result(session, SUBJECT, pairing, related, actor, now=now, created=True)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def fire(pairing_id: int, trigger_name: str, actor, data: dict | None = None,
         **kw) -> transitions.TransitionResult:
    """Fire a pairing trigger (accept, decline, withdraw, renew, end)."""
    return transitions.fire(SUBJECT, pairing_id, trigger_name, actor, data, **kw)


def allowed_triggers(session, actor, pairing, *, now=None) -> list[str]:
    return transitions.allowed_triggers(session, actor, SUBJECT, pairing, now=now)


def get_pairing(session, actor, pairing_id: int) -> Pairing:
    return scope.visible_pairing(session, actor, pairing_id)


def active_pairing(session, unit_id: int, community_id: int) -> Pairing | None:
    return session.scalar(select(Pairing).where(Pairing.unit_id == unit_id, Pairing.community_id == community_id,
                                                Pairing.state == "active").limit(1))
