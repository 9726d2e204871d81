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

from bench.run import Server, db_url, registration_reads, registration_targets  # noqa: E402


def supervisor_token(name: str) -> str:
    """The district supervisor's API token, issued in-process as bench/run.py issues its tokens
    (a login is not what this measures)."""
    from datetime import timedelta

    from sqlalchemy import select

    from api import create_app
    from workflow.extensions import db
    from workflow.models import User
    from workflow.services import auth as auth_service

    os.environ["DATABASE_URL"] = db_url(name)  # (the app reads its database from the environment)
    app = create_app()
    with app.app_context():
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        token = auth_service.issue_token_for(supervisor, ttl=timedelta(hours=1)).token
        db.engine.dispose()
    return token


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="baodao_bench_1m")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    targets = registration_targets(args.database)
    server = Server("wsgi:app", {**os.environ, "DATABASE_URL": db_url(args.database)})
    try:
        token = supervisor_token(args.database)
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
