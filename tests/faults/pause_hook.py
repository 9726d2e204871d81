"""The crash tests' fault: every write transaction that records a transition (it appended
an audit event) flushes its changes — the state change, slot recount and audit event are
then written and their rows locked — and sleeps for a while *before* it commits, so a test
can kill -9 the worker in that window and check that nothing half-done survives.

Installed by the tests themselves, as a SQLAlchemy `before_commit` listener, in the gunicorn
workers started through `tests.faults.crash_wsgi:app` (BAODAO_TEST_PAUSE=<seconds>): the
service's own code has no such hook. While pausing, the worker writes one line to stderr,
`baodao-fault-hook: pid <pid> paused in transition (request <request id>)`, so a test knows
which process to kill and which request it cut off.
"""
import os
import sys
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

from workflow.audit import APPENDED

ENV = "BAODAO_TEST_PAUSE"


def parse_seconds(spec: str | None) -> float | None:
    """Seconds to pause, or None when the hook is off; a bad value stops the process."""
    if not spec:
        return None
    try:
        seconds = float(spec)
    except ValueError:
        raise RuntimeError(f"{ENV}: seconds, e.g. 2") from None
    if not 0 < seconds <= 60:
        raise RuntimeError(f"{ENV}: the pause must be between 0 and 60 seconds")
    return seconds


def install(seconds: float) -> None:
    def pause_before_commit(session):
        appended = session.info.get(APPENDED)
        if not appended:
            return  # not a transition (e.g. a token's last-use time)
        session.flush()  # the state change and the audit event are now in the database, uncommitted
        requests = sorted({str(request_id) for _, _, request_id in appended})
        sys.stderr.write(f"baodao-fault-hook: pid {os.getpid()} paused in transition "
                         f"(request {','.join(requests) or '-'})\n")
        sys.stderr.flush()
        time.sleep(seconds)

    event.listen(Session, "before_commit", pause_before_commit)
