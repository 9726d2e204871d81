"""A subject's timeline: its audit events, oldest first, with the actors' names.

Built once for pages and the API (each renders it in its own way). Reads only; the caller
has already checked that the reader may see the subject. An event's `input` is what people
read (services/event_input.py): personal fields resolved, erased ones None and named in
`erased`.
"""
from sqlalchemy import select

from ..models import AuditEvent
from .event_input import read_inputs
from .names import visible_names


def events(session, subject_type: str, subject_id: int, reader, *, labels: dict | None = None) -> list[dict]:
    """`reader`'s view: a member outside the reader's scope is a role (`labels`, default Chinese),
    without name or id (services/names.py; a task's fill/reopen name the member who caused them)."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                    AuditEvent.subject_id == subject_id)
                           .order_by(AuditEvent.seq)).all()
    names = visible_names(session, reader, (r.actor_id for r in rows), labels=labels)
    inputs = read_inputs(session, rows)
    return [{
        "id": r.id, "subject_type": r.subject_type, "seq": r.seq, "trigger": r.trigger, "from_state": r.from_state, "to_state": r.to_state,
        # name None: the system (scheduled work), which each layer names in its own words
        "actor": {"id": None if names.hidden(r.actor_id) else r.actor_id,
                  "name": names.get(r.actor_id) if r.actor_id else None, "role": r.actor_role},
        "created_at": r.created_at, "input": inputs[r.id].input, "erased": inputs[r.id].erased_view(),
        "request_id": r.request_id, "definition": r.definition, "hash": r.hash, "prev_hash": r.prev_hash,
    } for r in rows]
