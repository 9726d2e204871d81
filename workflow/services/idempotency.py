"""Idempotency keys: a replayed POST returns the first response and changes nothing.

The HTTP layer computes a fingerprint of the request (method, path and body) and asks
`lookup` first: a stored key with the same fingerprint is replayed; with another
fingerprint it is refused (422). Otherwise it passes an `IdempotentRequest` to the
write service, which calls `record(session, result)` inside its own transaction,
after the change: so the key is stored exactly when the change commits, and two
concurrent requests with one key cannot both commit — the second one's insert hits
the unique (user, key) constraint and its whole transaction, change included, rolls
back; the caller then replays the first response.

Only successful changes store a key: a request that failed changed nothing, and the
client may retry it with the same key. No Flask here: `render` is a plain callable.
"""
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ..clock import utcnow
from ..errors import InvalidInput
from ..models import IdempotencyKey

MAX_KEY_LENGTH = 128


@dataclass
class StoredResponse:
    status: int
    body: dict
    headers: dict


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
    return StoredResponse(status=row.status_code, body=response.get("body"), headers=response.get("headers") or {})


@dataclass
class RenderedResponse:
    """Handed to a write service; `render(result) -> (status, body, headers)` builds the
    response inside the service's transaction, just before its commit, and `stored` keeps
    it for the caller. (Rendered after the commit, its reads would need a second
    transaction: two more round trips on every write.)"""

    render: Callable
    stored: StoredResponse | None = None

    def record(self, session, result) -> None:
        session.flush()
        status, body, headers = self.render(result)
        self.stored = StoredResponse(status=status, body=body, headers=dict(headers or {}))


@dataclass
class IdempotentRequest(RenderedResponse):
    """A RenderedResponse that is also stored under the caller's Idempotency-Key, in the
    same transaction, for replays."""

    user_id: int = 0
    key: str = ""
    fingerprint: str = ""

    def record(self, session, result) -> None:
        super().record(session, result)
        session.add(IdempotencyKey(user_id=self.user_id, key=self.key, fingerprint=self.fingerprint,
                                   status_code=self.stored.status,
                                   response={"body": self.stored.body, "headers": self.stored.headers},
                                   created_at=utcnow()))
        session.flush()  # a concurrent twin fails here, and its change rolls back with it


def record(idempotency, session, result) -> None:
    """What a service calls at the end of its transaction: renders (and with a key, stores)
    the response; a no-op when the caller is not an HTTP request (CLI, tests)."""
    if idempotency is not None:
        idempotency.record(session, result)
