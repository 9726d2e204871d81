"""The fault tests' own PostgreSQL stops even when `pg_ctl stop -m fast` cannot finish in its time.

On a loaded two-core machine `pg_ctl stop -m fast -t 30` returned an error (the server had not
finished shutting down within the limit) and failed `test_database_gone.py` on a fresh clone.
Here a backend that cannot run at all — stopped with SIGSTOP, as a starved process effectively
is — keeps a fast shutdown from ever finishing: the helper must escalate to `immediate`, and the
cluster must start again afterwards (crash recovery) and answer.
"""
import os
import signal
import subprocess
import threading

import psycopg
import pytest

from .servers import PgCluster, patience


def test_patience_stretches_limits_with_the_load(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert patience(30) == 30
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    assert patience(30) == 75
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0, 40.0, 40.0))
    assert patience(30) == 120  # capped at four times


@pytest.mark.slow
def test_a_fast_stop_that_times_out_escalates_to_immediate(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("signalling the cluster's backend needs to run as root (the cluster runs as postgres)")
    cluster = PgCluster(tmp_path).init().start()
    stuck_pid = None
    try:
        conn = psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5)
        stuck_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        # The backend sleeps in a query and is then frozen: it can no longer handle the SIGTERM a
        # fast shutdown sends it, so the fast shutdown waits for it for ever.
        sleeper = threading.Thread(target=lambda: _ignore_errors(conn.execute, "SELECT pg_sleep(120)"), daemon=True)
        sleeper.start()
        os.kill(stuck_pid, signal.SIGSTOP)

        # Before the fix: CalledProcessError ("server does not shut down") and the test run failed.
        mode = cluster.stop("fast", timeout=3)

        assert mode in ("immediate", "kill"), (mode, cluster.stop_errors)
        print(f"\nstopped by {mode}; refused on the way: {cluster.stop_errors}")
        assert not cluster.running()
        with pytest.raises(ProcessLookupError):
            os.kill(stuck_pid, 0)  # the frozen backend is gone (SIGKILLed by PostgreSQL, or by us)
        stuck_pid = None
        cluster.start()  # crash recovery after an immediate stop
        with psycopg.connect(cluster.url(), autocommit=True, connect_timeout=5) as again:
            assert again.execute("SELECT 1").fetchone() == (1,)
        conn.close()
    finally:
        if stuck_pid is not None:
            _ignore_errors(os.kill, stuck_pid, signal.SIGKILL)
        cluster.cleanup()


def _ignore_errors(call, *args):
    try:
        call(*args)
    except (OSError, psycopg.Error, subprocess.SubprocessError):
        pass
