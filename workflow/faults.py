"""Faults: the test-only fault hook, and what counts as "the database is unavailable".

The fault hook (tests only)
---------------------------
BAODAO_FAULT_HOOK=pause_in_transition:<seconds> makes every write transaction that
records a transition (one that appends an audit event) flush its changes — the state
change, slot recount and audit event are then written and their rows locked — and sleep
for <seconds> *before* it commits. The crash tests (tests/faults/) kill -9 a gunicorn worker
during that pause and check that nothing half-done survives. While pausing, the worker
writes one line to stderr, `baodao-fault-hook: pid <pid> paused in transition (request
<request id>)`, so a test knows which process to kill and which request it cut off.

Unset (production), `before_commit` is a function that returns at once: the variable is
read once when this module is imported, and the app logs a warning at start-up when it
is on. An unknown or malformed value stops the process instead of being ignored.

Database timeouts
-----------------
PostgreSQL connections get a connect timeout (BAODAO_DB_CONNECT_TIMEOUT seconds, 5) and
a statement timeout (BAODAO_DB_STATEMENT_TIMEOUT_MS, 30000, inside gunicorn's 120 s worker timeout;
0 switches it off, e.g. for a bulk `bench-data` load), so a request never hangs on an
unreachable or stuck database; it fails fast and the API answers 503 (see
`database_unavailable`). api/config.py calls `configure_timeouts` from the environment.
"""
import logging
import os
import sys
import time

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

log = logging.getLogger("baodao.faults")

HOOK_ENV = "BAODAO_FAULT_HOOK"


def _parse_hook(spec: str | None) -> float | None:
    """Seconds to pause in a transition, or None when the hook is off."""
    if not spec:
        return None
    name, _, arg = spec.partition(":")
    if name != "pause_in_transition":
        raise RuntimeError(f"{HOOK_ENV}: unknown fault {name!r} (known: pause_in_transition:<seconds>)")
    try:
        seconds = float(arg)
    except ValueError:
        raise RuntimeError(f"{HOOK_ENV}: pause_in_transition needs seconds, e.g. pause_in_transition:2") from None
    if not 0 < seconds <= 60:
        raise RuntimeError(f"{HOOK_ENV}: the pause must be between 0 and 60 seconds")
    return seconds


PAUSE_IN_TRANSITION = _parse_hook(os.environ.get(HOOK_ENV))


def _pause_before_commit(session) -> None:
    from .audit import APPENDED

    appended = session.info.get(APPENDED)
    if not appended:
        return  # not a transition (e.g. a token's last-use time)
    session.flush()  # the state change and the audit event are now in the database, uncommitted
    requests = sorted({str(request_id) for _, _, request_id in appended})
    sys.stderr.write(f"baodao-fault-hook: pid {os.getpid()} paused in transition "
                     f"(request {','.join(requests) or '-'})\n")
    sys.stderr.flush()
    time.sleep(PAUSE_IN_TRANSITION)


def _no_fault(session) -> None:
    return None


# Called by services.tx.write_transaction() after the service's work, before COMMIT.
before_commit = _pause_before_commit if PAUSE_IN_TRANSITION else _no_fault


def warn_if_enabled() -> None:
    if PAUSE_IN_TRANSITION:
        log.warning("%s is set: every transition pauses %.1f s before commit (tests only, never production)",
                    HOOK_ENV, PAUSE_IN_TRANSITION)


# --- the database is unavailable --------------------------------------------------------------

def database_unavailable(exc: BaseException) -> bool:
    """Is this error the database being unreachable, restarting or too slow — something a
    client should retry later (503) rather than a bug (500)?

    - OperationalError: connection refused or lost, server shutting down, statement or lock
      timeout, SQLite's "database is locked" after its busy timeout;
    - any DBAPIError SQLAlchemy classified as a disconnect (connection_invalidated);
    - the pool's own TimeoutError (no connection free in time).
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


# --- PostgreSQL connect and statement timeouts -------------------------------------------------

_timeouts = {"connect": 5, "statement_ms": 30_000}


def configure_timeouts(*, connect: int | None = None, statement_ms: int | None = None) -> None:
    if connect is not None:
        _timeouts["connect"] = connect
    if statement_ms is not None:
        _timeouts["statement_ms"] = statement_ms


@event.listens_for(Engine, "do_connect")
def _postgres_timeouts(dialect, conn_rec, cargs, cparams):
    if dialect.name != "postgresql":
        return
    if _timeouts["connect"]:
        cparams.setdefault("connect_timeout", _timeouts["connect"])
    # libpq TCP keepalives: a peer that vanished (a failed-over server, a dropped NAT entry)
    # is noticed within about two minutes instead of the kernel's two hours.
    for name, value in (("keepalives", 1), ("keepalives_idle", 60), ("keepalives_interval", 10),
                        ("keepalives_count", 6)):
        cparams.setdefault(name, value)
    if _timeouts["statement_ms"] and "statement_timeout" not in cparams.get("options", ""):
        cparams["options"] = (cparams.get("options", "") + f" -c statement_timeout={_timeouts['statement_ms']}").strip()
