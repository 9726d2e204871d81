"""gunicorn.conf.py's worker hook: the loaded app is moved out of the cyclic garbage collector's
reach (gc.freeze), so that a full collection no longer walks its ~200,000 long-lived objects — it
did every few requests that keep many objects alive for a while (the receipt report of a large
unit: p95 100 → 35 ms; figures in docs/performance.md, none asserted here)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, runpy
hooks = runpy.run_path("gunicorn.conf.py")
from api import create_app
create_app()
before = gc.get_freeze_count()
hooks["post_worker_init"](None)
print("FROZEN", before, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_a_worker_freezes_the_app_it_loaded(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "BAODAO_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"}
    (tmp_path / "metrics").mkdir()
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("FROZEN "))
    before, frozen, still_tracked = map(int, line.split()[1:])
    assert before == 0 and frozen > 50_000  # the app's objects: out of every collection from now on
    assert still_tracked < 1_000  # (only what was made after the freeze is collected as before)
