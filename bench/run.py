"""The HTTP benchmark: the product against the stack's own floor, in one run, one machine.

    python bench/run.py            # full: a 1M-claim PostgreSQL database (built once, then reused)
    python bench/run.py --quick    # small data and short loads (a few minutes)

Measures, with gunicorn started from the project's gunicorn.conf.py on PostgreSQL — both apps with
the same number of sync workers (--workers, 4) — and, for the throughput phases, Debian's `wrk` (a C
load generator, so that the load takes little of the CPU the servers share; --users connections,
one wrk thread each; bench/wrk.py, Lua scripts beside this file):
  1. floor      a minimal Flask-SQLAlchemy app (bench/floor_app.py): token lookup, lock a row,
                update it, insert an event, commit (bench/floor.lua) — and a bare `hello`
  2. check-in   members checking in on their own claims, each request a whole transition (bench/checkin.lua)
  3. lifecycle  whole claims, claim → check-in → report → approve via the JSON API, each wrk connection
                with its own members and the staff's token (bench/lifecycle.lua); transitions/s
  4. race       500 concurrent claimants on a task with 10 slots (httpx)
  5. reads      a claim's timeline, the supervisor dashboard (district, one town), a filtered claim list;
                the 报到 reads: the largest unit's receipt report, a community's roster, the registration list (httpx)
  6. export     a CSV export of all claims: time and the worker's peak RSS
  7. verify     `flask verify-chain` over every event
Phases 1–3 run in rounds (--rounds, 3), floor, check-in, lifecycle, again and again, with both apps
up, so that a busy spell of a shared machine weighs on the floor and the product alike; their
figures are the rounds' medians, each ratio the median of the rounds' ratios.
Prints a table, then one line of JSON with every figure and the ratios checkin_vs_floor,
lifecycle_vs_floor and p99_vs_floor (p99s from wrk's latency distribution).
TEST_DATABASE_URL names the server's admin database.
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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
VENV_BIN = Path(sys.executable).parent
ADMIN_URL = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
PASSWORD = "baodao-bench"
MEMBERS_PER_CONNECTION = 4  # the lifecycle's members on each wrk connection, in turn
CHECKIN_PER_CONNECTION = 8  # claims checked in on, per connection
RACE_CLAIMANTS = 500
# Every key of the JSON line (the last line printed); tests/test_bench_wrk.py holds run.py to it.
JSON_KEYS = (
    "machine", "date", "quick", "load_seconds", "virtual_users", "load_generator", "workers", "rounds", "loadavg_start",
    "floor_rps", "floor_p50_ms", "floor_p99_ms", "floor_errors", "hello_rps",
    "checkin_rps", "checkin_p50_ms", "checkin_p99_ms", "checkin_errors",
    "lifecycle_tps", "lifecycle_p50_ms", "lifecycle_p99_ms", "lifecycle_errors", "lifecycle_statuses",
    "race_claimants", "race_winners", "race_409", "race_5xx", "race_p99_ms",
    "timeline_p50_ms", "timeline_p95_ms", "claim_list_p50_ms", "claim_list_p95_ms",
    "dashboard_district_p50_ms", "dashboard_district_p95_ms", "dashboard_town_p50_ms", "dashboard_town_p95_ms",
    "export_seconds", "export_rows", "export_mb", "export_worker_rss_before_mb", "export_worker_peak_rss_mb",
    "verify_events", "verify_events_per_s", "loadavg_end",
    "checkin_vs_floor", "checkin_p99_vs_floor", "lifecycle_vs_floor", "p99_vs_floor",
    "checkin_vs_floor_rounds", "lifecycle_vs_floor_rounds",
)


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
        # PYTHONPATH: the code of this checkout (a git worktree, say), not the one installed in the venv.
        env = {**env, "PORT": str(self.port), "BIND": f"127.0.0.1:{self.port}",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))}
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
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


async def timed(client, method, url, **kw):
    started = time.perf_counter()
    response = await client.request(method, url, **kw)
    return response, time.perf_counter() - started


# ---------------------------------------------------------------- setup


def prepare_database(args) -> str:
    name = args.database or ("baodao_bench_quick" if args.quick else "baodao_bench_1m")
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


def prepare_actors(name: str, connections: int, rounds: int = 1) -> dict:
    """Open tasks for the loads, a town supervisor, and the members to log in: the race's
    claimants, the lifecycle's (MEMBERS_PER_CONNECTION per connection, each connection with a task
    of its own, so that claims do not all queue on one task's lock) and the check-in's, who each
    hold a live claim already checked in on once (check-in repeats: visiting → visiting)."""
    os.environ["DATABASE_URL"] = db_url(name)
    from api import create_app
    from workflow.clock import utcnow
    from workflow.extensions import db
    from workflow.models import Town, User
    from workflow.services import auth as auth_service
    from workflow.services import claims as claim_service
    from workflow.services import tasks as task_service
    from workflow.services.tx import write_transaction
    from sqlalchemy import select, text

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url(name), "BAODAO_OPEN_CLAIM_LIMIT": 1000})
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

        race_task = task(10)
        # fresh members and tasks for each round's lifecycle (a round ends with claims in flight)
        lifecycle_tasks = [task(MEMBERS_PER_CONNECTION + 2) for _ in range(connections * rounds)]
        n_lifecycle = connections * MEMBERS_PER_CONNECTION * rounds
        n_checkin = connections * CHECKIN_PER_CONNECTION
        people = db.session.scalars(select(User).where(User.role == "member", User.active.is_(True))
                                    .order_by(User.id).limit(RACE_CLAIMANTS + n_lifecycle + n_checkin)).all()
        race, lifecycle, checkin = (people[:RACE_CLAIMANTS], people[RACE_CLAIMANTS:RACE_CLAIMANTS + n_lifecycle],
                                    people[RACE_CLAIMANTS + n_lifecycle:])
        checkin_task = task(n_checkin + 10)
        checkin_claims = []
        for person in checkin:
            claim = claim_service.start_claim(checkin_task, person)
            claim_service.fire(claim.id, "check_in", person, {"note": "首次走访"})
            checkin_claims.append((person.username, claim.id))
        some_claims = db.session.execute(text("SELECT id FROM claims ORDER BY random() LIMIT 300")).scalars().all()
        per_round = len(lifecycle) // rounds
        names = {"race": [p.username for p in race], "lifecycle": [p.username for p in lifecycle],
                 "lifecycle_rounds": [{"lifecycle": [p.username for p in lifecycle[r * per_round:(r + 1) * per_round]],
                                       "lifecycle_tasks": lifecycle_tasks[r * connections:(r + 1) * connections]}
                                      for r in range(rounds)]}
        # API tokens issued directly, as POST /auth/token issues them but without ~700 scrypt checks on the
        # server before the loads (a login is not what they measure; the reads log in through the pages).
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        tokens = {p.username: auth_service.issue_token_for(p, ttl=timedelta(hours=6)).token
                  for p in [*people, staff, supervisor]}
        db.engine.dispose()
    return {"race_task": race_task, "checkin_claims": checkin_claims,
            "claim_ids": some_claims, "tokens": tokens, **names}


def write_lifecycle_file(path: Path, staff_token: str, connections: list[list[tuple[int, str]]]) -> Path:
    """bench/lifecycle.lua's input: `staff <token>`, then `<connection> <task> <token>` for each
    member of each connection (numbered from 1, as wrk's threads are)."""
    lines = [f"staff {staff_token}\n"]
    for number, members in enumerate(connections, start=1):
        lines += [f"{number} {task} {token}\n" for task, token in members]
    path.write_text("".join(lines))
    return path


def lifecycle_connections(actors: dict, tokens: dict, connections: int) -> list[list[tuple[int, str]]]:
    """Each connection's members, in turn, with the task they claim (the connection's own)."""
    names = actors["lifecycle"]
    return [[(actors["lifecycle_tasks"][c], tokens[n]) for n in names[c::connections]] for c in range(connections)]

# ---------------------------------------------------------------- measurements


def _load(figures: dict, prefix: str, rate_key: str = "rps") -> dict:
    """A wrk run's figures under the JSON line's names."""
    return {f"{prefix}_{rate_key}": figures["ok_rps"], f"{prefix}_p50_ms": figures["p50_ms"],
            f"{prefix}_p99_ms": figures["p99_ms"], f"{prefix}_errors": figures["non_2xx"] + figures["socket_errors"]}


def floor_load(base, data: Path, seconds, connections) -> dict:
    wrk.run(base, "floor.lua", data, 2, connections)  # warm: imports, pools
    out = _load(wrk.run(base, "floor.lua", data, seconds, connections), "floor")
    out["hello_rps"] = wrk.run(base, None, None, max(seconds / 2, 3), connections, path="/hello")["rps"]
    return out


def checkin_load(base, data: Path, seconds, connections) -> dict:
    wrk.run(base, "checkin.lua", data, 2, connections)  # warm: imports, pools, caches
    return _load(wrk.run(base, "checkin.lua", data, seconds, connections), "checkin")


def lifecycle_load(base, data: Path, seconds, connections) -> dict:
    figures = wrk.run(base, "lifecycle.lua", data, seconds, connections)
    statuses = figures.get("statuses", {})
    return {**_load(figures, "lifecycle", "tps"), "lifecycle_statuses": statuses}


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


def combine(rounds: list[dict]) -> dict:
    """The rounds' figures as one: the median of each figure, the sum of errors and statuses, and
    each ratio the median of the rounds' own ratios (a round's floor and product ran minutes apart
    at most, so a busy spell on the machine weighs on both sides of a ratio alike)."""
    out = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds]
        if key == "lifecycle_statuses":
            merged = {}
            for value in values:
                for status, count in value.items():
                    merged[status] = merged.get(status, 0) + count
            out[key] = dict(sorted(merged.items()))
        elif key.endswith("_errors"):
            out[key] = sum(values)
        else:
            out[key] = statistics.median(values)
    per_round = [ratios(r) for r in rounds]
    for key in per_round[0]:
        out[key] = statistics.median(r[key] for r in per_round)
    out["checkin_vs_floor_rounds"] = [round(r["checkin_vs_floor"], 3) for r in per_round]
    out["lifecycle_vs_floor_rounds"] = [round(r["lifecycle_vs_floor"], 3) for r in per_round]
    return out


def ratios(figures: dict) -> dict:
    """The product against the floor, measured in the same run: throughput and p99."""
    return {"checkin_vs_floor": figures["checkin_rps"] / figures["floor_rps"],
            "checkin_p99_vs_floor": figures["checkin_p99_ms"] / figures["floor_p99_ms"],
            "lifecycle_vs_floor": figures["lifecycle_tps"] / figures["floor_rps"],
            "p99_vs_floor": figures["lifecycle_p99_ms"] / figures["floor_p99_ms"]}


TABLE = [("floor transitions/s", "floor_rps"), ("floor p99 ms", "floor_p99_ms"), ("hello req/s", "hello_rps"),
         ("check-in transitions/s", "checkin_rps"), ("check-in p99 ms", "checkin_p99_ms"),
         ("check-in ÷ floor", "checkin_vs_floor"), ("check-in p99 ÷ floor p99", "checkin_p99_vs_floor"),
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


def json_line(figures: dict) -> str:
    return json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()},
                      ensure_ascii=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, short loads")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark database")
    parser.add_argument("--database", help="the benchmark database's name (default baodao_bench_quick with --quick, "
                                           "else baodao_bench_1m)")
    parser.add_argument("--seconds", type=float, default=None, help="length of each load phase")
    parser.add_argument("--users", "--connections", dest="users", type=int, default=16,
                        help="connections (one wrk thread each) for the throughput phases")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, for both apps")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of floor, check-in and lifecycle; the "
                                                                 "figures are their medians")
    args = parser.parse_args()
    if not wrk.available():
        sys.exit("wrk is not installed: scripts/ensure-wrk.sh (make bench runs it)")
    seconds = args.seconds or (8 if args.quick else 30)
    figures = {"machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "load_seconds": seconds,
               "virtual_users": args.users, "load_generator": f"wrk, {args.users} connections, one thread each",
               "workers": args.workers, "rounds": args.rounds,
               "loadavg_start": [round(x, 2) for x in os.getloadavg()]}

    name = prepare_database(args)
    actors = prepare_actors(name, args.users, args.rounds)
    env = {**os.environ, "DATABASE_URL": db_url(name), "BAODAO_OPEN_CLAIM_LIMIT": "1000",
           "WEB_CONCURRENCY": str(args.workers)}
    work = Path(tempfile.mkdtemp(prefix="baodao-bench-"))

    # 1. the floor, on the same server and database
    os.environ["FLOOR_DATABASE_URL"] = make_url(db_url(name)).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False)
    from bench import floor_app
    floor_tokens = [f"floor-token-{i}" for i in range(max(args.users * 8, 64))]
    floor_app.setup(1000, floor_tokens)
    floor_data = work / "floor.txt"
    floor_data.write_text("".join(f"{t}\n" for t in floor_tokens))
    tokens = actors["tokens"]
    checkin_data = work / "checkin.txt"
    checkin_data.write_text("".join(f"{tokens[n]} {claim}\n" for n, claim in actors["checkin_claims"]))
    lifecycle_files = [write_lifecycle_file(work / f"lifecycle-{r + 1}.txt", tokens["staff1"],
                                            lifecycle_connections(this_round, tokens, args.users))
                       for r, this_round in enumerate(actors["lifecycle_rounds"])]
    # Both apps up at once (idle workers cost nothing), the throughput phases in rounds: floor,
    # check-in, lifecycle, then again, so that a busy spell of the machine falls on both sides.
    floor = Server("bench.floor_app:app", {**env, "FLOOR_DATABASE_URL": os.environ["FLOOR_DATABASE_URL"]})
    try:
        server = Server("wsgi:app", env)
    except RuntimeError:
        floor.stop()
        raise
    try:
        rounds = []
        for r in range(args.rounds):
            this = {}
            # 1. the floor, on the same server and database; 2. check-in alone; 3. the lifecycle
            phase(this, f"round {r + 1} floor", floor_load(floor.base, floor_data, seconds, args.users))
            phase(this, f"round {r + 1} check-in", checkin_load(server.base, checkin_data, seconds, args.users))
            phase(this, f"round {r + 1} lifecycle", lifecycle_load(server.base, lifecycle_files[r], seconds,
                                                                   args.users))
            rounds.append(this)
        figures.update(combine(rounds))
        floor.stop()
        # 4. the last-slot race
        phase(figures, "race", asyncio.run(race(server.base, [tokens[m] for m in actors["race"]],
                                                actors["race_task"])))
        # 5. supervisor reads
        phase(figures, "reads", reads(server.base, tokens["supervisor"], actors["claim_ids"], 50 if args.quick else 200))
        # 5b. the 报到 reads: a unit's receipt, a community's roster, the registration list
        phase(figures, "registration reads", registration_reads(server.base, tokens["supervisor"],
                                                                registration_targets(name), 50 if args.quick else 200))
    finally:
        floor.stop()
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

    # 7. verify-chain
    out = flask({**env}, "verify-chain", check=False).stdout
    match = re.search(r"checked (\d+) events .* \(([\d,]+) events/s\)", out)
    phase(figures, "verify", {"verify_events": int(match.group(1)),
                              "verify_events_per_s": int(match.group(2).replace(",", ""))})

    figures["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    for label, key in TABLE:
        value = figures.get(key)
        print(f"{label:<30}{value:>14,.2f}" if isinstance(value, float) else f"{label:<30}{value!s:>14}")
    print(json_line(figures))


if __name__ == "__main__":
    main()
