"""Races through the real HTTP stack: gunicorn (4 sync workers) on PostgreSQL, concurrent clients.

Bounded: the server gets 30 s to start, each request 20 s, and it is stopped in `finally`.
Only loopback addresses are used.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow.models import Claim, User
from workflow.services import auth as auth_service
from workflow.services.tx import write_transaction

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base, method, path, token, headers=None, timeout=20):
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def gunicorn_server(app, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test",
           "BAODAO_INSTANCE_PATH": str(tmp_path / "instance"), "BAODAO_UPLOAD_DIR": str(tmp_path / "uploads"),
           "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "4"}
    log = open(tmp_path / "gunicorn.log", "wb")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen([gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start: {(tmp_path / 'gunicorn.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _members(world, n):
    with write_transaction() as s:
        users = [User(username=f"racer{i}", name=f"racer{i}", role="member", password_hash="x",
                      unit_id=world.unit1.id, community_id=world.a.id) for i in range(n)]
        s.add_all(users)
    return users


def _together(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait(timeout=20)
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])
def test_racing_for_the_last_slot_over_http_exactly_one_wins(gunicorn_server, world, session):
    task = world.task(capacity=1)
    racers = _members(world, CLIENTS)
    tokens = [auth_service.issue_token_for(u).token for u in racers]
    results = _together(CLIENTS, lambda i: _call(gunicorn_server, "POST", f"/api/v1/tasks/{task.id}/claims",
                                                 tokens[i]))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CLIENTS - 1), results
    assert all(body["reason"] == "free_slot" for status, body in results if status == 409)
    assert session.scalar(select(func.count(Claim.id)).where(Claim.task_id == task.id)) == 1

    # One member sending the same Idempotency-Key from several connections at once: one claim, one answer.
    other = world.task(capacity=5)
    token = tokens[0]
    same = _together(6, lambda i: _call(gunicorn_server, "POST", f"/api/v1/tasks/{other.id}/claims", token,
                                        headers={"Idempotency-Key": "tap-tap-tap"}))
    assert {status for status, _ in same} == {201}, same
    assert len({body["id"] for _, body in same}) == 1
    assert session.scalar(select(func.count(Claim.id)).where(Claim.task_id == other.id)) == 1
