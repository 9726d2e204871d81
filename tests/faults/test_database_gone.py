"""Database gone: stop PostgreSQL under load, start it again.

The test starts a PostgreSQL cluster of its own (initdb under the test's tmp dir, a free
loopback port, run as the postgres user) — never the shared server on 5432 — migrates it,
and runs gunicorn (2 workers) against it. Four clients keep reading and firing transitions;
the cluster is stopped (`pg_ctl stop -m fast`: in-flight transactions are cut off; `immediate`
when fast does not finish within a limit scaled by the machine's load, see servers.PgCluster.stop) and
started again on the same port. While it is down every answer is a fast 503 with
Retry-After in the one JSON error shape (a friendly page for pages), never a hang or a stack
trace; afterwards the same gunicorn processes answer 2xx again (the pool replaced), every success
is in the database, and nothing is half-written. Bounded: ~8 s of load, 20 s per request.
"""
import http.cookiejar
import re
import threading
import time
import urllib.parse
import urllib.request

import psycopg
import pytest
from flask_migrate import upgrade

from tests.conftest import World, _make_app
from workflow.extensions import db

from .conftest import assert_consistent, make_members, request_ids_recorded, tokens_for
from .servers import Gunicorn, PgCluster, call

CLIENTS = 4


@pytest.fixture
def cluster(tmp_path):
    pg = PgCluster(tmp_path).init().start()
    try:
        with psycopg.connect(pg.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE DATABASE baodao")
        yield pg
    finally:
        pg.cleanup()


@pytest.fixture
def own_app(cluster, tmp_path):
    app = _make_app(cluster.url("baodao"), tmp_path)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _login_form(base):
    """A browser's cookie jar and the login form's CSRF token, fetched while the database is up."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login?lang=en", timeout=10) as response:
        html = response.read().decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    return opener, token


def _post_login(opener, base, token):
    data = urllib.parse.urlencode({"csrf_token": token, "username": "member_a1", "password": "x" * 12}).encode()
    request = urllib.request.Request(base + "/login?lang=en", data=data, method="POST")
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.mark.slow
def test_requests_fail_fast_with_503_while_postgres_is_down_and_recover(own_app, cluster, password_hash, tmp_path):
    world = World(password_hash)
    tasks = [world.task(capacity=50) for _ in range(2)]
    members = make_members(world, CLIENTS, prefix="outage")
    tokens = tokens_for(members)
    db.session.remove()
    db.engine.dispose()

    server = Gunicorn(tmp_path, "outage", own_app.config["SQLALCHEMY_DATABASE_URI"], workers=2).start()
    workers_before = server.worker_pids()
    phase = {"name": "up"}
    replies = []  # (phase, what, request id, Reply)
    lock = threading.Lock()
    stop = threading.Event()

    def client(i):
        n = 0
        claim_id = None
        while not stop.is_set():
            n += 1
            rid = f"outage-{i}-{n}"
            current = phase["name"]
            if claim_id is None:
                what, reply = "claim", call(server.base, "POST", f"/api/v1/tasks/{tasks[i % 2].id}/claims",
                                            token=tokens[i], headers={"X-Request-ID": rid})
                if reply.status == 201:
                    claim_id = reply.json()["id"]
            elif n % 3:
                what, reply = "read", call(server.base, "GET", "/api/v1/tasks?page_size=5", token=tokens[i],
                                           headers={"X-Request-ID": rid})
            else:
                what, reply = "check_in", call(server.base, "POST", f"/api/v1/claims/{claim_id}/check_in",
                                               token=tokens[i], body={"note": f"第{n}次"},
                                               headers={"X-Request-ID": rid})
            with lock:
                replies.append((current, what, rid, reply))
            time.sleep(0.05)

    opener, csrf = _login_form(server.base)
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        phase["name"] = "stopping"
        stopped_at = time.monotonic()
        stop_mode = cluster.stop("fast")  # escalates to immediate when fast outlasts a loaded machine
        stop_seconds = time.monotonic() - stopped_at
        phase["name"] = "down"
        time.sleep(2.5)
        page = _post_login(opener, server.base, csrf)
        phase["name"] = "starting"
        cluster.start()
        phase["name"] = "up-again"
        recovered_at = time.monotonic()

        def recovered():
            return call(server.base, "GET", "/api/v1/tasks", token=tokens[0]).status == 200

        from .servers import wait_for
        wait_for(recovered, timeout=20, what="the app to answer again after PostgreSQL restarted")
        recovery_seconds = time.monotonic() - recovered_at
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        workers_after = server.worker_pids()
        server.stop()
    assert not any(t.is_alive() for t in threads), "a client hung"

    down = [(what, rid, r) for ph, what, rid, r in replies if ph == "down"]
    assert len(down) >= 8, f"too little load while the database was down: {len(down)}"
    for what, rid, r in down:
        assert r.status == 503, (what, rid, r)
        assert r.headers.get("Retry-After") == "5", r.headers
        body = r.json()
        assert body["error"] == "database_unavailable" and body["code"] == 503 and body["request_id"] == rid
        assert b"Traceback" not in r.body and b"psycopg" not in r.body
        assert r.seconds < 3, f"a 503 took {r.seconds:.1f} s"
    # The pages: a friendly page, not a stack trace.
    status, headers, html = page
    assert status == 503 and headers.get("Retry-After") == "5", (status, html[:300])
    assert "temporarily unavailable" in html and "Traceback" not in html

    again = [(what, rid, r) for ph, what, rid, r in replies if ph == "up-again"]
    assert any(r.ok for _, _, r in again), again[:5]
    assert workers_after == workers_before, "workers were replaced: the app did not recover in place"
    statuses = sorted({r.status or r.error for *_, r in replies}, key=str)
    assert not [r for *_, r in replies if r.status == 500 or r.error], statuses

    # Every success is in the database; nothing is half-written.
    recorded = request_ids_recorded()
    transitions = [(what, rid, r) for _, what, rid, r in replies if what != "read"]
    missing = [rid for what, rid, r in transitions if r.ok and rid not in recorded]
    assert not missing, missing
    summary = assert_consistent()
    latencies = sorted(r.seconds for _, _, r in down)
    print(f"\n{len(replies)} requests; while down: {len(down)} answers, all 503 + Retry-After, latency "
          f"median {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; pg stop took "
          f"{stop_seconds:.1f} s ({stop_mode}); first 200 {recovery_seconds:.1f} s after the restart began; "
          f"statuses seen {statuses}; after: {summary}")
