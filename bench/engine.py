"""Engine benchmark (no HTTP): transitions per second through the services, engine
overhead per transition, and process memory as the number of transitions grows.

    python bench/engine.py            # SQLite and PostgreSQL, 100k transitions for memory
    python bench/engine.py --quick    # a small run (a minute or so)

PostgreSQL: TEST_DATABASE_URL names the server's admin database
(default postgresql://postgres@127.0.0.1:5432/test); a scratch database `baodao_bench`
is created and dropped. `make bench-engine` starts a server first if none answers.
Prints a table and, last, one line of JSON with every figure.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api import create_app  # noqa: E402
from workflow.clock import utcnow  # noqa: E402
from workflow.engine import DefinitionRegistry, TransitionContext  # noqa: E402
from workflow.extensions import db  # noqa: E402
from workflow.models import Community, Town, Unit, User  # noqa: E402
from workflow.services import claims  # noqa: E402
from workflow.services import tasks as task_service  # noqa: E402
from workflow.services.tx import write_transaction  # noqa: E402

LIFECYCLE = [("check_in", "member", {"note": "入户走访"}),
             ("submit_report", "member", {"summary": "完成", "hours": 2, "households": 1}),
             ("approve", "staff", {"comment": "属实"})]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def world(n_members=50, n_tasks=20):
    with write_transaction() as s:
        town = Town(code="370116001", name="凤城街道")
        community = Community(code="370116001001", name="东升社区居民委员会", town=town)
        unit = Unit(code="lw001", name="区委组织部")
        staff = User(username="staff", name="staff", role="staff", community=community, password_hash="x")
        members = [User(username=f"m{i}", name=f"m{i}", role="member", unit=unit, community=community,
                        password_hash="x") for i in range(n_members)]
        s.add_all([town, community, unit, staff, *members])
    deadline = (utcnow() + timedelta(days=365)).isoformat()
    tasks = []
    for i in range(n_tasks):
        task = task_service.create_task(staff, {"title": f"任务{i}", "category": "志愿服务", "capacity": 100,
                                                "points": 10, "deadline": deadline})
        tasks.append(task_service.publish_task(task.id, staff))
    return staff, members, tasks


def run_lifecycles(staff, members, tasks, transitions: int, on_progress=None) -> tuple[int, float]:
    """Drive whole claims (claim + 3 triggers) until `transitions` have run; returns (done, seconds)."""
    done, i = 0, 0
    started = time.perf_counter()
    while done < transitions:
        member, task = members[i % len(members)], tasks[i % len(tasks)]
        claim = claims.start_claim(task.id, member)
        done += 1
        for trigger, who, data in LIFECYCLE:
            claims.fire(claim.id, trigger, staff if who == "staff" else member, data)
            done += 1
        i += 1
        if on_progress:
            on_progress(done)
    return done, time.perf_counter() - started


def engine_overhead(iterations=20000) -> float:
    """Microseconds per transition spent in the engine alone: machine lookup, guard
    evaluation, the state change and a pure effect, on an in-memory claim."""
    class Row:
        pass

    actor = Row()
    actor.id, actor.role = 2, "staff"
    claim = Row()
    claim.member_id, claim.last_reason = 1, None
    registry = DefinitionRegistry.from_directories()
    compiled = registry.get("dual_reporting", 1)
    trigger = compiled.definition.trigger("return")
    started = time.perf_counter()
    for _ in range(iterations):
        claim.state = "reported"
        machine = registry.get("dual_reporting", 1)
        ctx = TransitionContext(session=None, definition=machine.definition, trigger=trigger, subject=claim,
                                actor=actor, now=None, data={"reason": "补充"})
        assert machine.fire(claim, ctx)
    return (time.perf_counter() - started) / iterations * 1e6


def bench_backend(name: str, uri: str, tmp: Path, args) -> dict:
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench", "BAODAO_UPLOAD_DIR": str(tmp / "u"),
                      "BAODAO_OPEN_CLAIM_LIMIT": 1000})
    with app.app_context():
        upgrade()
        staff, members, tasks = world()
        run_lifecycles(staff, members, tasks, 400)  # warm up caches and the connection pool
        count, seconds = run_lifecycles(staff, members, tasks, args.throughput)
        result = {"transitions": count, "seconds": round(seconds, 2), "per_s": round(count / seconds, 1)}
        if args.memory_check:
            run_lifecycles(staff, members, tasks, 1000)
            db.session.remove()
            after_1k = rss_mb()
            run_lifecycles(staff, members, tasks, args.memory)
            db.session.remove()
            after_many = rss_mb()
            result.update(rss_mb_after_1k=round(after_1k, 1), rss_mb_after_n=round(after_many, 1),
                          memory_n=args.memory, rss_growth_mb=round(after_many - after_1k, 1))
        db.session.remove()
        db.engine.dispose()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    args.throughput = 2000 if args.quick else 10000
    args.memory = 10000 if args.quick else 100000
    args.memory_check = True

    figures = {"machine": f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
               "date": time.strftime("%Y-%m-%d"), "engine_overhead_us": round(engine_overhead(), 1)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                figures["sqlite"] = bench_backend("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}", tmp, args)
            else:
                admin = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
                conninfo = dict(host=admin.host, port=admin.port or 5432, user=admin.username, autocommit=True)
                with psycopg.connect(dbname=admin.database, **conninfo) as conn:
                    conn.execute('DROP DATABASE IF EXISTS "baodao_bench" WITH (FORCE)')
                    conn.execute('CREATE DATABASE "baodao_bench"')
                try:
                    figures["postgresql"] = bench_backend(
                        "postgresql", admin.set(database="baodao_bench").render_as_string(hide_password=False),
                        tmp, args)
                finally:
                    with psycopg.connect(dbname=admin.database, **conninfo) as conn:
                        conn.execute('DROP DATABASE IF EXISTS "baodao_bench" WITH (FORCE)')

    print(f"{'backend':<12}{'transitions/s':>15}{'RSS after 1k':>15}{'RSS after N':>14}{'N':>9}")
    for backend in ("sqlite", "postgresql"):
        if backend in figures:
            f = figures[backend]
            print(f"{backend:<12}{f['per_s']:>15,.0f}{f['rss_mb_after_1k']:>13.1f}MB{f['rss_mb_after_n']:>12.1f}MB"
                  f"{f['memory_n']:>9,}")
    print(f"engine overhead per transition (machine lookup + guards + state change): "
          f"{figures['engine_overhead_us']} µs")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
