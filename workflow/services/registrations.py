"""Registrations (报到): a member applies to the community where they live; every later step
(accept, decline, withdraw, move_grid, renew, end) is a trigger on the engine; `lapse` is
fired by the definition's `lapse` timer when a term ends without renewal.

Applying is the registration process's creating trigger (`apply`, from `new`), built as
starting a claim is: the member's own row is locked first (FOR NO KEY UPDATE), so two
applications of one member at once are checked one at a time and at most one live
registration exists (the `one_live_registration` guard; a partial unique index backs it).
Every trigger on an existing registration takes the same member lock first
(services/subjects.py, RegistrationKind.lock).

The member's community (`users.community_id`) is kept in step with their active
registration by the effects (set on accept, cleared on end and lapse): existing pages and
queries that read a member's community read the registration's. Admin paths (the CSV
import, the user form, create-user) record an already accepted registration
(`register_directly`): its chain starts with an `accept` event by the admin (or the system).
"""
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, runtime
from ..clock import district_year, utcnow, year_end
from ..errors import Forbidden, InvalidInput
from ..models import Community, Registration, User
from . import transitions
from .idempotency import record as record_idempotency
from .subjects import kind as subject_kind
from .tx import write_transaction

SUBJECT = "registration"


def lock_member(session, member_id: int) -> User | None:
    """The member's row, locked FOR NO KEY UPDATE (rows that merely reference the member, a
    points entry, are not held up by it): what serialises one member's registrations."""
    return session.scalar(select(User).where(User.id == member_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))


def live_states() -> tuple[str, ...]:
    return runtime.registry().live_states(SUBJECT)


def live_registration(session, member_id: int) -> Registration | None:
    """The member's live (applied or active) registration, if any."""
    return session.scalar(select(Registration).where(Registration.member_id == member_id,
                                                     Registration.state.in_(live_states()))
                          .order_by(Registration.id.desc()).limit(1))


def apply(actor, data: dict | None, *, request_id: str | None = None, now=None,
          idempotency=None) -> transitions.TransitionResult:
    """A member applies to a community: a new registration under the active registration
    process, in state `applied`. Refused (409, `one_live_registration`) while the member holds
    a live one, with where they are registered."""
    now = now or utcnow()
    if actor.role != "member":
        raise Forbidden("only members register with a community")
    compiled = runtime.current().active(SUBJECT)
    trigger = compiled.definition.creating_triggers[0]
    kind = subject_kind(SUBJECT)
    with write_transaction() as session:
        member = lock_member(session, actor.id)
        data = transitions.validate(compiled, trigger, data, now=now)
        related = {"member": member}
        kind.check_input(session, trigger, actor, None, related, data)  # the community exists
        community = session.get(Community, data["community_id"])
        related["community"] = community
        # Added in the initial state but not flushed: the guards run first, then the row is
        # inserted once, already applied (a refusal rolls back and leaves nothing).
        registration = Registration(
            member_id=member.id, community_id=community.id, state=compiled.definition.initial, version=0,
            definition_name=compiled.definition.name, definition_version=compiled.definition.version,
            skills=data.get("skills") or "", availability=data.get("availability") or "",
            created_at=now, updated_at=now)
        set_committed_value(registration, "member", member)
        set_committed_value(registration, "community", community)
        session.add(registration)
        transitions.step(session, SUBJECT, compiled, trigger, registration, related, actor, data, now=now,
                         request_id=request_id, head=(0, None))  # a new registration: its chain starts here
        answer = transitions.result(session, SUBJECT, registration, related, actor, now=now, created=True)
        record_idempotency(idempotency, session, answer.view, created=answer.created)
    return answer


def fire(registration_id: int, trigger_name: str, actor, data: dict | None = None,
         **kw) -> transitions.TransitionResult:
    """Fire a registration trigger (accept, decline, withdraw, move_grid, renew, end)."""
    return transitions.fire(SUBJECT, registration_id, trigger_name, actor, data, **kw)


def allowed_triggers(session, actor, registration, *, now=None) -> list[str]:
    return transitions.allowed_triggers(session, actor, SUBJECT, registration, now=now)


def get_registration(session, actor, registration_id: int) -> Registration:
    from . import scope

    return scope.visible_registration(session, actor, registration_id)


# -- the end of a term -------------------------------------------------------------------------
# A term that ended without renewal lapses by the definition's `lapse` timer (due at `end`, the
# term's end): services/timers.py fires the internal `lapse` once per registration, with the
# member and the registration locked and everything re-checked there (RegistrationKind.lock).


# -- registrations recorded by an administrator (import, user form, create-user) -------------------

def record_accepted(session, member: User, community: Community, actor, *, now, request_id=None,
                    source: str) -> Registration:
    """An active registration recorded directly, inside the caller's transaction (the caller
    holds the member's row): its chain starts with an `accept` event by `actor` (an admin, or
    the system), from the process's initial state. `source` says where it came from
    (import, admin, create-user) and goes into the event."""
    definition = runtime.current().active(SUBJECT).definition
    accept = definition.trigger("accept")
    year = district_year(now)
    registration = Registration(
        member_id=member.id, community_id=community.id, state=accept.dest, version=1,
        definition_name=definition.name, definition_version=definition.version,
        accepted_by_id=actor.id, accepted_at=now, term_year=year, term_ends_at=year_end(year),
        created_at=now, updated_at=now)
    session.add(registration)
    session.flush()
    audit.append(session, subject_type=SUBJECT, subject_id=registration.id, trigger=accept.name,
                 from_state=definition.initial, to_state=registration.state, actor=actor,
                 payload={"community_id": community.id, "term_year": year, "source": source},
                 request_id=request_id, definition=definition.label, now=now, head=(0, None))
    member.community_id = community.id
    return registration


def register_directly(session, member: User, community_id: int | None, actor, *, now, request_id=None,
                      source: str) -> Registration | None:
    """What a community given by an administrator means for a member: with no live
    registration, an active one there (recorded as accepted by `actor`); with a live one in
    that community, nothing; with a live one elsewhere, InvalidInput saying where (ending or
    withdrawing it is the member's, their staff's or an admin's own step). No community: nothing
    (the member shows as unregistered). The caller holds the member's row."""
    if member.role != "member" or community_id is None:
        return None
    live = live_registration(session, member.id) if member.id is not None else None
    if live is not None:
        if live.community_id == community_id:
            return None
        where = session.get(Community, live.community_id)
        raise InvalidInput(f"{member.username} is registered with {where.short_name} ({live.state}); end or withdraw "
                           "that registration first", errors={"community": [
                               f"Registered with {where.short_name} ({live.state}): end or withdraw it first."]})
    if member.id is None:
        session.flush()
    community = session.get(Community, community_id)
    return record_accepted(session, member, community, actor, now=now, request_id=request_id, source=source)
