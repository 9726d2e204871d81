"""Read models of registrations (报到): one registration as the data an answer shows. Reads only.

Like views.py for tasks and claims: a transition's service builds the view inside its
transaction; the API dumps it, an idempotent replay returns it, pages may read it.
"""
from .views import etag


def ref(obj) -> dict | None:
    """A row people pick by name: its id and name (a grid, a person)."""
    return None if obj is None else {"id": obj.id, "name": obj.name}


def community_ref(community) -> dict | None:
    return None if community is None else {"id": community.id, "code": community.code, "name": community.name}


def term(registration) -> dict | None:
    """The calendar year the registration runs for and when it ends (UTC); None until accepted."""
    if registration.term_year is None:
        return None
    return {"year": registration.term_year, "ends_at": registration.term_ends_at}


def registration_view(registration, definition, allowed: list[str]) -> dict:
    state = definition.state(registration.state)
    community, member = registration.community, registration.member
    unit = member.unit
    return {
        "id": registration.id,
        "member": ref(member),
        "unit": None if unit is None else {"id": unit.id, "code": unit.code, "name": unit.name},
        "community": community_ref(community),
        "town": {"code": community.town.code, "name": community.town.name},
        "grid": ref(registration.grid),
        "state": registration.state, "state_label": state.label, "final": state.final,
        "skills": registration.skills or "", "availability": registration.availability or "",
        "households": registration.households,
        "accepted_by": ref(registration.accepted_by) if registration.accepted_by_id else None,
        "accepted_at": registration.accepted_at,
        "term": term(registration),
        "last_reason": registration.last_reason,
        "version": registration.version, "etag": etag("registration", registration),
        "definition": {"name": registration.definition_name, "version": registration.definition_version},
        "created_at": registration.created_at, "updated_at": registration.updated_at,
        "allowed_triggers": list(allowed),
    }


def summary(registration) -> dict | None:
    """A member's live registration in a few words (GET /me, the receipt report)."""
    if registration is None:
        return None
    return {"id": registration.id, "state": registration.state, "community": community_ref(registration.community),
            "grid": ref(registration.grid), "households": registration.households,
            "since": registration.accepted_at, "term": term(registration)}
