"""The HTTP benchmark: the product against the stack's own floor, in one run, one machine.

    python bench/run.py            # full: a 1M-claim PostgreSQL database (built once, then reused)
    python bench/run.py --quick    # small data and short loads (a few minutes)

Measures, with gunicorn started from the project's gunicorn.conf.py on PostgreSQL:
  1. floor      a minimal Flask-SQLAlchemy app (bench/floor_app.py): token lookup, lock a row,
                update it, insert an event, commit — and a bare `hello`
  2. lifecycle  members and staff driving claims claim → check-in → report → approve via the JSON API
  3. race       500 concurrent claimants on a task with 10 slots
  4. reads      a claim's timeline, the supervisor dashboard (district, one town), a filtered claim list;
                the 报到 reads: the largest unit's receipt report, a community's roster, the registration list
  5. verify     `flask verify-chain` over every event
  6. export     a CSV export of all claims: time and the worker's peak RSS
Prints a table, then one line of JSON with every figure and the ratios lifecycle_vs_floor
and p99_vs_floor. TEST_DATABASE_URL names the server's admin database.
"""
import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
ADMIN_URL = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
PASSWORD = "baodao-bench"


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] * 1000  # ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_conn():
    return psycopg.connect(host=ADMIN_URL.host, port=ADMIN_URL.port or 5432, user=ADMIN_URL.username,
                           dbname=ADMIN_URL.database, autocommit=True)


def db_url(name: str) -> str:
    return ADMIN_URL.set(database=name).render_as_string(hide_password=False)


def flask(env, *args, check=True):
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=check,
                          capture_output=True, text=True)


class Server:
    """gunicorn with the project's gunicorn.conf.py on a free loopback port."""

    def __init__(self, app: str, env: dict, cwd: Path = ROOT):
        self.port = free_port()
        env = {**env, "PORT": str(self.port), "BIND": f"127.0.0.1:{self.port}"}
        self.proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", app], cwd=cwd,
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.base + ("/healthz" if app == "wsgi:app" else "/hello"), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {app} did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


async def timed(client, method, url, **kw):
    started = time.perf_counter()
    response = await client.request(method, url, **kw)
    return response, time.perf_counter() - started


async def run_for(seconds, users, job):
    """`users` virtual users each running `job(i, stop_at)` until time is up; bounded by time."""
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(*(job(i, stop_at) for i in range(users)))


# ---------------------------------------------------------------- setup


def prepare_database(args) -> str:
    name = "baodao_bench_quick" if args.quick else "baodao_bench_1m"
    members, tasks, claims = (3000, 3000, 30000) if args.quick else (50000, 100000, 1000000)
    with admin_conn() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and args.rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": db_url(name)}
    flask(env, "db", "upgrade")
    with psycopg.connect(db_url(name)) as conn:
        filled = conn.execute("SELECT count(*) FROM claims").fetchone()[0]
    if not filled:
        print(f"building {name}: {members:,} members, {tasks:,} tasks, {claims:,} claims …", flush=True)
        started = time.perf_counter()
        out = flask(env, "bench-data", "--members", str(members), "--tasks", str(tasks), "--claims", str(claims))
        print(out.stdout.strip().splitlines()[-1], f"({time.perf_counter() - started:.0f} s)", flush=True)
    return name


def prepare_actors(name: str, n_members: int) -> dict:
    """Open tasks with room for the load, a town supervisor, and the names of members to log in."""
    os.environ["DATABASE_URL"] = db_url(name)
    from api import create_app
    from workflow.clock import utcnow
    from workflow.extensions import db
    from workflow.models import Town, User
    from workflow.services import tasks as task_service
    from workflow.services.tx import write_transaction
    from sqlalchemy import select, text

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url(name)})
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        if db.session.scalar(select(User.id).where(User.username == "supervisor_town")) is None:
            with write_transaction() as s:
                town = s.scalar(select(Town).order_by(Town.code))
                probe = User(username="supervisor_town", name="镇街督导", role="supervisor", scope_town=town)
                probe.password_hash = s.scalar(select(User.password_hash).where(User.username == "supervisor"))
                s.add(probe)
        deadline = (utcnow() + timedelta(days=30)).isoformat()

        def task(capacity):
            made = task_service.create_task(staff, {"title": "压测任务", "category": "志愿服务", "capacity": capacity,
                                                    "points": 10, "deadline": deadline})
            return task_service.publish_task(made.id, staff).id

        load_task = task(500)  # claims finish as they go: at most one live claim per virtual user
        race_task = task(10)
        members = db.session.scalars(select(User.username).where(User.role == "member").order_by(User.id)
                                     .limit(n_members)).all()
        some_claims = db.session.execute(text("SELECT id FROM claims ORDER BY random() LIMIT 300")).scalars().all()
        db.engine.dispose()
    return {"load_task": load_task, "race_task": race_task, "members": members, "claim_ids": some_claims}


async def login_all(base, usernames, concurrency=12) -> dict:
    tokens, sem = {}, asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async def one(username):
            async with sem:
                r = await client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
                r.raise_for_status()
                tokens[username] = r.json()["access_token"]
        await asyncio.gather(*(one(u) for u in usernames))
    return tokens


# ---------------------------------------------------------------- measurements


async def floor_load(base, tokens, items, seconds, users):
    latencies, errors = [], 0

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def transition_user(i, stop_at):
            nonlocal errors
            header = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            while time.perf_counter() < stop_at:
                r, dt = await timed(client, "POST", f"/transition/{random.randint(1, items)}", headers=header)
                latencies.append(dt) if r.status_code == 200 else None
                errors += r.status_code != 200

        await run_for(seconds, users, transition_user)
        hello = []

        async def hello_user(i, stop_at):
            while time.perf_counter() < stop_at:
                r, dt = await timed(client, "GET", "/hello")
                hello.append(dt)

        await run_for(max(seconds / 2, 3), users, hello_user)
    return {"floor_rps": len(latencies) / seconds, "floor_p50_ms": pct(latencies, 50), "floor_p99_ms": pct(latencies, 99),
            "floor_errors": errors, "hello_rps": len(hello) / max(seconds / 2, 3)}


async def lifecycle_load(base, member_tokens, staff_token, task_id, seconds, users):
    latencies, errors, statuses = [], 0, {}
    steps = [("check_in", {"note": "入户走访"}), ("submit_report", {"summary": "已完成", "hours": 2, "households": 1})]

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        staff = {"Authorization": f"Bearer {staff_token}"}

        async def member(i, stop_at):
            nonlocal errors
            me = {"Authorization": f"Bearer {member_tokens[i]}"}
            while time.perf_counter() < stop_at:
                r, dt = await timed(client, "POST", f"/api/v1/tasks/{task_id}/claims", headers=me)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code != 201:
                    errors += 1
                    continue
                latencies.append(dt)
                claim_id = r.json()["id"]
                for trigger, body in steps:
                    r, dt = await timed(client, "POST", f"/api/v1/claims/{claim_id}/{trigger}", headers=me, json=body)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    errors += r.status_code != 200
                    latencies.append(dt)
                r, dt = await timed(client, "POST", f"/api/v1/claims/{claim_id}/approve", headers=staff, json={})
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                errors += r.status_code != 200
                latencies.append(dt)

        started = time.perf_counter()
        await run_for(seconds, users, member)
        elapsed = time.perf_counter() - started
    return {"lifecycle_tps": len(latencies) / elapsed, "lifecycle_p50_ms": pct(latencies, 50),
            "lifecycle_p99_ms": pct(latencies, 99), "lifecycle_errors": errors, "lifecycle_statuses": statuses}


async def race(base, tokens, task_id):
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=500)) as client:
        results = await asyncio.gather(*(timed(client, "POST", f"/api/v1/tasks/{task_id}/claims",
                                               headers={"Authorization": f"Bearer {t}"}) for t in tokens))
    codes = [r.status_code for r, _ in results]
    return {"race_claimants": len(tokens), "race_winners": codes.count(201), "race_409": codes.count(409),
            "race_5xx": sum(c >= 500 for c in codes), "race_p99_ms": pct([dt for _, dt in results], 99)}


def page_session(base, username) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=True)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', form)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    return client


def reads(base, supervisor_token, claim_ids, samples):
    out = {}
    api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {supervisor_token}"})
    series = {"timeline": [f"/api/v1/claims/{random.choice(claim_ids)}/events" for _ in range(samples)],
              "claim_list": [f"/api/v1/claims?state=verified&page={random.randint(1, 50)}&page_size=20"
                             for _ in range(samples)]}
    for name, urls in series.items():
        times = []
        for url in urls:
            started = time.perf_counter()
            assert api.get(url).status_code == 200, url
            times.append(time.perf_counter() - started)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = pct(times, 50), pct(times, 95)
    for who in ("supervisor", "supervisor_town"):
        pages, times = page_session(base, who), []
        for _ in range(max(samples // 5, 10)):
            started = time.perf_counter()
            assert pages.get("/supervisor/").status_code == 200
            times.append(time.perf_counter() - started)
        key = "dashboard_district" if who == "supervisor" else "dashboard_town"
        out[f"{key}_p50_ms"], out[f"{key}_p95_ms"] = pct(times, 50), pct(times, 95)
    return out


def registration_targets(name: str) -> dict:
    """What the 报到 reads look at: the largest unit, the community with the most registered members
    (and a staff account of it), the newest registrations' community code."""
    with psycopg.connect(db_url(name)) as conn:
        unit_id, unit_members = conn.execute(
            "SELECT unit_id, count(*) FROM users WHERE role = 'member' AND active GROUP BY unit_id "
            "ORDER BY count(*) DESC, unit_id LIMIT 1").fetchone()
        community_id, registered = conn.execute(
            "SELECT community_id, count(*) FROM registrations WHERE state = 'active' GROUP BY community_id "
            "ORDER BY count(*) DESC, community_id LIMIT 1").fetchone()
        staff = conn.execute("SELECT username FROM users WHERE role = 'staff' AND community_id = %s ORDER BY id "
                             "LIMIT 1", (community_id,)).fetchone()[0]
        code = conn.execute("SELECT code FROM communities WHERE id = %s", (community_id,)).fetchone()[0]
    return {"unit_id": unit_id, "unit_members": unit_members, "community_id": community_id,
            "community_registered": registered, "community_code": code, "staff": staff}


def registration_reads(base, supervisor_token, targets, samples):
    """The new processes at scale (issue 17), one request at a time: the largest unit's receipt report
    (the page and the API), the roster of the community with the most registered members (its staff's
    page), and the registration list (API, the district supervisor: pages 1–50, and one community's
    active registrations)."""
    out = {}
    api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {supervisor_token}"})
    supervisor, staff = page_session(base, "supervisor"), page_session(base, targets["staff"])
    heavy = max(samples // 5, 20)
    series = {
        "receipt_page": (supervisor, [f"/supervisor/receipts?unit={targets['unit_id']}"] * heavy),
        "receipt_api": (api, [f"/api/v1/units/{targets['unit_id']}/registrations"] * heavy),
        "roster_page": (staff, ["/staff/roster"] * heavy),
        "registration_list": (api, [f"/api/v1/registrations?page={random.randint(1, 50)}&page_size=20"
                                    for _ in range(samples)]),
        "registration_list_community": (api, [f"/api/v1/registrations?state=active&community="
                                              f"{targets['community_code']}&page={random.randint(1, 5)}&page_size=20"
                                              for _ in range(samples)]),
    }
    for name, (client, urls) in series.items():
        times = []
        for url in urls:
            started = time.perf_counter()
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            times.append(time.perf_counter() - started)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = pct(times, 50), pct(times, 95)
    out.update({"receipt_unit_members": targets["unit_members"], "roster_registered": targets["community_registered"]})
    return out


def export(server, base):
    pages = page_session(base, "supervisor")
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            for pid in server.worker_pids():
                try:
                    rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))
                    peak[0] = max(peak[0], rss)
                except (OSError, AttributeError):
                    pass
            time.sleep(0.05)

    pages.get("/supervisor/exports")  # warm the worker: imports, templates, a pooled connection
    sample_once = [0]
    for pid in server.worker_pids():
        rss = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
        sample_once[0] = max(sample_once[0], int(rss.group(1)) if rss else 0)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, size, rows = time.perf_counter(), 0, 0
    with pages.stream("GET", "/supervisor/exports/download?kind=claims&fmt=csv") as r:
        assert r.status_code == 200, r.status_code
        for chunk in r.iter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    return {"export_seconds": elapsed, "export_rows": rows - 1, "export_mb": size / 1e6,
            "export_worker_rss_before_mb": sample_once[0] / 1024, "export_worker_peak_rss_mb": peak[0] / 1024}


# ---------------------------------------------------------------- main


def phase(figures: dict, name: str, measured: dict) -> None:
    """Record a phase's figures and print them at once: a later phase that fails loses nothing."""
    figures.update(measured)
    print(f"[{time.strftime('%H:%M:%S')}] {name}: " + json.dumps(
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in measured.items()}, ensure_ascii=False), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, short loads")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark database")
    parser.add_argument("--seconds", type=float, default=None, help="length of each load phase")
    parser.add_argument("--users", type=int, default=16, help="virtual users for the loads")
    args = parser.parse_args()
    seconds = args.seconds or (8 if args.quick else 30)
    figures = {"machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "load_seconds": seconds,
               "virtual_users": args.users}

    name = prepare_database(args)
    actors = prepare_actors(name, 500 + args.users)
    env = {**os.environ, "DATABASE_URL": db_url(name), "BAODAO_OPEN_CLAIM_LIMIT": "1000"}

    # 1. the floor, on the same server and database
    os.environ["FLOOR_DATABASE_URL"] = make_url(db_url(name)).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False)
    from bench import floor_app
    floor_tokens = [f"floor-token-{i}" for i in range(args.users)]
    floor_app.setup(1000, floor_tokens)
    floor = Server("bench.floor_app:app", {**env, "FLOOR_DATABASE_URL": os.environ["FLOOR_DATABASE_URL"]})
    try:
        phase(figures, "floor", asyncio.run(floor_load(floor.base, floor_tokens, 1000, seconds, args.users)))
    finally:
        floor.stop()

    server = Server("wsgi:app", env)
    try:
        members = actors["members"]
        tokens = asyncio.run(login_all(server.base, members + ["staff1", "supervisor"]))
        # 2. lifecycle
        phase(figures, "lifecycle", asyncio.run(lifecycle_load(server.base, [tokens[m] for m in members[500:]],
                                                  tokens["staff1"], actors["load_task"], seconds, args.users)))
        # 3. the last-slot race
        phase(figures, "race", asyncio.run(race(server.base, [tokens[m] for m in members[:500]], actors["race_task"])))
        # 4. supervisor reads
        phase(figures, "reads", reads(server.base, tokens["supervisor"], actors["claim_ids"], 50 if args.quick else 200))
        # 4b. the 报到 reads: a unit's receipt, a community's roster, the registration list
        phase(figures, "registration reads", registration_reads(server.base, tokens["supervisor"],
                                                                registration_targets(name), 50 if args.quick else 200))
    finally:
        server.stop()
    # 6. export, on a fresh server so the worker's memory is the export's alone
    server = Server("wsgi:app", {**env, "WEB_CONCURRENCY": "1"})
    try:
        try:
            phase(figures, "export", export(server, server.base))
        except httpx.HTTPError as exc:  # reported, and the other figures still printed
            phase(figures, "export", {"export_error": f"{type(exc).__name__}: {exc}"})
    finally:
        server.stop()

    # 5. verify-chain
    out = flask({**env}, "verify-chain", check=False).stdout
    match = re.search(r"checked (\d+) events .* \(([\d,]+) events/s\)", out)
    phase(figures, "verify", {"verify_events": int(match.group(1)),
                              "verify_events_per_s": int(match.group(2).replace(",", ""))})

    figures["lifecycle_vs_floor"] = figures["lifecycle_tps"] / figures["floor_rps"]
    figures["p99_vs_floor"] = figures["lifecycle_p99_ms"] / figures["floor_p99_ms"]
    rows = [("floor transitions/s", "floor_rps"), ("floor p99 ms", "floor_p99_ms"), ("hello req/s", "hello_rps"),
            ("lifecycle transitions/s", "lifecycle_tps"), ("lifecycle p50 ms", "lifecycle_p50_ms"),
            ("lifecycle p99 ms", "lifecycle_p99_ms"), ("lifecycle errors", "lifecycle_errors"),
            ("lifecycle ÷ floor", "lifecycle_vs_floor"), ("p99 ÷ floor p99", "p99_vs_floor"),
            ("race winners (10 slots)", "race_winners"), ("race 5xx", "race_5xx"), ("race p99 ms", "race_p99_ms"),
            ("timeline p95 ms", "timeline_p95_ms"), ("dashboard district p95 ms", "dashboard_district_p95_ms"),
            ("dashboard town p95 ms", "dashboard_town_p95_ms"), ("claim list p95 ms", "claim_list_p95_ms"),
            ("receipt page p95 ms", "receipt_page_p95_ms"), ("receipt API p95 ms", "receipt_api_p95_ms"),
            ("roster page p95 ms", "roster_page_p95_ms"), ("registration list p95 ms", "registration_list_p95_ms"),
            ("one community's list p95 ms", "registration_list_community_p95_ms"),
            ("verify-chain events/s", "verify_events_per_s"), ("export seconds", "export_seconds"),
            ("export rows", "export_rows"), ("export worker RSS before MB", "export_worker_rss_before_mb"),
            ("export worker peak RSS MB", "export_worker_peak_rss_mb")]
    for label, key in rows:
        value = figures.get(key)
        print(f"{label:<30}{value:>14,.2f}" if isinstance(value, float) else f"{label:<30}{value!s:>14}")
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
