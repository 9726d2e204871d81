"""The 报到 reads of bench/run.py alone, against a database already built (issue 17):

    python bench/scale_reads.py [--database baodao_bench_1m] [--samples 200]

gunicorn with the project's gunicorn.conf.py on the database (TEST_DATABASE_URL names the server's
admin database), then the largest unit's receipt report (page and API), the roster of the community
with the most registered members, and the registration list: p50 and p95 of each, one request at a
time, as one line of JSON.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import Server, db_url, login_all, registration_reads, registration_targets  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="baodao_bench_1m")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    import asyncio

    targets = registration_targets(args.database)
    server = Server("wsgi:app", {**os.environ, "DATABASE_URL": db_url(args.database)})
    try:
        token = asyncio.run(login_all(server.base, ["supervisor"]))["supervisor"]
        figures = registration_reads(server.base, token, targets, args.samples)
    finally:
        server.stop()
    load = os.getloadavg()
    print(json.dumps({"database": args.database, "date": time.strftime("%Y-%m-%d %H:%M"),
                      "machine": f"{platform.node()}, {os.cpu_count()} cores", "load_average": [round(x, 2) for x in load],
                      **{k: (round(v, 1) if isinstance(v, float) else v) for k, v in figures.items()}},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
