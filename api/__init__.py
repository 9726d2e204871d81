"""The HTTP layer of Baodao and its app factory.

`create_app()` reads config from the environment, wires the database and migrations,
loads the workflow definitions once for the process, registers blueprints and the
`flask --app wsgi …` commands. Business rules live in `workflow/`, never here.
"""
import logging
import os
from pathlib import Path

from flask import Flask
from sqlalchemy.exc import DBAPIError

from workflow import db_setup  # noqa: F401  (installs the SQLite connection setup)
from workflow import models  # noqa: F401  (registers the tables with the metadata)
from workflow import runtime
from workflow.engine import Settings
from workflow.extensions import db, mail, migrate
from workflow.services import outbox

from . import config, routing

MIGRATIONS_DIR = config.PROJECT_ROOT / "migrations"


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("BAODAO_INSTANCE_PATH", str(config.PROJECT_ROOT / "instance")),
        template_folder=str(config.PROJECT_ROOT / "templates"),
        static_folder=str(config.PROJECT_ROOT / "static"),
    )
    routing.install(app)  # `int` in every route is a bounded id from here on (api/routing.py)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(config.from_environment(app.instance_path))
    app.config.update(overrides or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(app.config)

    app.config.update(config.mail_settings(app.config["BAODAO_SMTP_URL"]))
    app.config.setdefault("MAIL_DEFAULT_SENDER", app.config["BAODAO_MAIL_FROM"])
    mail.init_app(app)
    db.init_app(app)
    app.teardown_appcontext(_end_session)  # registered after Flask-SQLAlchemy's, so it runs first
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    # Load and check every definition now (a broken file stops start-up, not a request), with
    # which version of each process new instances start under and the policy numbers: the
    # app's own, read by the services through workflow.runtime.current().
    app.extensions[runtime.EXTENSION] = runtime.build(
        claim_process=app.config["BAODAO_WORKFLOW"], processes=app.config["BAODAO_WORKFLOWS"],
        extra_dirs=tuple(app.config["BAODAO_DEFINITIONS_DIRS"]), upload_dir=app.config["BAODAO_UPLOAD_DIR"],
        policy=runtime.Policy(settings=Settings(open_claim_limit=app.config["BAODAO_OPEN_CLAIM_LIMIT"]),
                              stats_inline_ms=app.config["BAODAO_STATS_INLINE_MS"],
                              stats_max_age_s=app.config["BAODAO_STATS_MAX_AGE"],
                              review_days=app.config["BAODAO_REVIEW_DAYS"],
                              household_reads_per_day=app.config["BAODAO_HOUSEHOLD_READS_PER_DAY"],
                              notify=_notify_policy(app.config),
                              retention=runtime.Retention(
                                  household_note_days=app.config["BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS"],
                                  record_days=app.config["BAODAO_RETENTION_RECORD_DAYS"],
                                  idempotency_days=app.config["BAODAO_RETENTION_IDEMPOTENCY_DAYS"])))

    from . import health
    app.register_blueprint(health.bp)

    from .v1 import init_app as init_api_v1  # the JSON API under /api/v1 (flask-smorest)
    init_api_v1(app)

    from .pages import init_pages  # pages: Flask-Login, CSRF (not /api), Babel, role blueprints
    init_pages(app)

    from . import observability, security  # hardening and operations (docs/reliability.md, docs/deploy.md)
    security.init_app(app)
    observability.init_app(app)

    from . import cli
    cli.register(app)
    return app


def _notify_policy(settings) -> runtime.NotifyPolicy:
    """Which external channels are set up, and the default quiet hours and digest time (a bad
    value stops start-up with the reason)."""
    outbox.parse_hhmm(settings["BAODAO_DIGEST_TIME"])
    return runtime.NotifyPolicy(channels=("email",) if settings["BAODAO_SMTP_URL"] else (),
                                quiet_hours=outbox.parse_quiet_hours(settings["BAODAO_QUIET_HOURS"]),
                                digest_time=settings["BAODAO_DIGEST_TIME"])


def _end_session(exc):
    """Close the request's session so that a dead connection cannot turn a decided answer into a 500.

    When the database terminates connections (a restart, a failover), the ROLLBACK that closes a
    read transaction begun after the commit fails. The response is already built and any change
    is already committed, so drop the connection without a rollback and let the pool replace it.
    """
    try:
        db.session.remove()
    except DBAPIError:
        logging.getLogger("baodao").warning("closing a session on a dead database connection; dropped it")
        db.session().invalidate()
        db.session.registry.clear()
