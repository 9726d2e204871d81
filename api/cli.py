"""`flask --app wsgi …` commands. Thin: parse, call a service, print.

Errors from the domain print as `error: …` and exit 1 (2 for usage, as click does).
"""
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from workflow import audit, runtime
from workflow.engine.diagram import mermaid
from workflow.engine.loader import load_definition
from workflow.errors import DefinitionError, DomainError
from workflow.extensions import db
from workflow.services import delivery, demo, expiry, timers, users
from workflow.services.tx import write_transaction


def _fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


workflow_cli = AppGroup("workflow", help="List, check and show workflow definitions.")


@workflow_cli.command("list")
def workflow_list():
    """Every loaded definition: name, version, subject, whether new instances start under it."""
    rt = runtime.current()
    rows = [("name", "version", "subject", "active", "title", "file")]
    for compiled in rt.registry.all():
        d = compiled.definition
        rows.append((d.name, str(d.version), d.subject, "active" if rt.is_active(d.name, d.version) else "-",
                     d.title, d.path))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


@workflow_cli.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def workflow_check(path):
    """Validate a definition file; exit non-zero with the problem."""
    try:
        definition = load_definition(path)
    except DefinitionError as exc:
        _fail(str(exc))
    click.echo(f"ok: {definition.label} — {len(definition.states)} states, {len(definition.triggers)} triggers")


@workflow_cli.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="Defaults to the active version.")
def workflow_show(name, version):
    """Print a definition's transition table and its Mermaid state diagram."""
    rt = runtime.current()
    try:
        compiled = rt.registry.get(name, version or rt.active_version(name))
    except DefinitionError as exc:
        _fail(str(exc))
    d = compiled.definition
    click.echo(f"{d.label} ({d.subject}): {d.title} ({d.path})")
    click.echo(f"states: {', '.join(s.name + (' (final)' if s.final else '') for s in d.states)}")
    rows = [("trigger", "from", "to", "roles", "guards", "effects", "input")]
    for t in d.triggers:
        rows.append((t.name + (" *" if t.internal else ""), ",".join(t.sources), t.dest, ",".join(t.roles),
                     ",".join(g.name for g in t.guards) or "-", ",".join(e.name for e in t.effects) or "-",
                     ",".join(f.name + ("!" if f.required else "") for f in t.fields) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    click.echo("(* internal: fired by a service; ! required input)")
    for t in d.triggers:
        for n in t.notify:
            click.echo(f"notify: {t.name} → {n.kind} to {', '.join(n.to)}")
    for t in d.timers:
        does = ([f"fires {t.fire}"] if t.fire else []) + [f"{n.kind} to {', '.join(n.to)}" for n in t.notify]
        click.echo(f"timer: {t.name} — in {', '.join(t.states)}, due {t.due_text}: {'; '.join(does)}")
    click.echo("")
    click.echo(mermaid(d))


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has users.")
@click.option("--members", default=400, show_default=True)
@click.option("--tasks", default=240, show_default=True)
def demo_data(if_empty, members, tasks):
    """Load Laiwu demo data: towns, villages, units, people, tasks, claims."""
    if demo.is_loaded():
        if if_empty:
            click.echo("demo data: the database already has users; nothing loaded")
            return
        _fail("the database already has users; demo data goes only into an empty database")
    with click.progressbar(length=tasks, label="demo tasks and claims") as bar:
        counts = demo.load(current_app.config["BAODAO_DEMO_PASSWORD"], members=members, tasks=tasks,
                           progress=bar.update)
    click.echo("loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["member", "staff", "supervisor", "liaison", "admin"]), required=True)
@click.option("--unit", help="unit code or name")
@click.option("--community", help="12-digit community code")
@click.option("--scope", help="supervisors: district, town:<code> or unit:<code>")
@click.password_option()
def create_user(username, name, role, unit, community, scope, password):
    """Create one user. Usernames: letters, digits and ._-@, unique without regard to case;
    passwords: at least 10 characters, not weak, common or containing the username."""
    try:
        user = users.create_user(username=username, name=name or username, role=role, password=password,
                                 unit=unit, community=community, scope=scope)
    except DomainError as exc:
        _fail(exc.message)
    click.echo(f"created {user.username} ({user.role})")


@click.command("import-users")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--update", is_flag=True, help="Change users that exist instead of refusing them.")
@click.option("--passwords-out", type=click.Path(dir_okay=False), default=None,
              help="Where generated one-time passwords go (default: FILE.passwords.csv, mode 600).")
@click.option("--admin", "admin_username", default=None,
              help="The admin the members' registrations are recorded as accepted by (default: the system).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="The language of the problems reported.")
def import_users(file, update, passwords_out, admin_username, lang):
    """Import users from CSV (UTF-8, with or without BOM, or GBK/GB18030) or XLSX, with the header
    username,name,role,unit,community,scope,password[,email] or 用户名,姓名,角色,单位,社区,范围,密码[,邮箱].
    All or nothing: every problem of every bad line is reported. A member row with a community
    registers the member there (active, accepted by --admin). Everyone imported must choose their own
    password at the first login."""
    from workflow.services import user_files

    data = Path(file).read_bytes()
    admin = None
    if admin_username:
        from workflow.models import User

        admin = db.session.scalar(db.select(User).where(User.username == admin_username, User.role == "admin"))
        if admin is None:
            _fail(f"--admin {admin_username!r} is not an admin's username")
    try:
        rows = user_files.read(data, filename=file)
        with click.progressbar(length=len(rows), label="importing users", show_pos=True) as bar:
            result = users.import_users(rows, update=update, progress=bar.update, actor=admin)
    except users.ImportErrors as exc:  # every problem of every bad line, one a line
        from .pages.import_messages import problem_lines
        for text in problem_lines(exc.problems, english=lang == "en"):
            click.echo(f"error: {text}", err=True)
        bad = len(exc.lines)
        _fail(f"{bad} bad line{'s' if bad != 1 else ''} — nothing was imported" if lang == "en"
              else f"{bad} 行有误，未导入任何用户")
    except DomainError as exc:
        _fail(f"{exc.message} — nothing was imported")
    click.echo(f"created {result.created}, updated {result.updated}")
    if result.generated_passwords:
        out = Path(passwords_out or f"{file}.passwords.csv")
        out.touch(mode=0o600)
        out.write_text("username,one_time_password\n" + "".join(
            f"{u},{p}\n" for u, p in result.generated_passwords.items()), encoding="utf-8")
        click.echo(f"{len(result.generated_passwords)} one-time passwords written to {out}")
    click.echo("everyone imported chooses their own password at the first login")


timers_cli = AppGroup("timers", help="The definitions' timers: expiry, reminders, escalations.")


def _timers_summary(run) -> str:
    fired = ", ".join(f"{trigger} {subject} {n}" for (subject, trigger), n in sorted(run.fired.items()))
    return (f"{run.firings} timers fired" + (f" ({fired})" if fired else "") +
            f", {run.notified} notifications, {run.refused} refused by a guard")


@timers_cli.command("run")
def timers_run():
    """Fire every due timer of every definition, exactly once (every minute, on every node)."""
    result = timers.run()
    if result.skipped_locked:
        click.echo("another timers run holds the lock; nothing done")
        return
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(_timers_summary(result))


@click.command("purge-logs")
@click.option("--days", type=int, default=None,
              help="Keep this many days (default BAODAO_LOG_RETENTION_DAYS, 180; at least 180).")
def purge_logs(days):
    """Delete login records and ended sessions/tokens older than the retention period (a daily timer).
    The audit log, security log included, is never deleted."""
    from workflow.services import retention

    try:
        result = retention.purge(days if days is not None else current_app.config["BAODAO_LOG_RETENTION_DAYS"])
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"purged {result.login_attempts} login records and {result.sessions_and_tokens} ended "
               f"sessions/tokens from before {audit.iso(result.cutoff)}")


@click.command("expire-claims")
def expire_claims():
    """The timers run under its old name: claims expire, tasks close, reminders go out, and
    registrations and pairings whose term ended without renewal lapse (safe on every node at once)."""
    result = expiry.expire_claims()
    if result.skipped_locked:
        click.echo("another expiry run holds the lock; nothing done")
        return
    click.echo(f"expired {result.expired} claims, closed {result.tasks_closed} tasks, "
               f"lapsed {result.registrations_lapsed} registrations and {result.pairings_lapsed} pairings "
               f"({_timers_summary(result.run)})")


notify_cli = AppGroup("notify", help="Notifications through external channels (e-mail).")


@notify_cli.command("deliver")
def notify_deliver():
    """Send what the outbox has due (digests included), retrying with back-off; safe on every node."""
    from .email_channel import EmailChannel

    from .pages.notifications import external_links

    if not current_app.config.get("BAODAO_SMTP_URL"):
        click.echo("e-mail is not set up (BAODAO_SMTP_URL); notifications stay in the app, nothing to send")
        return
    result = delivery.deliver({"email": EmailChannel(current_app.config["BAODAO_MAIL_FROM"])},
                              link=external_links(current_app))
    for error in result.errors:
        click.echo(f"warning: {error}", err=True)
    click.echo(f"sent {result.messages} messages ({result.notifications} notifications), "
               f"{result.retrying} to retry, {result.failed} failed, {result.skipped} skipped")


@click.command("purge-uploads")
@click.option("--older-than-hours", default=24, show_default=True, type=click.IntRange(min=1),
              help="Unattached uploads older than this go.")
def purge_uploads(older_than_hours):
    """Remove photos no visit or report took within a day, and files no upload names (cron, daily)."""
    from datetime import timedelta

    from workflow.services import uploads

    result = uploads.purge_unattached(current_app.config["BAODAO_UPLOAD_DIR"],
                                      older_than=timedelta(hours=older_than_hours))
    click.echo(f"purged {result.rows} unattached uploads and {result.files} files")
retention_cli = AppGroup("retention", help="Retention of personal data: the periods, and the daily run that "
                                          "erases what is due (docs/privacy.md).")


@retention_cli.command("run")
def retention_run():
    """Erase personal texts whose retention period has ended (daily; safe on every node at once)."""
    from workflow.services import erasure

    result = erasure.run()
    if result.skipped_locked:
        click.echo("another retention run holds the lock; nothing done")
        return
    c = result.counts()
    click.echo(f"retention run {result.run_id}: erased {c['household_notes']} household notes; "
               f"the records of {c['claims']} claims ({c['visits']} visits, {c['reports']} reports, "
               f"{c['photos']} photos, {c['photo_files']} files), {c['tasks']} tasks, {c['projects']} projects "
               f"({c['project_reports']} reports), {c['pairings']} pairings and {c['resources']} resource contacts; "
               f"{c['fields_erased']} personal fields of audit events erased, {c['fields_withheld']} withheld; "
               f"{c['idempotency_keys']} stored answers deleted")


@retention_cli.command("show")
def retention_show():
    """The retention periods in effect (BAODAO_RETENTION_*_DAYS)."""
    periods = runtime.current().policy.retention
    click.echo(f"household notes: {periods.household_note_days} days after the task ended "
               "(BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS)")
    click.echo(f"visit notes and locations, report summaries, reasons, comments, photos: {periods.record_days} "
               "days after the claim (or task) ended (BAODAO_RETENTION_RECORD_DAYS)")
    click.echo(f"stored idempotent answers: {periods.idempotency_days} days (BAODAO_RETENTION_IDEMPOTENCY_DAYS)")


@click.command("refresh-stats")
def refresh_stats():
    """Rebuild the supervisor dashboard's rollup (run from cron every few minutes; safe on every node)."""
    from workflow.services import stats

    result = stats.refresh()
    if result.skipped_locked:
        click.echo("another refresh holds the lock; nothing done")
        return
    click.echo(f"dashboard stats refreshed up to event {result.last_event_id} in {result.duration_ms} ms")


def _signing_key():
    from workflow import checkpoint_signing

    try:
        return checkpoint_signing.load_or_create_key(current_app.config["BAODAO_CHECKPOINT_KEY"])
    except (checkpoint_signing.CheckpointFileError, ValueError, OSError) as exc:
        _fail(f"checkpoint signing key {current_app.config['BAODAO_CHECKPOINT_KEY']}: {exc}")


def _signed_heads(checkpoint_file) -> dict:
    """The heads of an exported checkpoint whose signature verifies against the configured key."""
    from workflow import checkpoint_signing

    try:
        document = json.load(checkpoint_file)
    except ValueError as exc:
        _fail(f"checkpoint file {checkpoint_file.name}: not JSON ({exc})")
    public = _signing_key().public_key()
    try:
        return checkpoint_signing.verify_document(document, public)
    except checkpoint_signing.CheckpointFileError as exc:
        _fail(f"checkpoint file {checkpoint_file.name} refused: {exc}")


@click.command("verify-chain")
@click.option("--subject", help="Only one subject, e.g. claim:12, task:3, admin:1 (the security log of user 1; "
                                "admin:0 is the command line's) or member:5 (a member's certificates).")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"),
              help="A signed checkpoint exported with `checkpoint --export` to compare against "
                   "(refused unless its signature verifies against BAODAO_CHECKPOINT_KEY).")
@click.option("--python", "in_python", is_flag=True,
              help="On PostgreSQL, hash the events here in Python instead of in the database (the way SQLite "
                   "always verifies): slower, for cross-checking. The report is the same.")
def verify_chain(subject, checkpoint_file, in_python):
    """Recompute every audit chain; exit 1 naming each broken subject and event. On PostgreSQL the
    whole log is checked inside the database, in parallel workers; one subject, and SQLite, in Python."""
    import time

    checkpoint = _signed_heads(checkpoint_file) if checkpoint_file else None
    started = time.perf_counter()
    try:
        result = audit.verify(db.session, subject=subject, checkpoint=checkpoint,
                              method="python" if in_python else "auto")
    except ValueError as exc:
        _fail(str(exc), 2)
    elapsed = max(time.perf_counter() - started, 1e-9)
    click.echo(f"checked {result.checked} events in {result.subjects} chains in {elapsed:.2f} s "
               f"({result.checked / elapsed:,.0f} events/s)")
    click.echo(f"personal fields: {result.personal} match their digests, {result.erased} erased under the "
               "retention rules (erasure recorded)")
    if result.ok:
        click.echo("ok: every chain verifies")
        return
    for problem in result.problems:
        click.echo(f"BROKEN {problem}", err=True)
    sys.exit(1)


@click.command("checkpoint")
@click.option("--export", "export_file", type=click.Path(dir_okay=False),
              help="Also write the checkpoint (heads and digest) to this file, to keep off the database.")
def checkpoint(export_file):
    """Record every chain head, so a deleted or shortened chain shows. The exported file is
    signed with the Ed25519 key at BAODAO_CHECKPOINT_KEY (made on first use, mode 0600)."""
    from workflow import checkpoint_signing

    key = _signing_key() if export_file else None  # a key problem stops before anything is written
    with write_transaction() as session:
        point = audit.make_checkpoint(session)
    click.echo(f"checkpoint {point.id}: {point.subjects} chains, digest {point.digest}")
    if export_file:
        document = checkpoint_signing.sign(key, id=point.id, created_at=audit.iso(point.created_at),
                                           heads=point.heads)
        Path(export_file).write_text(json.dumps(document), encoding="utf-8")
        click.echo(f"exported to {export_file}, signed by key {document['key_id']}")


@click.command("bench-data")
@click.option("--members", default=50_000, show_default=True)
@click.option("--tasks", default=100_000, show_default=True)
@click.option("--claims", default=1_000_000, show_default=True)
@click.option("--projects", default=None, type=int, help="projects of paired units (default: one per 50 tasks)")
@click.option("--seed", default=370116, show_default=True)
def bench_data(members, tasks, claims, projects, seed):
    """Fill an EMPTY database with district-scale data whose chains verify (for bench/)."""
    from bench import data as generator  # the benchmarks' own module: not part of the service

    try:
        with click.progressbar(length=tasks + members, label="tasks, claims, registrations and events") as bar:
            counts = generator.generate(members=members, tasks=tasks, claims=claims, projects=projects, seed=seed,
                                        progress=bar.update)
    except ValueError as exc:
        _fail(str(exc))
    click.echo("written: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def register(app):
    app.cli.add_command(workflow_cli)
    app.cli.add_command(timers_cli)
    app.cli.add_command(notify_cli)
    app.cli.add_command(retention_cli)
    for command in (demo_data, create_user, import_users, purge_logs, expire_claims, refresh_stats, verify_chain,
                    checkpoint, bench_data, purge_uploads):
        app.cli.add_command(command)
