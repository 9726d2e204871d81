"""Check-in throughput against the stack's floor, driven by a C load generator (wrk).

    python bench/checkin.py                      # 3 rounds of 15 s each: floor, then the product
    python bench/checkin.py --compare ../old     # also another checkout of the product, same rounds

The load generator is Debian's `wrk` (a C program: it takes little of the two cores the
servers share), with the Lua scripts bench/checkin.lua and bench/floor.lua, run as bench/run.py
runs it (bench/wrk.py: one wrk thread per connection). Both apps run
under the project's gunicorn.conf.py with the same number of sync workers (4 by default) on
the same PostgreSQL, in a scratch database `baodao_bench_checkin` (dropped and rebuilt each
run). The product's load is `POST /api/v1/claims/{id}/check_in` by members on their own
claims (check-in may repeat: visiting → visiting), each request a full transition — lock,
guards, effects, audit event, answer; the floor's is bench/floor_app.py's naive transition
(token lookup, lock a row, update it, insert an event, commit). Rounds alternate the apps so
a busy machine disturbs them alike; the ratio of each round is printed, then their median.
With `--compare DIR`, DIR's code (a git worktree of another commit, say) is served the same
way against the same database, for a before/after figure.

TEST_DATABASE_URL names the server's admin database (default postgresql://postgres@127.0.0.1:5432/test).
Prints a table and, last, one line of JSON.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
from bench.run import Server, admin_conn, db_url, flask  # noqa: E402

NAME = "baodao_bench_checkin"


def prepare(members: int) -> tuple[list[tuple[str, int]], list[str]]:
    """A fresh database: one community, its staff, `members` members with a live claim each on
    one big task, and an API token per member. Returns [(token, claim id)] and floor tokens."""
    with admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{NAME}"')
    env = {**os.environ, "DATABASE_URL": db_url(NAME)}
    flask(env, "db", "upgrade")

    from api import create_app
    from workflow.clock import utcnow
    from workflow.extensions import db
    from workflow.models import Community, Town, Unit, User
    from workflow.services import auth as auth_service
    from workflow.services import claims
    from workflow.services import tasks as task_service
    from workflow.services.tx import write_transaction

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url(NAME), "BAODAO_OPEN_CLAIM_LIMIT": 1000})
    pairs = []
    with app.app_context():
        with write_transaction() as s:
            town = Town(code="370116001", name="凤城街道")
            community = Community(code="370116001001", name="东升社区居民委员会", town=town)
            unit = Unit(code="lw001", name="区委组织部")
            staff = User(username="staff", name="staff", role="staff", community=community, password_hash="x")
            people = [User(username=f"m{i}", name=f"党员{i}", role="member", unit=unit, community=community,
                           password_hash="x") for i in range(members)]
            s.add_all([town, community, unit, staff, *people])
        task = task_service.create_task(staff, {"title": "压测任务", "category": "志愿服务", "capacity": members + 10,
                                                "points": 10, "deadline": (utcnow() + timedelta(days=30)).isoformat()})
        task_service.publish_task(task.id, staff)
        for person in people:
            claim = claims.start_claim(task.id, person)
            claims.fire(claim.id, "check_in", person, {"note": "首次走访"})
            pairs.append((auth_service.issue_token_for(person, ttl=timedelta(days=1)).token, claim.id))
        db.engine.dispose()

    os.environ["FLOOR_DATABASE_URL"] = db_url(NAME).replace("postgresql://", "postgresql+psycopg://", 1)
    from bench import floor_app
    floor_tokens = [f"floor-token-{i}" for i in range(members)]
    floor_app.setup(1000, floor_tokens)
    return pairs, floor_tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, for both apps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="DIR", help="another checkout of the product to measure alike")
    args = parser.parse_args()
    pairs, floor_tokens = prepare(members=max(args.connections * 8, 64))
    work = Path(tempfile.mkdtemp(prefix="baodao-wrk-"))
    checkin_data, floor_data = work / "checkin.txt", work / "floor.txt"
    checkin_data.write_text("".join(f"{token} {claim}\n" for token, claim in pairs))
    floor_data.write_text("".join(f"{token}\n" for token in floor_tokens))
    env = {**os.environ, "DATABASE_URL": db_url(NAME), "WEB_CONCURRENCY": str(args.workers),
           "BAODAO_OPEN_CLAIM_LIMIT": "1000"}
    apps = {"floor": (ROOT, "bench.floor_app:app", Path(__file__).parent / "floor.lua", floor_data),
            "product": (ROOT, "wsgi:app", Path(__file__).parent / "checkin.lua", checkin_data)}
    if args.compare:
        apps["compare"] = (Path(args.compare).resolve(), "wsgi:app", Path(__file__).parent / "checkin.lua",
                           checkin_data)
    figures = {"machine": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": args.seconds, "connections": args.connections,
               "workers": args.workers, "rounds": []}
    for n in range(args.rounds):
        this = {}
        for name, (source, module, script, data) in apps.items():
            server = Server(module, {**env, "FLOOR_DATABASE_URL": os.environ["FLOOR_DATABASE_URL"]}, cwd=source)
            try:
                wrk.run(server.base, script, data, 3, args.connections)  # warm: imports, pools, caches
                figures_ = wrk.run(server.base, script, data, args.seconds, args.connections)
                this[name] = {k: figures_[k] for k in ("rps", "p50_ms", "p99_ms", "non_2xx", "socket_errors")}
            finally:
                server.stop()
            print(f"[{time.strftime('%H:%M:%S')}] round {n + 1} {name}: {json.dumps(this[name])}", flush=True)
        figures["rounds"].append(this)
    for name in apps:
        if name == "floor":
            continue
        ratios = [r[name]["rps"] / r["floor"]["rps"] for r in figures["rounds"]]
        p99s = [r[name]["p99_ms"] / r["floor"]["p99_ms"] for r in figures["rounds"]]
        figures[f"{name}_vs_floor"] = [round(x, 3) for x in ratios]
        figures[f"{name}_vs_floor_median"] = round(statistics.median(ratios), 3)
        figures[f"{name}_p99_vs_floor_median"] = round(statistics.median(p99s), 2)
        print(f"{name:<10} rps ÷ floor per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}; p99 ÷ floor p99 median {statistics.median(p99s):.2f}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
