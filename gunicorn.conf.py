"""gunicorn settings for Baodao. Environment: PORT (8000), BIND, WEB_CONCURRENCY, TIMEOUT.

Sync workers: requests are short, CPU-bound in Python, and sync workers give the most
stable latencies (see docs/performance.md). One worker per core plus one.
"""
import multiprocessing
import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("TIMEOUT", "30"))
graceful_timeout = 10
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
