"""What counts as "the database is unavailable", and the PostgreSQL connection settings
that make an outage show quickly instead of hanging a request.

Database timeouts
-----------------
PostgreSQL connections get a connect timeout (BAODAO_DB_CONNECT_TIMEOUT seconds, 5) and
a statement timeout (BAODAO_DB_STATEMENT_TIMEOUT_MS, 30000, inside gunicorn's 120 s worker
timeout; 0 switches it off, e.g. for a bulk `bench-data` load), so a request never hangs on
an unreachable or stuck database; it fails fast and the API answers 503 (see
`database_unavailable`). The app factory puts `postgres_connect_args(...)` into its own
engine options: each app's engine carries its own settings, nothing is process-wide.

(The crash tests pause transitions before their commit with a SQLAlchemy event that the
tests themselves install: tests/faults/pause_hook.py. Production code has no such hook.)
"""
from sqlalchemy import exc as sa_exc


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


def postgres_connect_args(*, connect_timeout: int, statement_timeout_ms: int) -> dict:
    """libpq connection parameters for one app's PostgreSQL engine."""
    args = {
        # libpq TCP keepalives: a peer that vanished (a failed-over server, a dropped NAT entry)
        # is noticed within about two minutes instead of the kernel's two hours.
        "keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10, "keepalives_count": 6,
    }
    if connect_timeout:
        args["connect_timeout"] = connect_timeout
    if statement_timeout_ms:
        args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return args
