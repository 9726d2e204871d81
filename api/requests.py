"""Two facts about every request, decided once for pages and API alike: whether it is an
API request, and its request id.

- An API request is one whose path is under /api (the JSON API and its docs): it gets the
  API's JSON error shape, no session cookie and no CSRF check; everything else is a page.
- The request id: a client's `X-Request-ID` is kept when it is 1 to 64 printable ASCII
  characters (the audit log stores at most 64), otherwise a new one is made. It is echoed in
  the response, logged, stored with every audit event, and shown on error answers.
"""
import re
import uuid

from flask import g, request

API_PREFIX = "/api/"
MAX_REQUEST_ID = 64
_ACCEPTED_ID = re.compile(r"^[\x20-\x7e]{1,64}$")


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
