"""Idempotency keys: a replayed POST returns the first response and changes nothing.

The HTTP layer computes a fingerprint of the request (method, path and body) and asks
`lookup` first: a stored key with the same fingerprint is replayed; with another
fingerprint it is refused (422). Otherwise it passes an `IdempotentRequest` to the
write service, which calls `record(...)` with its answer's view inside its own
transaction, after the change: so the key is stored exactly when the change commits, and two
concurrent requests with one key cannot both commit — the second one's insert hits
the unique (user, key) constraint and its whole transaction, change included, rolls
back; the caller then replays the first response.

Only successful changes store a key: a request that failed changed nothing, and the
client may retry it with the same key. No Flask here, and no callback into the HTTP
layer: what is stored is the answer's data (the view), which that layer renders.
"""
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from ..audit import to_jsonable
from ..clock import utcnow
from ..errors import InvalidInput
from ..models import IdempotencyKey

MAX_KEY_LENGTH = 128


@dataclass
class StoredResponse:
    """A stored answer: its status and the view it showed, which the HTTP layer renders
    again exactly as the first time (rows written before views were stored keep their
    rendered `body` and `headers`)."""

    status: int
    view: dict | None = None
    body: dict | None = None
    headers: dict = field(default_factory=dict)


def fingerprint(method: str, path: str, body: bytes | str) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8")
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode("utf-8"), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def canonical_json(value) -> bytes:
    """Key order and whitespace do not make two JSON bodies different."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput("bad Idempotency-Key",
                           errors={"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} printable ASCII characters."]})
    return key


def lookup(session, user_id: int, key: str, fp: str) -> StoredResponse | None:
    """The stored response for this user's key; InvalidInput when the key was used for another request."""
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.fingerprint != fp:
        raise InvalidInput("this Idempotency-Key was used for a different request",
                           errors={"Idempotency-Key": ["Already used with another method, path or body."]})
    response = row.response or {}
    if "view" in response:
        return StoredResponse(status=row.status_code, view=response["view"])
    return StoredResponse(status=row.status_code, body=response.get("body"), headers=response.get("headers") or {})


@dataclass
class Answer:
    """A write's answer when it is not a transition (an upload): its view, and whether it created."""

    view: dict
    created: bool = False


@dataclass
class IdempotentRequest:
    """Handed by the HTTP layer to a write service when the request carried an
    Idempotency-Key: the service records its answer's view under the key, in its own
    transaction, just before its commit."""

    user_id: int
    key: str
    fingerprint: str

    def record(self, session, view: dict, status: int) -> None:
        session.add(IdempotencyKey(user_id=self.user_id, key=self.key, fingerprint=self.fingerprint,
                                   status_code=status, response={"view": to_jsonable(view)}, created_at=utcnow()))
        session.flush()  # a concurrent twin fails here, and its change rolls back with it


def record(idempotency, session, view: dict, *, created: bool = False) -> None:
    """What a service calls at the end of its transaction with its answer's view (201 when it
    created the subject, else 200); a no-op when the request carried no key (or for the CLI)."""
    if idempotency is not None:
        idempotency.record(session, view, 201 if created else 200)
