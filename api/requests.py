"""Facts about every request, decided once for pages and API alike: whether it is an API
request, its request id, and its JSON body parsed (once: the bad-text check, the API's body
and the idempotency fingerprint all read the same parse).

- An API request is one whose path is under /api (the JSON API and its docs): it gets the
  API's JSON error shape, no session cookie and no CSRF check; everything else is a page.
- The request id: a client's `X-Request-ID` is kept when it is 1 to 64 printable ASCII
  characters (the audit log stores at most 64), otherwise a new one is made. It is echoed in
  the response, logged, stored with every audit event, and shown on error answers.
"""
import json
import re
import uuid

from flask import g, request

API_PREFIX = "/api/"
MAX_REQUEST_ID = 64
_ACCEPTED_ID = re.compile(r"^[\x20-\x7e]{1,64}$")


MALFORMED = object()  # json_value() of a body that is not UTF-8 JSON
_UNPARSED = object()


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


def accepted_request_id(sent: str | None) -> str:
    """The client's id when acceptable, else a fresh one."""
    sent = (sent or "").strip()
    return sent if _ACCEPTED_ID.match(sent) else uuid.uuid4().hex


def request_id() -> str:
    """This request's id, decided on first use (the first before-request hook) and kept on the
    request; also in `g.request_id` for the error answers and the logs."""
    rid = getattr(request, "_baodao_request_id", None)
    if rid is None:
        rid = request._baodao_request_id = accepted_request_id(request.headers.get("X-Request-ID"))
        g.request_id = rid
    return rid


def json_value():
    """The request body as JSON, parsed once per request and kept on it: None for an empty body,
    MALFORMED for one that is not UTF-8 JSON. Whoever reads it must not change it."""
    value = getattr(request, "_baodao_json", _UNPARSED)
    if value is _UNPARSED:
        raw = request.get_data(cache=True)
        if not raw.strip():
            value = None
        else:
            try:
                value = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                value = MALFORMED
        request._baodao_json = value
    return value
