"""Two app nodes on one PostgreSQL behind Debian's nginx, with the shipped deploy/nginx.conf.

nginx (installed by scripts/ensure-nginx.sh when missing) runs in the foreground with a
temporary prefix, pid and logs, on a free loopback port, in front of two gunicorn
instances on their own ports sharing one database and one upload directory:
- 60 members race for 3 slots through nginx: exactly 3 win, the rest get 409, no 5xx,
  and both nodes served the race;
- X-Request-ID passes through nginx (or nginx makes one); nginx's own 413 keeps the API's shape;
- a photo uploaded through node A is served by node B (BAODAO_UPLOAD_DIR shared);
- `expire-claims` started on both nodes' CLIs at the same moment expires each claim once.
- `retention run` started on both nodes at the same moment erases each text once.
Bounded: nginx and gunicorn start within 30 s, requests 20 s, CLIs 60 s; all stopped in finally.
"""
import hashlib
import io
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from workflow.clock import utcnow
from workflow.extensions import db
from workflow.models import AuditErasure, AuditEvent, Claim, Visit
from workflow.services import claims as claim_service

from .conftest import assert_consistent, make_members, request_ids_recorded, tokens_for
from .servers import LOOPBACK, ROOT, Gunicorn, call, ensure_nginx, free_port, wait_for

RACERS = 60
SLOTS = 3


def nginx_config(tmp, port, upstreams) -> str:
    """deploy/nginx.conf with the test's ports, wrapped in a main config with temp paths."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("listen 127.0.0.1:8080;", f"listen {LOOPBACK}:{port};")
    for default, actual in zip(("127.0.0.1:8001", "127.0.0.1:8002"), upstreams):
        assert default in site, f"deploy/nginx.conf has no upstream {default}"
        site = site.replace(default, f"{LOOPBACK}:{actual}")
    temp = {name: tmp / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    return f"""
daemon off;
master_process on;
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 512; }}
http {{
    default_type application/octet-stream;
    log_format upstreams '$upstream_addr $status $request_method $uri';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
{site}
}}
"""


@pytest.fixture
def nodes(app, tmp_path):
    nginx = ensure_nginx()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    shared = tmp_path / "shared-uploads"
    a = Gunicorn(tmp_path, "node-a", url, workers=2, upload_dir=shared)
    b = Gunicorn(tmp_path, "node-b", url, workers=2, upload_dir=shared)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    proc = None
    try:
        a.start()
        b.start()
        conf.write_text(nginx_config(prefix, port, (a.port, b.port)))
        checked = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        log = open(prefix / "stderr.log", "wb")
        proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                stdout=log, stderr=subprocess.STDOUT)
        base = f"http://{LOOPBACK}:{port}"
        wait_for(lambda: proc.poll() is None and call(base, "GET", "/healthz", timeout=2).status == 200,
                 timeout=30, what="nginx")
        yield base, a, b, tmp_path
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        a.stop()
        b.stop()


def _together(n, fn, timeout=60):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait(timeout=20)
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


def _served(base_dir, node, needle) -> int:
    """Requests nginx's access log says went to this node."""
    lines = (base_dir / "nginx" / "access.log").read_text().splitlines()
    return sum(1 for line in lines if line.startswith(f"{LOOPBACK}:{node.port} ") and needle in line)


def _cli_at(node, when: float, *command: str) -> subprocess.Popen:
    """`flask --app wsgi <command>` (expire-claims by default) in the node's environment, the app
    loaded first and the command itself started at wall-clock `when` (so two nodes really run at once)."""
    script = ("import sys, time; import wsgi; "
              "time.sleep(max(0.0, float(sys.argv[1]) - time.time())); "
              "from flask.cli import main; sys.argv = ['flask', '--app', 'wsgi', *sys.argv[2:]]; main()")
    return subprocess.Popen([sys.executable, "-c", script, str(when), *(command or ("expire-claims",))], cwd=ROOT,
                            env=node.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _both_at_once(node_a, node_b, *command: str) -> list[str]:
    at = time.time() + 4.0  # both have imported the app by then
    runs = [_cli_at(node_a, at, *command), _cli_at(node_b, at, *command)]
    outputs = []
    for proc in runs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        outputs.append(out)
    return outputs


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_nodes_behind_nginx(nodes, world, session):
    base, node_a, node_b, tmp = nodes

    # Claims due to expire: tasks whose deadline passes during the race.
    soon = utcnow() + timedelta(seconds=4)
    due_tasks = [world.task(capacity=4, deadline=soon.isoformat()) for _ in range(3)]
    holders = make_members(world, 4, prefix="holder")
    due = [claim_service.start_claim(t.id, m) for t in due_tasks for m in holders]

    # 1. The last-slot race through nginx.
    task = world.task(capacity=SLOTS)
    racers = make_members(world, RACERS, prefix="racer")
    tokens = tokens_for(racers)
    session.rollback()
    started = time.monotonic()
    results = _together(RACERS, lambda i: call(base, "POST", f"/api/v1/tasks/{task.id}/claims", token=tokens[i],
                                               headers={"X-Request-ID": f"race-{i}"}, timeout=20))
    race_seconds = time.monotonic() - started
    statuses = sorted(r.status or r.error for r in results)
    assert statuses.count(201) == SLOTS and statuses.count(409) == RACERS - SLOTS, statuses
    assert all(r.json()["reason"] == "free_slot" for r in results if r.status == 409)
    assert all(r.headers.get("X-Request-ID") == f"race-{i}" for i, r in enumerate(results))
    live = session.scalar(select(func.count(Claim.id)).where(Claim.task_id == task.id))
    assert live == SLOTS
    time.sleep(0.2)  # nginx writes its log line after the answer
    served_a = _served(tmp, node_a, f"POST /api/v1/tasks/{task.id}/claims")
    served_b = _served(tmp, node_b, f"POST /api/v1/tasks/{task.id}/claims")
    assert served_a > 0 and served_b > 0 and served_a + served_b == RACERS, (served_a, served_b)
    winners = {f"race-{i}" for i, r in enumerate(results) if r.status == 201}
    assert winners <= request_ids_recorded()

    # 2. Request ids: passed through, or made by nginx when the client sent none.
    made = call(base, "GET", "/api/v1/me", token=tokens[0])
    assert made.status == 200 and re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"]), made.headers
    # nginx's own 413 (over the API's 1 MB JSON limit) keeps the API's error shape.
    big = call(base, "POST", "/api/v1/tasks", token=tokens[0], raw=b"{" + b" " * (1024 * 1024 + 10) + b"}",
               content_type="application/json", headers={"X-Request-ID": "too-big-1"})
    assert big.status == 413 and big.json()["error"] == "too_large" and big.json()["request_id"] == "too-big-1"

    # 3. A photo uploaded through node A is served through node B (one shared upload dir).
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "JPEG")
    photo = buffer.getvalue()
    boundary = "baodaoboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    up = call(node_a.base, "POST", "/api/v1/uploads", token=tokens[0], raw=body,
              content_type=f"multipart/form-data; boundary={boundary}")
    assert up.status == 201, up
    upload = up.json()
    fetched = call(node_b.base, "GET", f"/api/v1/uploads/{upload['id']}", token=tokens[0])
    assert fetched.status == 200 and len(fetched.body) == upload["size"], fetched
    assert hashlib.sha256(fetched.body).hexdigest() == upload["sha256"]
    via_nginx = call(base, "GET", f"/api/v1/uploads/{upload['id']}", token=tokens[0])
    assert via_nginx.status == 200 and via_nginx.body == fetched.body

    # 4. expire-claims on both nodes' CLIs at the same moment: each claim expires once.
    wait_for(lambda: utcnow() > soon + timedelta(seconds=0.5), timeout=10, what="the deadline to pass")
    outputs = _both_at_once(node_a, node_b, "expire-claims")
    expired = [int(m.group(1)) for out in outputs for m in re.finditer(r"expired (\d+) claims", out)]
    skipped = sum("another expiry run holds the lock" in out for out in outputs)
    assert sum(expired) == len(due), outputs
    session.rollback()
    for claim in due:
        events = session.scalars(select(AuditEvent.trigger).where(AuditEvent.subject_type == "claim",
                                                                  AuditEvent.subject_id == claim.id,
                                                                  AuditEvent.trigger == "expire")).all()
        assert events == ["expire"], (claim.id, events)
    # … and a second run finds nothing left to do.
    again = node_b.flask("expire-claims")
    assert again.returncode == 0 and "expired 0 claims" in again.stdout, again.stdout + again.stderr

    # 5. The retention run on both nodes at the same moment: each text erased once. Claims that
    # ended four years ago (their end moved back by SQL: a claim's end is its last change).
    old_claims = []
    for member in make_members(world, 3, prefix="retired"):
        claim = claim_service.start_claim(world.task().id, member)
        claim_service.fire(claim.id, "check_in", member, {"note": "多年前的走访记录"})
        claim_service.fire(claim.id, "withdraw", member, {"reason": "多年前的原因"})
        old_claims.append(claim.id)
    session.rollback()
    with db.engine.begin() as conn:
        conn.execute(update(Claim).where(Claim.id.in_(old_claims)).values(updated_at=utcnow() - timedelta(days=1500)))
    retention_outputs = _both_at_once(node_a, node_b, "retention", "run")
    erased = [int(m.group(1)) for out in retention_outputs for m in re.finditer(r"the records of (\d+) claims", out)]
    assert sum(erased) == len(old_claims), retention_outputs
    assert sum("another retention run holds the lock" in out for out in retention_outputs) + len(erased) == 2
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditErasure)) == 2 * len(old_claims)  # note, reason
    assert session.scalar(select(func.count()).select_from(Visit).where(Visit.claim_id.in_(old_claims),
                                                                        Visit.erased_at.is_(None))) == 0
    again = node_a.flask("retention", "run")
    assert again.returncode == 0 and "the records of 0 claims" in again.stdout, again.stdout + again.stderr
    verified = node_b.flask("verify-chain")
    assert verified.returncode == 0 and "6 erased under the retention rules" in verified.stdout, verified.stdout

    summary = assert_consistent(db.session)
    print(f"\nrace: {RACERS} claimants, {SLOTS} slots through nginx in {race_seconds:.1f} s: "
          f"{statuses.count(201)} x 201, {statuses.count(409)} x 409, node A served {served_a}, node B {served_b}; "
          f"expiry on both nodes at once: {[o.strip().splitlines()[-1] for o in outputs]} "
          f"({skipped} skipped on the advisory lock); after: {summary}")
