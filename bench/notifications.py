"""Inbox benchmark: the bell's unread count and the inbox's first page at 1M notifications.

    python bench/notifications.py              # 1M notifications on PostgreSQL (a few minutes)
    python bench/notifications.py --rows 20000 --samples 100   # a quick look

PostgreSQL: TEST_DATABASE_URL names the server's admin database (default
postgresql://postgres@127.0.0.1:5432/test); a scratch database `baodao_bench_notify` is created,
migrated with the real migrations, filled with COPY and dropped at the end (`--keep` keeps it).
`make bench-notify` starts a server first if none answers.

The rows: 50,000 people with notifications spread as real ones would be (most people have a
few, staff and supervisors many: the district supervisor 100,000, a few staff 20,000 each), ids
in time order, the unread ones mostly among the newest (half of the last tenth, 1 % of the rest). Measured per sampled person, in the app (the services
the pages and the API call, each its own query on a warm connection):

- the bell: `notifications.unread_count` (every page view of a signed-in person);
- the inbox's first page: 20 newest, texts rendered (`notifications.inbox` + `text`);
- the API's first page: `GET /api/v1/me/notifications` through the Flask test client (count
  capped at 10,001, the page, the texts, the JSON), for reference.

Prints p50 / p95 / max per measure for ordinary people and for the heaviest inboxes, and last
one line of JSON with every figure. Figures go to docs/performance.md with the machine and date.
"""
import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api import create_app  # noqa: E402
from workflow.clock import utcnow  # noqa: E402
from workflow.extensions import db  # noqa: E402

DATABASE = "baodao_bench_notify"
KINDS = ("claim_returned", "claim_approved", "claim_reported", "claim_deadline_near", "claim_report_waiting")
PARAMS = '{"days":3,"member":"王某某","points":10,"reason":"请补充入户照片","task":"为独居老人购买取暖用品"}'


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def distribution(rows: int, people: int, rng: random.Random) -> dict[int, int]:
    """How many notifications each user id gets (ids 1…people): a few very heavy inboxes, some
    heavy ones, the rest spread over everybody."""
    counts = {1: min(100_000, rows // 10)}  # the district supervisor
    for uid in range(2, 7):  # busy community staff
        counts[uid] = min(20_000, rows // 50)
    left = rows - sum(counts.values())
    for _ in range(left):
        uid = rng.randint(7, people)
        counts[uid] = counts.get(uid, 0) + 1
    return counts


def fill(conninfo: dict, rows: int, people: int, seed: int) -> dict[int, int]:
    rng = random.Random(seed)
    counts = distribution(rows, people, rng)
    start = utcnow() - timedelta(days=365)
    with psycopg.connect(dbname=DATABASE, **conninfo) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY users (id, username, name, role, password_hash, active, created_at) FROM STDIN") as copy:
                for uid in range(1, people + 1):
                    role = "supervisor" if uid == 1 else ("staff" if uid < 7 else "member")
                    copy.write_row((uid, f"u{uid}", f"用户{uid}", role, "x", True, start))
            cur.execute("SELECT setval('users_id_seq', %s)", (people,))
            # Rows in time order (ids ascending with created_at), owners interleaved as in life.
            owners = [uid for uid, n in counts.items() for _ in range(n)]
            rng.shuffle(owners)
            step = timedelta(days=365) / max(len(owners), 1)
            with cur.copy("COPY notifications (user_id, kind, subject_type, subject_id, params, created_at, read_at) "
                          "FROM STDIN") as copy:
                newest = int(len(owners) * 0.9)
                for i, uid in enumerate(owners):
                    created = start + step * i
                    # Unread ones are mostly the newest (the last tenth of the table: half of it
                    # unread), plus a few old ones nobody opened — the end of the heap, where a
                    # sequential scan looking for them would come last.
                    unread = rng.random() < (0.5 if i >= newest else 0.01)
                    read = None if unread else created + timedelta(hours=rng.randint(1, 72))
                    copy.write_row((uid, KINDS[i % len(KINDS)], "claim", rng.randint(1, 1_000_000), PARAMS,
                                    created, read))
        # As autovacuum leaves an insert-only table (PostgreSQL ≥ 13 vacuums after inserts too):
        # statistics and the visibility map, so index-only scans need no heap visits.
        conn.execute("VACUUM ANALYZE users")
        conn.execute("VACUUM ANALYZE notifications")
    return counts


def measure(app, user_ids, samples_per_user=1):
    from workflow.models import User
    from workflow.services import auth as auth_service
    from workflow.services import notifications

    bell, first_page, api = [], [], []
    client = app.test_client()
    with app.app_context():
        tokens = {}
        for uid in user_ids:
            user = db.session.get(User, uid)
            tokens[uid] = auth_service.issue_token_for(user).token
        db.session.commit()
        with app.test_request_context():
            for _ in range(samples_per_user):
                for uid in user_ids:
                    t0 = time.perf_counter()
                    notifications.unread_count(db.session, uid)
                    t1 = time.perf_counter()
                    rows = notifications.inbox(db.session, uid, offset=0, limit=20)
                    [notifications.text(n.kind, n.params, "zh_CN") for n in rows]
                    t2 = time.perf_counter()
                    db.session.rollback()
                    bell.append((t1 - t0) * 1000)
                    first_page.append((t2 - t1) * 1000)
    for uid in user_ids:
        t0 = time.perf_counter()
        response = client.get("/api/v1/me/notifications?page_size=20", headers={"Authorization": f"Bearer {tokens[uid]}"})
        api.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {"bell": bell, "first_page": first_page, "api_first_page": api}


def summarise(name, values):
    return {"measure": name, "n": len(values), "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2), "max_ms": round(max(values), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=500, help="ordinary people sampled")
    parser.add_argument("--seed", type=int, default=370116)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    admin = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    conninfo = dict(host=admin.host, port=admin.port or 5432, user=admin.username, password=admin.password,
                    autocommit=True)
    with psycopg.connect(dbname=admin.database, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        url = admin.set(database=DATABASE).render_as_string(hide_password=False)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench",
                          "BAODAO_DB_STATEMENT_TIMEOUT_MS": 0})
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        counts = fill(conninfo, args.rows, args.people, args.seed)
        filled_s = time.perf_counter() - started
        rng = random.Random(args.seed + 1)
        ordinary = rng.sample(range(7, args.people + 1), min(args.samples, args.people - 6))
        heavy = list(range(1, 7))
        # Warm the caches the way a running server is warm (one pass), then measure.
        measure(app, ordinary[:50] + heavy)
        figures = {"ordinary": measure(app, ordinary), "heavy": measure(app, heavy, samples_per_user=20)}
        with app.app_context():
            db.engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(dbname=admin.database, **conninfo) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')

    with psycopg.connect(dbname=admin.database, **conninfo) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    print(f"{args.rows:,} notifications over {args.people:,} people (filled in {filled_s:.0f} s); "
          f"heaviest inbox {counts[1]:,}; PostgreSQL {server}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    out = {"rows": args.rows, "people": args.people, "heaviest": counts[1], "postgres": server,
           "cpus": os.cpu_count(), "results": []}
    print(f"{'who':10} {'measure':16} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for who, measured in figures.items():
        for name, values in measured.items():
            row = summarise(name, values)
            out["results"].append({"who": who, **row})
            print(f"{who:10} {name:16} {row['n']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
