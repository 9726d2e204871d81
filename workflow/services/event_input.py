"""An audit event's input as people read it: personal fields resolved, erased ones marked.

The hashed payload of an event holds each personal field as `{"personal": digest}`
(workflow/audit.py); its value is a row of `audit_personal_values` until the retention run
erases it. Timelines, the events export and a person's own data export read events through
here, never the payload directly, so that
- a personal field shows its value while it is kept,
- an erased one (or one withheld: an event from before values were kept apart, whose text
  sits inside its hashed payload) shows as None and is named in `erased`, with the time,
- a value missing without an erasure record (tampering: verify-chain names it) shows as None,
and none of them ever breaks a page. Reads only; the caller has checked the reader's scope.
"""
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..audit import digest_of
from ..models import AuditErasure, AuditPersonalValue

# What an erased text is called in the API and the exports (pages say it in their language).
ERASED_NOTICE = "erased under the retention rules"
_CHUNK = 500  # ids per IN (…): far below either database's limit on bound parameters


@dataclass
class ReadableInput:
    input: dict
    erased: list[str] = field(default_factory=list)
    erased_at: datetime | None = None

    def erased_view(self) -> dict | None:
        """The `erased` object answers carry: which fields, when, and the notice; None when nothing was."""
        if not self.erased:
            return None
        return {"fields": list(self.erased), "at": self.erased_at, "notice": ERASED_NOTICE}


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _as_dict(payload) -> dict:
    if isinstance(payload, dict):
        return payload
    try:
        parsed = json.loads(payload or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def read_inputs(session, events) -> dict[int, ReadableInput]:
    """`events`: (event id, stored payload) pairs, or AuditEvent rows. Two queries per 500 events."""
    payloads = {}
    for item in events:
        event_id, payload = (item.id, item.payload) if hasattr(item, "payload") else item
        payloads[event_id] = _as_dict(payload)
    if not payloads:
        return {}
    erasures: dict[tuple[int, str], datetime] = {}
    for ids in _chunks(list(payloads)):
        erasures.update({(r.event_id, r.field): r.erased_at for r in session.execute(
            select(AuditErasure.event_id, AuditErasure.field, AuditErasure.erased_at)
            .where(AuditErasure.event_id.in_(ids)))})
    sealed = [i for i, p in payloads.items() if any(digest_of(v) is not None for v in p.values())]
    values: dict[tuple[int, str], str] = {}
    for ids in _chunks(sealed):
        values.update({(r.event_id, r.field): r.value for r in session.execute(
            select(AuditPersonalValue.event_id, AuditPersonalValue.field, AuditPersonalValue.value)
            .where(AuditPersonalValue.event_id.in_(ids)))})
    return {event_id: _readable(event_id, payload, values, erasures) for event_id, payload in payloads.items()}


def _readable(event_id: int, payload: dict, values: dict, erasures: dict) -> ReadableInput:
    out = ReadableInput(input={})
    for name, stored in payload.items():
        key = (event_id, name)
        if key in erasures:  # erased, or withheld (an older event's text inside its payload)
            out.input[name] = None
            out.erased.append(name)
            out.erased_at = max(filter(None, (out.erased_at, erasures[key])))
        elif digest_of(stored) is not None:
            text = values.get(key)
            out.input[name] = None if text is None else json.loads(text)
        else:
            out.input[name] = stored
    return out
