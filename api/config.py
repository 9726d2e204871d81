"""Configuration from the environment (12-factor), with the embedded defaults.

DATABASE_URL          sqlite:///PATH or postgresql://user@host:port/db (psycopg 3 is used
                      however the URL is written); unset: instance/baodao.sqlite3
SECRET_KEY            session signing key; unset: generated once into instance/secret_key
BAODAO_WORKFLOW       the claim process new claims start under, "name@version" (dual_reporting@1)
BAODAO_WORKFLOWS      comma-separated name@version: the version of each process new instances
                      start under (e.g. "dual_reporting@2,task@1"); unnamed processes: their first
BAODAO_DEFINITIONS_DIRS  extra directories of definitions (<name>/v<N>.yaml), colon-separated,
                      loaded after the shipped workflow/definitions/
BAODAO_OPEN_CLAIM_LIMIT  live claims a member may hold at once (5)
BAODAO_REVIEW_DAYS    days a report may wait in the staff queue before it is marked overdue (3)
BAODAO_PUBLIC_URL     the address people reach the service at (https://baodao.example.cn), for
                      links printed on certificates and share cards; unset: the request's own
BAODAO_DISTRICT_NAME  the district named on certificates (莱芜区)
BAODAO_HOUSEHOLD_READS_PER_DAY  different household notes a member may open in 24 hours (10)
BAODAO_UPLOAD_DIR     where uploads are stored, outside the web root (instance/uploads); with
                      several app nodes, a directory they all share
BAODAO_DB_CONNECT_TIMEOUT     PostgreSQL connect timeout in seconds (5)
BAODAO_DB_STATEMENT_TIMEOUT_MS  PostgreSQL statement timeout (30000; 0 = none, for bulk loads)
BAODAO_RETRY_AFTER    seconds a 503 "database unavailable" answer asks clients to wait (5)
BAODAO_CHECKPOINT_KEY the Ed25519 private key that signs exported checkpoints
                      (instance/checkpoint_ed25519.pem, generated on first use, mode 0600)
BAODAO_SMTP_URL       the mail server for e-mail notifications: smtp://[user:password@]host[:port]
                      (smtp+starttls:// for STARTTLS, smtps:// for TLS; ?timeout=seconds); unset:
                      no e-mail, notifications stay in the app
BAODAO_MAIL_FROM      the sender of those e-mails (Baodao <baodao@localhost>)
BAODAO_BASE_URL       the site's address for links in e-mails (e.g. https://baodao.example.gov.cn);
                      unset: e-mails carry no links
BAODAO_QUIET_HOURS    default quiet hours, district time, when no e-mail goes out (22:00-08:00; off)
BAODAO_DIGEST_TIME    when the daily digest goes out, district time (08:00)
BAODAO_SESSION_IDLE_MINUTES  a page session ends after this many minutes without a request (30)
BAODAO_SESSION_MAX_HOURS     and at most this many hours after login (12)
BAODAO_LOG_RETENTION_DAYS    login records and ended sessions are purged after this many days
                      (180; less than 180 is refused: the Cybersecurity Law's six months)
BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS  days a household note is kept after its task ended (90)
BAODAO_RETENTION_RECORD_DAYS  days visit notes and locations, report summaries, reasons and
                      photos are kept after their claim ended (1095)
BAODAO_RETENTION_IDEMPOTENCY_DAYS  days a stored idempotent answer is kept (30)
BAODAO_PRIVACY_CONTACT  whom the privacy notice names for questions and requests
"""
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from workflow import faults
from workflow.audit import canonical_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def normalise_database_url(url: str) -> str:
    """Send every PostgreSQL URL through psycopg 3, whatever scheme it was written with."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(instance: Path) -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: str) -> dict:
    instance = Path(instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'baodao.sqlite3'}"
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # JSON stored in its canonical spelling (sorted keys, compact): the audit verifier
        # can then hash the stored payload text as it is (see workflow/audit.py).
        # No pool_pre_ping: it costs a round trip on every request (a tenth of a transition).
        # A connection the server dropped fails its first statement instead; that request is
        # a 503 (Retry-After) and SQLAlchemy replaces the whole pool at once. Connections are
        # renewed after 30 minutes and TCP keepalives (workflow/faults.py) find dead peers,
        # so an idle night does not end in one 503 per worker. (The PostgreSQL connect
        # arguments are added by engine_options(), once the URL is final.)
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800, "json_serializer": canonical_json},
        "SECRET_KEY": _secret_key(instance),
        # unset: the claim process BAODAO_WORKFLOWS names, else dual_reporting@1
        "BAODAO_WORKFLOW": os.environ.get("BAODAO_WORKFLOW") or None,
        "BAODAO_WORKFLOWS": os.environ.get("BAODAO_WORKFLOWS", ""),
        "BAODAO_DEFINITIONS_DIRS": [d for d in os.environ.get("BAODAO_DEFINITIONS_DIRS", "").split(":") if d],
        "BAODAO_OPEN_CLAIM_LIMIT": int(os.environ.get("BAODAO_OPEN_CLAIM_LIMIT", "5")),
        "BAODAO_STATS_INLINE_MS": float(os.environ.get("BAODAO_STATS_INLINE_MS", "250")),
        "BAODAO_STATS_MAX_AGE": float(os.environ.get("BAODAO_STATS_MAX_AGE", "900")),
        "BAODAO_REVIEW_DAYS": float(os.environ.get("BAODAO_REVIEW_DAYS", "3")),
        "BAODAO_PUBLIC_URL": os.environ.get("BAODAO_PUBLIC_URL", "").rstrip("/"),
        "BAODAO_DISTRICT_NAME": os.environ.get("BAODAO_DISTRICT_NAME", "莱芜区"),
        "BAODAO_HOUSEHOLD_READS_PER_DAY": int(os.environ.get("BAODAO_HOUSEHOLD_READS_PER_DAY", "10")),
        "BAODAO_UPLOAD_DIR": os.environ.get("BAODAO_UPLOAD_DIR", str(instance / "uploads")),
        "BAODAO_DEMO_PASSWORD": os.environ.get("BAODAO_DEMO_PASSWORD", "baodao-demo"),
        "BAODAO_SESSION_IDLE_MINUTES": int(os.environ.get("BAODAO_SESSION_IDLE_MINUTES", "30")),
        "BAODAO_SESSION_MAX_HOURS": int(os.environ.get("BAODAO_SESSION_MAX_HOURS", "12")),
        "BAODAO_LOG_RETENTION_DAYS": int(os.environ.get("BAODAO_LOG_RETENTION_DAYS", "180")),
        **_fault_settings(instance),
        **_notify_settings(),
        **_retention_settings(),
    }


def _days(name: str, default: int) -> int:
    """A retention period in whole days, at least 1; anything else stops start-up, naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise RuntimeError(f"{name} must be a whole number of days, at least 1 (not {raw!r})")
    return int(raw)


def _retention_settings() -> dict:
    """How long personal texts are kept (workflow/runtime.Retention, docs/privacy.md)."""
    return {
        "BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS": _days("BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS", 90),
        "BAODAO_RETENTION_RECORD_DAYS": _days("BAODAO_RETENTION_RECORD_DAYS", 3 * 365),
        "BAODAO_RETENTION_IDEMPOTENCY_DAYS": _days("BAODAO_RETENTION_IDEMPOTENCY_DAYS", 30),
        "BAODAO_PRIVACY_CONTACT": os.environ.get("BAODAO_PRIVACY_CONTACT", "").strip(),
    }


def _notify_settings() -> dict:
    """E-mail and the notification defaults (docs/workflow.md, "Timers and notifications")."""
    return {
        "BAODAO_SMTP_URL": os.environ.get("BAODAO_SMTP_URL", ""),
        "BAODAO_MAIL_FROM": os.environ.get("BAODAO_MAIL_FROM", "Baodao <baodao@localhost>"),
        "BAODAO_BASE_URL": os.environ.get("BAODAO_BASE_URL", ""),
        "BAODAO_QUIET_HOURS": os.environ.get("BAODAO_QUIET_HOURS", "22:00-08:00"),
        "BAODAO_DIGEST_TIME": os.environ.get("BAODAO_DIGEST_TIME", "08:00"),
    }


def mail_settings(smtp_url: str) -> dict:
    """Flask-Mailman's settings from BAODAO_SMTP_URL ({} when it is unset). A URL it cannot
    use stops start-up with the reason (ValueError)."""
    if not smtp_url:
        return {}
    parts = urlsplit(smtp_url)
    schemes = {"smtp": (25, False, False), "smtp+starttls": (587, True, False), "smtps": (465, False, True)}
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError("BAODAO_SMTP_URL must be smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]")
    port, starttls, tls = schemes[parts.scheme]
    query = parse_qs(parts.query)
    try:
        timeout = float(query.get("timeout", ["30"])[0])
        port = parts.port or port
    except ValueError:
        raise ValueError("BAODAO_SMTP_URL: the port and ?timeout= must be numbers") from None
    return {
        "MAIL_BACKEND": "smtp",  # also under TESTING (Flask-Mailman would keep mail in memory)
        "MAIL_SERVER": parts.hostname, "MAIL_PORT": port,
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_TLS": starttls, "MAIL_USE_SSL": tls, "MAIL_TIMEOUT": timeout,
    }


def _fault_settings(instance: Path) -> dict:
    """Timeouts, the 503 Retry-After and the checkpoint signing key (docs/reliability.md)."""
    settings = {
        "BAODAO_DB_CONNECT_TIMEOUT": int(os.environ.get("BAODAO_DB_CONNECT_TIMEOUT", "5")),
        "BAODAO_DB_STATEMENT_TIMEOUT_MS": int(os.environ.get("BAODAO_DB_STATEMENT_TIMEOUT_MS", "30000")),
        "BAODAO_RETRY_AFTER": int(os.environ.get("BAODAO_RETRY_AFTER", "5")),
        "BAODAO_CHECKPOINT_KEY": os.environ.get("BAODAO_CHECKPOINT_KEY", str(instance / "checkpoint_ed25519.pem")),
    }
    return settings


def engine_options(config: dict) -> dict:
    """The engine options for the app's final database URL: on PostgreSQL, with its timeouts
    and keepalives (workflow/faults.py) as connect arguments of this app's engine only."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options["connect_args"] = {**faults.postgres_connect_args(
            connect_timeout=config["BAODAO_DB_CONNECT_TIMEOUT"],
            statement_timeout_ms=config["BAODAO_DB_STATEMENT_TIMEOUT_MS"]), **options.get("connect_args", {})}
    return options
