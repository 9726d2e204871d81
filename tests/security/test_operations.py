"""Operations: JSON request logs with the request id, /readyz, /metrics (in process and through
gunicorn's workers in multiprocess mode), and a 413 for an over-limit body before it is read,
through a real gunicorn on a free loopback port with a streamed body."""
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade

from api import observability
from tests.api.api_helpers import ApiClient
from tests.conftest import PASSWORD, _make_app
from workflow.extensions import db
from workflow.services import claims as claim_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_one_json_log_line_per_request_with_request_id_route_status_duration_user(app, world):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    logging.getLogger("baodao.access").addHandler(handler)
    # Alembic's fileConfig (the migrations run in this process by the fixtures) disables existing
    # loggers; in production migrations run in their own process.
    for name in ("baodao", "baodao.access"):
        logging.getLogger(name).disabled = False
    try:
        api = ApiClient(app)
        task = world.task()
        api.token(world.member)
        with app.app_context():  # one app context per request, as in a server (g is per context)
            r = api.get(f"/api/v1/tasks/{task.id}", world.member, headers={"X-Request-ID": "trace-123"})
        with app.app_context():
            page = app.test_client().get("/login")
    finally:
        logging.getLogger("baodao.access").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    api_line = next(x for x in lines if x["path"] == f"/api/v1/tasks/{task.id}")
    assert api_line["request_id"] == "trace-123" == r.headers["X-Request-ID"]
    assert api_line["route"] == "/api/v1/tasks/<int(max=2147483647):task_id>"
    assert api_line["status"] == 200 and api_line["method"] == "GET" and api_line["user_id"] == world.member.id
    assert api_line["duration_ms"] >= 0 and api_line["level"] == "INFO" and api_line["time"].endswith("Z")
    page_line = next(x for x in lines if x["path"] == "/login")
    assert page_line["request_id"] == page.headers["X-Request-ID"] and page_line["user_id"] is None


@pytest.mark.parametrize("backend", ["sqlite"])
def test_readyz_is_200_with_the_database_and_503_without(app, tmp_path):
    assert app.test_client().get("/readyz").status_code == 200
    assert app.test_client().get("/healthz").status_code == 200
    gone = _make_app(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3", tmp_path)
    with gone.app_context():
        started = time.monotonic()
        r = gone.test_client().get("/readyz")
        assert r.status_code == 503 and r.headers["Retry-After"] and r.get_json()["status"] == "unavailable"
        assert time.monotonic() - started < 5
        assert gone.test_client().get("/healthz").status_code == 200  # the process itself is alive
    with socket.socket() as s:  # PostgreSQL on a port where nothing listens: 503 quickly
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pg_gone = _make_app(f"postgresql://postgres@127.0.0.1:{port}/nothing", tmp_path)
    with pg_gone.app_context():
        started = time.monotonic()
        assert pg_gone.test_client().get("/readyz").status_code == 503
        assert time.monotonic() - started < 5
    db.session.remove()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_metrics_counts_requests_by_route_and_committed_transitions_by_trigger(app, world):
    api = ApiClient(app)
    task = world.task()
    claim = api.post(f"/api/v1/tasks/{task.id}/claims", world.member).get_json()
    api.post(f"/api/v1/claims/{claim['id']}/check_in", world.member, json={"note": "n"})
    api.post(f"/api/v1/claims/{claim['id']}/submit_report", world.member, json={"summary": "s"})  # 422: no event
    client = app.test_client()
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert 'baodao_http_requests_total{method="POST",route="/api/v1/claims/<int(max=2147483647):claim_id>/check_in"' \
           ',status="200"}' in text
    assert 'baodao_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/tasks/' in text
    assert 'baodao_transitions_total{subject="claim",trigger="check_in"}' in text
    assert 'baodao_transitions_total{subject="task",trigger="publish"}' in text

    def count(trigger):
        for line in client.get("/metrics").get_data(as_text=True).splitlines():
            if line.startswith(f'baodao_transitions_total{{subject="claim",trigger="{trigger}"}}'):
                return float(line.split()[-1])
        return 0.0

    before = count("check_in"), count("submit_report")
    claim_service.fire(claim["id"], "check_in", world.member, {"note": "again"})
    with pytest.raises(Exception):
        claim_service.fire(claim["id"], "submit_report", world.member, {"summary": "", "hours": -1})
    assert (count("check_in"), count("submit_report")) == (before[0] + 1, before[1])  # a refusal counts nothing
    # Only for loopback callers that no proxy forwarded, or with the token when one is set.
    assert client.get("/metrics", environ_overrides={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    app.config["BAODAO_METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"},
                    environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200


# -- through gunicorn ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """gunicorn with 2 workers on a migrated SQLite file with one user, on a free 127.0.0.1 port."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    dbfile = tmp / "baodao.sqlite3"
    app = _make_app(f"sqlite:///{dbfile}", tmp)
    with app.app_context():
        upgrade()
        from workflow.models import Community, Town, Unit, User
        from workflow.services.tx import write_transaction
        with write_transaction() as s:
            town = Town(code="370116001", name="凤城街道")
            community = Community(code="370116001001", name="东升社区", town=town)
            unit = Unit(code="lw001", name="区委组织部")
            user = User(username="member_g", name="member_g", role="member", unit=unit, community=community)
            user.set_password(PASSWORD)
            s.add_all([town, community, unit, user])
        db.session.remove()
        db.engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{dbfile}", "SECRET_KEY": "test", "PORT": str(port),
           "WEB_CONCURRENCY": "2", "BAODAO_UPLOAD_DIR": str(tmp / "uploads"), "BAODAO_INSTANCE_PATH": str(tmp),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}
    env.pop("REDIS_URL", None)
    log = open(tmp / "gunicorn.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + (tmp / "gunicorn.log").read_text()[-2000:])
    yield port, tmp / "gunicorn.log"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def _raw(port: int, head: bytes, body: bytes = b"", *, wait: float = 10.0) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head + body)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    return data, time.monotonic() - started


def _token(port: int) -> str:
    body = json.dumps({"username": "member_g", "password": PASSWORD}).encode()
    head = (f"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert b" 200 " in data.split(b"\r\n")[0], data[:300]
    return json.loads(data.split(b"\r\n\r\n", 1)[1])["access_token"]


def test_over_limit_bodies_get_413_before_being_read_through_gunicorn(gunicorn_server):
    """A client announces 50 MB and sends 64 KB, then waits: the answer comes without the rest."""
    port, _ = gunicorn_server
    token = _token(port)
    for path, extra in (("/api/v1/uploads", f"Authorization: Bearer {token}\r\n"
                                             "Content-Type: multipart/form-data; boundary=xyz\r\n"),
                        ("/api/v1/tasks", f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"),
                        ("/login", "Content-Type: multipart/form-data; boundary=xyz\r\n")):
        length = 50 * 1024 * 1024 if path != "/login" else 200 * 1024 * 1024
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Content-Length: {length}\r\n\r\n").encode()
        data, elapsed = _raw(port, head, b"--xyz\r\n" + b"x" * 65536)
        status_line = data.split(b"\r\n")[0]
        assert b" 413 " in status_line, (path, data[:300])
        assert elapsed < 5, (path, elapsed)  # did not wait for the other 49.9 MB


def test_metrics_add_up_across_gunicorn_workers_and_logs_are_json(gunicorn_server):
    port, log_path = gunicorn_server
    for _ in range(12):  # spread over both workers (each connection closes)
        data, _ = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert b" 200 " in data.split(b"\r\n")[0]
    head = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    text = data.decode()
    line = next(x for x in text.splitlines()
                if x.startswith('baodao_http_requests_total{method="GET",route="/healthz",status="200"}'))
    assert float(line.split()[-1]) >= 12
    forwarded = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n"
    assert b" 404 " in _raw(port, forwarded)[0].split(b"\r\n")[0]
    time.sleep(0.3)
    access = [json.loads(x) for x in log_path.read_text().splitlines()
              if x.startswith("{") and '"baodao.access"' in x]
    assert any(x["path"] == "/healthz" and x["status"] == 200 and x["request_id"] for x in access)
    assert {x["route"] for x in access if x["path"].startswith("/api/v1/uploads")} == {"/api/v1/uploads"}
