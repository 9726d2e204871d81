"""A subject's timeline: its audit events, oldest first, with the actors' names.

Built once for pages and the API (each renders it in its own way). Reads only; the caller
has already checked that the reader may see the subject. An event's `input` is what people
read (services/event_input.py): personal fields resolved, erased ones None and named in
`erased`.
"""
from sqlalchemy import select

from ..models import AuditEvent, User
from .event_input import read_inputs


def events(session, subject_type: str, subject_id: int) -> list[dict]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                    AuditEvent.subject_id == subject_id)
                           .order_by(AuditEvent.seq)).all()
    ids = {r.actor_id for r in rows if r.actor_id is not None}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    inputs = read_inputs(session, rows)
    return [{
        "id": r.id, "subject_type": r.subject_type, "seq": r.seq, "trigger": r.trigger, "from_state": r.from_state, "to_state": r.to_state,
        # name None: the system (scheduled work), which each layer names in its own words
        "actor": {"id": r.actor_id, "name": names.get(r.actor_id) if r.actor_id else None, "role": r.actor_role},
        "created_at": r.created_at, "input": inputs[r.id].input, "erased": inputs[r.id].erased_view(),
        "request_id": r.request_id, "definition": r.definition, "hash": r.hash, "prev_hash": r.prev_hash,
    } for r in rows]
