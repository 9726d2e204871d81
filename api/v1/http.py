"""Request plumbing shared by the /api/v1 resources: request ids, bearer authentication,
JSON bodies, ETags and If-Match, and Idempotency-Key replays. No business rules here."""
import re

from flask import current_app, g, jsonify, make_response, request
from flask.globals import request_ctx
from flask.sessions import NullSession, SecureCookieSession
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from workflow.errors import DomainError, InvalidInput
from workflow.extensions import db
from workflow.services import auth as auth_service
from workflow.services import idempotency
from workflow.models import UnitResource
from workflow.services.subjects import KINDS
from workflow.services.views import etag as view_etag

from ..requests import MALFORMED, is_api_request, json_value
from ..requests import request_id as _request_id
from .errors import ApiError

PREFIX = "/api/v1"
ETAG_RE = re.compile(r'^(?:W/)?"([a-z_]+)-(\d+)-v(\d+)"$')
JSON_BODY_LIMIT = 1024 * 1024
# Versioned rows an If-Match may name that are not a process's subjects.
VERSIONED = {"resource": UnitResource}
UPLOAD_BODY_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # the photo plus the multipart envelope


# -- request ids and the cookie-free session --------------------------------------------------

class _DiscardedSession(NullSession):
    """The API's session: starts empty (a session cookie is ignored), accepts writes, and is
    never saved — so no API response ever sets a cookie. (Flask skips saving null sessions.)"""

    __setitem__ = SecureCookieSession.__setitem__
    __delitem__ = SecureCookieSession.__delitem__
    clear = SecureCookieSession.clear
    pop = SecureCookieSession.pop
    popitem = SecureCookieSession.popitem
    update = SecureCookieSession.update
    setdefault = SecureCookieSession.setdefault


def before_api_request():
    if not is_api_request():
        return
    _request_id()
    ctx = request_ctx._get_current_object()
    if isinstance(getattr(type(ctx), "session", None), property):  # Flask ≥ 3.1 keeps it in _session
        ctx._session = _DiscardedSession()
    else:
        ctx.session = _DiscardedSession()
    # Refuse large bodies by Content-Length before reading them (and cap streamed ones).
    limit = UPLOAD_BODY_LIMIT if request.path == PREFIX + "/uploads" else JSON_BODY_LIMIT
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body too large (at most {limit} bytes here)", error="too_large",
                       errors={"files" if limit == UPLOAD_BODY_LIMIT else "json":
                               {"_body": [f"At most {limit} bytes."]}})


def after_api_request(response):
    if is_api_request():
        response.headers["X-Request-ID"] = _request_id()
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.pop("Set-Cookie", None)
    return response


def request_id() -> str:
    return _request_id()


# -- authentication ----------------------------------------------------------------------------

def public(view):
    """Mark a view as reachable without a bearer token."""
    view._api_public = True
    return view


def authenticate():
    """Blueprint before_request: every API view but the public ones needs a live bearer token."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "_api_public", False):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "a bearer token is required (POST /api/v1/auth/token)", error="unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="baodao"'})
    found = auth_service.resolve(token.strip())
    if found is None:
        raise ApiError(401, "the token is unknown, expired or revoked", error="invalid_token",
                       headers={"WWW-Authenticate": 'Bearer realm="baodao", error="invalid_token"'})
    g.actor, g.api_token = found
    if g.actor.must_change_password and request.endpoint not in FORCED_CHANGE_OPEN:
        raise ApiError(403, "the password was set by an administrator: set your own first (POST /api/v1/me/password)",
                       error="password_change_required")


# What a token of a user who must change their password may still do: change it, or give the token up.
FORCED_CHANGE_OPEN = {"v1_me.change_password", "v1_auth.revoke_token"}


def actor():
    return g.actor


# -- bodies --------------------------------------------------------------------------------------

def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_body() -> dict:
    """The request's JSON object ({} for an empty body). 415 for another content type,
    400 for malformed JSON, 422 when it is not an object. Validation is the services' job.
    The object is the request's one parse (api/requests.py): read it, never change it."""
    g.input_location = "json"
    value = json_value()  # parsed once per request (api/requests.py)
    if value is None:
        return {}
    if not _is_json(request.mimetype):
        raise ApiError(415, "send the body as application/json", error="unsupported_media_type",
                       errors={"headers": {"Content-Type": ["Must be application/json."]}})
    if value is MALFORMED:
        raise ApiError(400, "the body is not valid JSON", error="malformed_json",
                       errors={"json": {"_body": ["Invalid JSON body."]}})
    if not isinstance(value, dict):
        raise ApiError(422, "the body must be a JSON object", error="invalid_input",
                       errors={"json": {"_schema": ["Must be a JSON object."]}})
    return value


# -- pages -----------------------------------------------------------------------------------------

MAX_PAGE = 100_000  # × at most 100 per page: offsets stay far inside both databases' integers


def first_item(pagination_parameters) -> int:
    """The offset of the requested page; 422 for a page number past MAX_PAGE (an offset that
    large would overflow the database's integer instead of answering with an empty page)."""
    if pagination_parameters.page > MAX_PAGE:
        raise ApiError(422, f"page must be at most {MAX_PAGE}", error="invalid_input",
                       errors={"query": {"page": [f"Must be less than or equal to {MAX_PAGE}."]}})
    return pagination_parameters.first_item


# -- ETags -----------------------------------------------------------------------------------------

def etag(kind: str, obj) -> str:
    return view_etag(kind, obj)


def expected_version(kind: str, ident: int) -> int | None:
    """The version an If-Match header names for this object; None without the header or with `*`.
    A header naming none of this object's ETags can never match (-1: the service answers 412)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if "*" in tags:
        return None
    versions = []
    for tag in tags:
        m = ETAG_RE.match(tag)
        if m and m.group(1) == kind and int(m.group(2)) == ident:
            versions.append(int(m.group(3)))
    if len(versions) > 1:  # several tags: the current one if listed (the service re-checks under its lock)
        model = KINDS[kind].model if kind in KINDS else VERSIONED[kind]
        current = db.session.scalar(select(model.version).where(model.id == ident))
        return current if current in versions else versions[0]
    return versions[0] if versions else -1


# -- Idempotency-Key -------------------------------------------------------------------------------

def _respond(status: int, body, headers: dict, *, replayed: bool = False):
    response = make_response(jsonify(body), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _replay(stored: idempotency.StoredResponse, render):
    if stored.view is not None:
        return _respond(*render(stored.view, stored.status), replayed=True)
    return _respond(stored.status, stored.body, stored.headers, replayed=True)  # a row from before views


def idempotent_post(call, render, *, fingerprint_body: bytes | None = None):
    """Run a write service with the request's Idempotency-Key (when sent).

    `call(idempotency)` performs the change, passing `idempotency` (None without a key) on to
    the service, which records its answer's view with it before committing; it returns the
    service's result (`view`, `created`). `render(view, status) -> (status, body, headers)`
    builds the response from a view, the same way for the first answer and for a replay of
    the stored one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        result = call(None)
        return _respond(*render(result.view, 201 if result.created else 200))
    try:
        idempotency.check_key(key)
    except InvalidInput as exc:
        raise ApiError(400, exc.message, error="bad_idempotency_key", errors={"headers": exc.errors}) from None
    if fingerprint_body is None:
        fingerprint_body = idempotency.canonical_json(json_body())
    fp = idempotency.fingerprint(request.method, request.path, fingerprint_body)
    user_id = actor().id

    def _lookup():
        try:
            return idempotency.lookup(db.session, user_id, key, fp)
        except InvalidInput as exc:
            raise ApiError(422, exc.message, error="idempotency_key_reused", errors={"headers": exc.errors}) \
                from None

    stored = _lookup()
    if stored is not None:
        return _replay(stored, render)
    pending = idempotency.IdempotentRequest(user_id=user_id, key=key, fingerprint=fp)
    try:
        result = call(pending)
    except (IntegrityError, DomainError):
        # A concurrent request with the same key may have committed first: then ours either hit
        # the key's unique constraint or was refused by a guard its change tripped (the member
        # already holds the claim). Ours rolled back whole; answer with the first response.
        db.session.rollback()
        stored = _lookup()
        if stored is None:
            raise
        return _replay(stored, render)
    # Rendered from the stored (JSON) form of the view, so a later replay answers byte for byte the same.
    return _respond(*render(idempotency.to_jsonable(result.view), 201 if result.created else 200))


def documented_headers(*names):
    """OpenAPI parameters for the request headers a route honours."""
    docs = {
        "Idempotency-Key": {"in": "header", "name": "Idempotency-Key", "required": False,
                            "description": "Replay protection: a retry with the same key and body returns the "
                                           "first response and changes nothing; another body is 422.",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
        "If-Match": {"in": "header", "name": "If-Match", "required": False,
                     "description": "The ETag you last saw; a stale one is 412 and changes nothing.",
                     "schema": {"type": "string"}},
    }
    return [docs[n] for n in names]
