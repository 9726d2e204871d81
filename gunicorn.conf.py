"""gunicorn settings for Baodao. Environment: PORT (8000), BIND, WEB_CONCURRENCY, TIMEOUT.

Sync workers: requests are short, CPU-bound in Python, and sync workers give the most
stable latencies (see docs/performance.md). One worker per core plus one.
"""
import gc
import glob
import multiprocessing
import os
import tempfile

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "sync"
# A sync worker cannot signal the master while it serves a request, so this bounds the longest
# request: a supervisor's streamed CSV export of a district's million claims takes 15–40 s on a
# 2-core machine (docs/performance.md). A request stuck on the database still ends at the
# statement timeout (30 s per statement, api/config.py) with a 503.
timeout = int(os.environ.get("TIMEOUT", "120"))
graceful_timeout = 10
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
# The app writes one JSON access line per request itself (api/observability.py, with the request
# id and user id); gunicorn's own access log would only repeat it in another format.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus multiprocess mode: every worker writes its metrics to files in this directory and
# /metrics adds them up. It must be set before a worker imports prometheus_client; the master
# empties it at start, and a dead worker's live gauges are dropped.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR = tempfile.mkdtemp(prefix="baodao-metrics-")
else:
    _OWN_METRICS_DIR = None


def on_starting(server):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def post_worker_init(worker):
    # The app's long-lived objects (definitions, SQLAlchemy's mappers and cached statements, the
    # translations, Jinja's templates: about 200,000) are moved out of the cyclic garbage
    # collector's reach once the worker has loaded the app. Otherwise a full collection walks all
    # of them whenever a request leaves many objects alive for a while — every seventh receipt
    # report of a 1,689-member unit took 100 ms instead of 30 (docs/performance.md). They are
    # never garbage: the worker holds them until it exits.
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:  # a directory this config made: leave nothing behind in /tmp
        import shutil
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
