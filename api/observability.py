"""Operations: structured logs, readiness and Prometheus metrics (see docs/deploy.md, "Operations").

- **Logs**: everything under the `baodao` logger is one JSON object per line on stderr
  (time, level, logger, message, request id, and the exception's traceback if any). Each
  request adds one `baodao.access` line: method, path, route (the URL rule, so ids do not
  explode the cardinality), status, duration in ms, request id, user id. Every response
  carries `X-Request-ID` (the client's, if well-formed, else a new one).
  `BAODAO_ACCESS_LOG=0` turns the access lines off.
- **`GET /readyz`**: 200 when the database answers `SELECT 1`, else 503 with Retry-After.
  (`GET /healthz` — the process answers — is in api/health.py.)
- **`GET /metrics`**: Prometheus text from `prometheus_client`: request counts and
  latencies by method, route and status, and workflow transitions by subject and trigger.
  Transitions are counted when the service's transaction that wrote their audit events
  commits (audit.append notes each event in `session.info`; an SQLAlchemy after_commit hook
  counts them: workflow/ stays free of Flask
  and of metrics, and a rolled-back transition is never counted). With gunicorn's several
  workers, prometheus_client's multiprocess mode adds them up (PROMETHEUS_MULTIPROC_DIR,
  set up in gunicorn.conf.py). Only for loopback callers that were not forwarded by a
  proxy, or, when `BAODAO_METRICS_TOKEN` is set, for `Authorization: Bearer <token>`;
  anyone else gets a 404.
"""
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, current_app, g, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from workflow.audit import APPENDED
from workflow.extensions import db

from .requests import request_id

FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")

REQUESTS = Counter("baodao_http_requests_total", "HTTP requests handled", ["method", "route", "status"])
LATENCY = Histogram("baodao_http_request_duration_seconds", "Time to build the response", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
TRANSITIONS = Counter("baodao_transitions_total", "Workflow transitions committed (audit events written)",
                      ["subject", "trigger"])

log = logging.getLogger("baodao.ops")
access_log = logging.getLogger("baodao.access")
bp = Blueprint("ops", __name__)


# -- logs --------------------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    FIELDS = ("method", "path", "route", "status", "duration_ms", "request_id", "user_id", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
               .replace("+00:00", "Z"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name in self.FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if "request_id" not in out and has_request_context():
            out["request_id"] = g.get("request_id")
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(app) -> None:
    """JSON lines on stderr for the `baodao` loggers and the app's own logger (once per process)."""
    for logger in (logging.getLogger("baodao"), app.logger):
        if any(getattr(h, "_baodao_json", False) for h in logger.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._baodao_json = True
        if logger is app.logger:
            from flask.logging import default_handler
            logger.removeHandler(default_handler)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _start():
    g._ops_t0 = time.perf_counter()
    request_id()  # the one rule (api/requests.py)


def _user_id():
    actor = g.get("actor")  # the API's bearer-token user
    if actor is not None:
        return actor.id
    user = g.get("_login_user")  # Flask-Login's, only if the request loaded it
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def _finish(response):
    started = g.get("_ops_t0")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    if g.get("request_id"):
        response.headers.setdefault("X-Request-ID", g.request_id)
    if request.endpoint != "ops.metrics":
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
    if current_app.config.get("BAODAO_ACCESS_LOG", True):
        access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "route": route, "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2), "request_id": g.get("request_id"), "user_id": _user_id(),
            "remote_addr": request.remote_addr})
    return response


# -- transitions, counted when their transaction commits ----------------------------------------

def _after_commit(session):
    for subject, trigger, _ in session.info.pop(APPENDED, ()):
        TRANSITIONS.labels(subject, trigger).inc()


def _after_rollback(session):
    session.info.pop(APPENDED, None)


def install_transition_hook() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


# -- readiness and metrics ------------------------------------------------------------------------

@bp.get("/readyz")
def readyz():
    """Ready when the database answers; 503 with Retry-After when it does not."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503, {"Retry-After": "5",
                                                                            "Cache-Control": "no-store"}
    return jsonify(status="ready", database="ok"), 200, {"Cache-Control": "no-store"}


def metrics_allowed() -> bool:
    token = current_app.config.get("BAODAO_METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False  # came through a proxy: the proxy's loopback address says nothing about the client
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


@bp.get("/metrics")
def metrics():
    if not metrics_allowed():
        return jsonify(code=404, message="not found"), 404
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def init_app(app) -> None:
    app.config.setdefault("BAODAO_METRICS_TOKEN", os.environ.get("BAODAO_METRICS_TOKEN") or None)
    app.config.setdefault("BAODAO_ACCESS_LOG", os.environ.get("BAODAO_ACCESS_LOG", "1") not in ("0", "false", "no"))
    configure_logging(app)
    install_transition_hook()
    app.register_blueprint(bp)
    # First of all before_request hooks (the clock starts before any other hook can refuse the
    # request); after_request hooks run in reverse order, so this one sees the final response.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
