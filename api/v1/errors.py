"""One JSON error shape for everything under /api/v1.

    {"code": 409, "status": "Conflict", "message": "...", "errors": {...},
     "error": "transition_not_allowed", "request_id": "...", ...details}

`code`, `status`, `message` and `errors` are flask-smorest's shape; `message` and the field
messages are in the language the caller's `Accept-Language` prefers (Chinese by default, English
for `en`; workflow/messages.py), and the response says which in `Content-Language`; `errors` maps an
input location (json, query, files, headers) to field messages. `error` is a stable
machine-readable code; `request_id` is the X-Request-ID of the response. Domain errors
add their details (409: `state`, `allowed_triggers`, `reason`; 412: `current_version`;
429: `retry_after`). Nothing else — never a stack trace.

The database being unreachable, restarting or timing out (workflow.faults.database_unavailable)
is 503 `database_unavailable` with `Retry-After`, not a 500: the client may retry. The
pages answer the same case with a friendly page (api/pages/common.py).
"""
import logging

from flask import current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from workflow import messages
from workflow.errors import DomainError, InvalidInput
from workflow.faults import database_unavailable
from workflow.extensions import db

log = logging.getLogger("baodao.api")

STATUS_NAMES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 412: "Precondition Failed", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Entity", 428: "Precondition Required", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid_input", 429: "too_many_requests", 500: "internal_error",
              503: "database_unavailable"}


def retry_after() -> int:
    return int(current_app.config.get("BAODAO_RETRY_AFTER", 5))


def unavailable_cause(exc: BaseException) -> BaseException | None:
    """The database outage behind this error (itself, or what a 500 wraps), else None."""
    cause = getattr(exc, "original_exception", None) if isinstance(exc, InternalServerError) else exc
    return cause if cause is not None and database_unavailable(cause) else None


def rollback_quietly() -> None:
    """End the failed transaction; on a dead connection even that may fail, and must not mask the 503."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        log.debug("rollback after a database outage failed", exc_info=True)


class ApiError(HTTPException):
    """An error raised by the API layer itself, with its machine code and located field errors."""

    def __init__(self, status: int, message: str, *, error: str | None = None, errors: dict | None = None,
                 headers: dict | None = None, **details):
        super().__init__(message)
        self.code = status
        self.message = message
        self.error = error or HTTP_CODES.get(status, "error")
        self.errors = errors or {}
        self.extra_headers = headers or {}
        self.details = details


def api_locale() -> str:
    """zh_CN unless the caller's Accept-Language prefers English (outside a request: Chinese)."""
    if not request:
        return "zh_CN"
    for tag, _quality in request.accept_languages:  # best first; en-US counts as English, zh-TW as Chinese
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in ("en", "zh"):
            return "en" if primary == "en" else "zh_CN"
    return "zh_CN"


def payload(status: int, message: str, *, error: str, errors: dict | None = None, **details) -> dict:
    """The one shape, its message and field messages in the caller's language (the codes stay)."""
    locale = api_locale()
    body = {"code": status, "status": STATUS_NAMES.get(status, "Error"),
            "message": messages.error_message(error, message, locale, reason=details.get("reason")),
            "errors": messages.field_messages(errors or {}, locale), "error": error,
            "request_id": g.get("request_id")}
    body.update({k: v for k, v in details.items() if k not in body})
    return body


def _located(errors: dict) -> dict:
    """A service's {field: messages} under the input location of this request."""
    if not errors:
        return {}
    location = g.get("input_location") or ("query" if request.method in ("GET", "DELETE") else "json")
    return {location: errors}


def handle(exc: Exception):
    headers = {}
    if isinstance(exc, ApiError):
        body = payload(exc.code, exc.message, error=exc.error, errors=exc.errors, **exc.details)
        status, headers = exc.code, exc.extra_headers
    elif isinstance(exc, DomainError):
        status = exc.http_status
        details = {k: v for k, v in exc.details.items() if k != "errors"}
        errors = _located(exc.errors) if isinstance(exc, InvalidInput) else {}
        body = payload(status, exc.message, error=exc.code, errors=errors, **details)
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="baodao"'
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
    elif isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        status = exc.code
        data = getattr(exc, "data", None) or {}  # webargs / flask-smorest abort()
        errors = data.get("errors") or data.get("messages") or {}
        message = data.get("message") or exc.description or exc.name
        if status == 422 and not data.get("message"):
            message = "invalid input"
        body = payload(status, message, error=HTTP_CODES.get(status, "error"), errors=errors)
        headers = dict(data.get("headers") or {})
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    elif unavailable_cause(exc) is not None:
        cause = unavailable_cause(exc)
        log.warning("database unavailable in %s %s (request %s): %s", request.method, request.path,
                    g.get("request_id"), type(getattr(cause, "orig", None) or cause).__name__)
        rollback_quietly()
        status, seconds = 503, retry_after()
        body = payload(503, "the database is unavailable; retry shortly", error="database_unavailable",
                       retry_after=seconds)
        headers = {"Retry-After": str(seconds)}
    else:
        # A bug or an outage, not the client's fault: log it with the request id, say nothing more.
        log.error("unhandled error in %s %s (request %s)", request.method, request.path, g.get("request_id"),
                  exc_info=exc if not isinstance(exc, InternalServerError) else getattr(exc, "original_exception",
                                                                                         exc))
        if isinstance(exc, SQLAlchemyError):
            db.session.rollback()
        status = 500
        body = payload(500, "internal error; quote the request id when reporting it", error="internal_error")
    headers = dict(headers)
    headers["Content-Language"] = "en" if api_locale() == "en" else "zh-CN"
    return body, status, headers


def register(blueprint) -> None:
    """Register the handler on a blueprint, for every HTTP status code as well as for
    Exception: Flask prefers a handler registered for the code, even an app-wide one (the
    pages have theirs), over a class handler — so the codes must be ours here too."""
    for code in default_exceptions:
        blueprint.register_error_handler(code, handle)
    blueprint.register_error_handler(Exception, handle)
