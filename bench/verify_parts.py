"""verify-chain in PostgreSQL, part by part: the CPU seconds each statement costs its backend.

    python bench/verify_parts.py --database baodao_bench_scale            # one process per statement
    python bench/verify_parts.py --database baodao_bench_scale --workers 2  # with parallel workers

Runs the statements of workflow/audit_sql.py one at a time on one connection (parallel workers off
unless --workers is given, so that the backend's own CPU time is the statement's whole cost) and
prints each one's CPU seconds (from /proc/<pid>/stat of the backend: the server must run on this
machine) and wall seconds. docs/performance.md ("verify-chain ≥ 200,000 events/s") quotes it.
The whole command is `flask --app wsgi verify-chain`; this shows where its time goes.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from workflow import audit_sql  # noqa: E402
from workflow.models.personal import ERASED  # noqa: E402

LATEST_CHECKPOINT = ("(SELECT c.key, c.value, c.n FROM checkpoints, json_each(checkpoints.heads) WITH ORDINALITY "
                     "AS c(key, value, n) WHERE checkpoints.id = (SELECT max(id) FROM checkpoints))")
PARTS = {
    "sweep": (audit_sql._SWEEP, {}),
    "personal, quick count": (audit_sql._VALUES_MATCHED, {"erased": ERASED}),
    "personal, erased digests": (audit_sql._ERASED_DIGESTS, {"erased": ERASED}),
    "personal, exact": (audit_sql._PERSONAL, {"erased": ERASED}),
    "checkpoint": (audit_sql._CHECKPOINT.replace("{source}", LATEST_CHECKPOINT)
                   .replace("{all_or_unmatched}", audit_sql._UNMATCHED), {}),
}


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="baodao_bench_scale")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/",
                        help="the server (the database name is appended)")
    parser.add_argument("--workers", type=int, default=0, help="max_parallel_workers_per_gather (0: one process)")
    args = parser.parse_args()
    with psycopg.connect(args.url + args.database, autocommit=True) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        for setting in (f"max_parallel_workers_per_gather = {args.workers}", "work_mem = '256MB'", "jit = off",
                        "parallel_setup_cost = 100", "parallel_tuple_cost = 0.01", "statement_timeout = 0"):
            conn.execute(f"SET {setting}")
        events = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        print(f"{args.database}: {events:,} events; parallel workers per statement: {args.workers}")
        for name, (sql, params) in PARTS.items():
            # (psycopg's placeholders: SQLAlchemy's :name becomes %(name)s; the checkpoint's has none)
            statement = sql.replace(":erased", "%(erased)s") if params else sql
            cpu, wall = backend_cpu(pid), time.perf_counter()
            answer = conn.execute(statement, params).fetchall()
            print(f"{name:28s} CPU {backend_cpu(pid) - cpu:6.2f} s   wall {time.perf_counter() - wall:6.2f} s   "
                  f"{str(answer)[:80]}")


if __name__ == "__main__":
    main()
