"""CPU per transition in-process: the product's JSON API against the floor app, no HTTP server.

    python bench/cpu_per_transition.py            # both, 300 whole claims (1,200 transitions)
    python bench/cpu_per_transition.py --profile  # and where the product's time goes: by package, top functions
    python bench/cpu_per_transition.py --check-in # check-in alone (visiting → visiting), 1,200 of them

Also counts the SQL statements per transition (a listener on the engine): a figure that does not
depend on the machine's load, unlike CPU time.

Drives the Flask test client on PostgreSQL (TEST_DATABASE_URL names the server's admin database;
scratch databases are created and dropped), one thread, so CPU time per request is comparable
between the two apps. The HTTP run (bench/run.py) shows the same ratio under gunicorn.
"""
import argparse
import collections
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ADMIN = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))


def scratch(name: str) -> str:
    with psycopg.connect(host=ADMIN.host, port=ADMIN.port or 5432, user=ADMIN.username, dbname=ADMIN.database,
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.set(database=name).render_as_string(hide_password=False)


def product(n: int, profile: bool, check_in: bool = False) -> tuple[float, float, float]:
    from flask_migrate import upgrade
    from sqlalchemy import event, select

    from workflow.extensions import db

    from api import create_app
    from bench.engine import world
    from workflow.models import User
    from workflow.services.tx import write_transaction

    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch("baodao_cpu"), "BAODAO_OPEN_CLAIM_LIMIT": 1000,
                      "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        _, _, tasks = world(20, 2)
        with write_transaction() as s:
            for user in s.scalars(select(User)):
                user.set_password("bench-password")
        task_ids = [t.id for t in tasks]
    client = app.test_client()

    def token(username):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "bench-password"})
        return {"Authorization": "Bearer " + r.get_json()["access_token"]}

    members, staff = [token(f"m{i}") for i in range(20)], token("staff")
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
    claims = []
    if check_in:  # one live claim per member, checked in on again and again (visiting → visiting)
        for i in range(20):
            r = client.post(f"/api/v1/tasks/{task_ids[0]}/claims", headers=members[i])
            assert r.status_code == 201, r.get_json()
            claims.append(r.get_json()["id"])

    def visit(i):
        r = client.post(f"/api/v1/claims/{claims[i % 20]}/check_in", headers=members[i % 20], json={"note": "入户"})
        assert r.status_code == 200, r.get_json()

    def cycle(i):
        me = members[i % 20]
        r = client.post(f"/api/v1/tasks/{task_ids[i % 2]}/claims", headers=me)
        assert r.status_code == 201, r.get_json()
        claim = r.get_json()["id"]
        for trigger, who, body in (("check_in", me, {"note": "入户"}), ("submit_report", me, {"summary": "s", "hours": 1}),
                                   ("approve", staff, {})):
            assert client.post(f"/api/v1/claims/{claim}/{trigger}", headers=who, json=body).status_code == 200

    run, per = (visit, 1) if check_in else (cycle, 4)
    n = n * 4 if check_in else n  # the same number of transitions either way
    for i in range(50):
        run(i)
    t0, c0, s0 = time.perf_counter(), time.process_time(), statements[0]
    for i in range(n):
        run(i)
    figures = ((time.process_time() - c0) / (per * n) * 1000, (time.perf_counter() - t0) / (per * n) * 1000,
               (statements[0] - s0) / (per * n))
    if profile:  # a separate loop: the profiler's own overhead must not inflate the timed one
        profiler = cProfile.Profile(time.process_time)  # CPU time: waiting on the database is not the cost
        profiler.enable()
        for i in range(n):
            run(i)
        profiler.disable()
        by_package(profiler)
        top_functions(profiler, per * n)
    return figures


def floor(n: int) -> tuple[float, float]:
    os.environ["FLOOR_DATABASE_URL"] = make_url(scratch("baodao_cpu_floor")).set(
        drivername="postgresql+psycopg").render_as_string(hide_password=False)
    from bench import floor_app

    floor_app.setup(100, ["floor-token"])
    client, header = floor_app.app.test_client(), {"Authorization": "Bearer floor-token"}
    for i in range(200):
        client.post(f"/transition/{i % 100 + 1}", headers=header)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(4 * n):
        assert client.post(f"/transition/{i % 100 + 1}", headers=header).status_code == 200
    return (time.process_time() - c0) / (4 * n) * 1000, (time.perf_counter() - t0) / (4 * n) * 1000


def by_package(profiler) -> None:
    totals = collections.Counter()
    for (filename, _, _), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():
        if "site-packages/" in filename:
            key = filename.split("site-packages/")[1].split("/")[0]
        elif filename.startswith(str(ROOT)):
            key = "baodao:" + Path(filename).relative_to(ROOT).parts[0]
        elif filename.startswith(("~", "<")):
            key = "builtins"
        else:
            key = "stdlib"
        totals[key] += own
    whole = sum(totals.values())
    print("own time by package (product):")
    for key, value in totals.most_common(12):
        print(f"  {key:<28}{100 * value / whole:6.1f} %")


def top_functions(profiler, transitions: int, count: int = 15) -> None:
    """The functions with the most CPU of their own, and the calls per transition."""
    stats = pstats.Stats(profiler).stats
    whole = sum(own for (_, _, own, _, _) in stats.values())
    calls = sum(nc for (_, nc, _, _, _) in stats.values())
    print(f"function calls per transition: {calls / transitions:,.0f}")
    print("top functions by own time (product):")
    for (filename, line, name), (_, nc, own, _, _) in sorted(stats.items(), key=lambda kv: -kv[1][2])[:count]:
        where = filename.split("site-packages/")[-1] if "site-packages/" in filename else Path(filename).name
        print(f"  {100 * own / whole:5.1f} %  {nc / transitions:6.1f}/transition  {where}:{line}({name})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--check-in", action="store_true", help="check-in alone instead of whole claims")
    args = parser.parse_args()
    cpu, wall, statements = product(args.claims, args.profile, args.check_in)
    floor_cpu, floor_wall = floor(args.claims)
    print(f"product ({'check-in' if args.check_in else 'claim, check-in, report, approve'}): "
          f"{cpu:.2f} ms CPU, {wall:.2f} ms wall, {statements:.2f} SQL statements per transition")
    print(f"floor:   {floor_cpu:.2f} ms CPU, {floor_wall:.2f} ms wall per request")
    print(f"ratio (floor CPU / product CPU): {floor_cpu / cpu:.2f}")


if __name__ == "__main__":
    main()
