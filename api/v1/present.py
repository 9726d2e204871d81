"""What only the API presents: the caller (GET /me), and timelines in its words. Subjects'
views (tasks, claims) are the services' (workflow/services/views.py). Reads only."""
from workflow.services import timeline
from workflow.services.views import place


def events(session, subject_type: str, subject_id: int, reader) -> list[dict]:
    out = timeline.events(session, subject_type, subject_id, reader)
    for event in out:
        if event["actor"]["name"] is None:
            event["actor"]["name"] = "system"
    return out


def me_dict(user) -> dict:
    if user.role == "admin":
        scope_out = {"kind": "all", "code": None, "name": None}
    elif user.role == "staff":
        scope_out = {"kind": "community", **place(user.community)}
    elif user.role == "member":
        scope_out = {"kind": "own", "code": None, "name": None}
    elif user.scope_town_id:
        scope_out = {"kind": "town", **place(user.scope_town)}
    elif user.unit_id:
        scope_out = {"kind": "unit", **place(user.unit)}
    else:
        scope_out = {"kind": "district", "code": None, "name": None}
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role, "scope": scope_out,
            "unit": place(user.unit), "community": place(user.community)}
