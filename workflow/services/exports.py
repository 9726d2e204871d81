"""Exports of claims and audit events (CSV and XLSX), and the monthly unit feedback as XLSX.

Rows are read in batches (`yield_per`) and written as they come, so an export of the whole
district never sits in memory: CSV is yielded chunk by chunk; XLSX is written by XlsxWriter
in constant-memory mode to a temporary file that the caller streams and then deletes.
Every query is limited to the caller's scope (`scope.claim_filter` / `task_filter` / `registration_filter`).
The household note never appears in an export.
An event's payload is exported as people read it (services/event_input.py): personal fields
resolved; an erased one null and named under "_erased".
"""
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta

import xlsxwriter
from sqlalchemy import and_, or_, select, true

from ..clock import iso
from ..errors import InvalidInput
from ..time_bounds import check_query_time
from ..models import AuditEvent, Claim, Community, Registration, Task, Town, Unit, User
from . import scope
from .event_input import read_inputs
from .names import ShownNames

CLAIM_COLUMNS = ["claim_id", "state", "task_id", "task_title", "category", "community", "town", "member",
                 "unit", "points", "deadline", "definition", "created_at", "updated_at", "last_reason"]
EVENT_COLUMNS = ["event_id", "subject", "seq", "trigger", "from_state", "to_state", "actor_id", "actor", "actor_role",
                 "created_at", "payload", "definition", "hash"]
KINDS = {"claims": CLAIM_COLUMNS, "events": EVENT_COLUMNS}
BATCH = 1000


def parse_dates(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """'YYYY-MM-DD' bounds, both inclusive, as naive UTC datetimes [start, end + 1 day)."""
    def one(value, name):
        if not value:
            return None
        try:
            moment = datetime.combine(date.fromisoformat(value), time())
        except ValueError:
            raise InvalidInput("dates must be YYYY-MM-DD", errors={name: ["Use the form 2026-11-30."]}) from None
        check_query_time(moment, name)  # 9999-12-31 + 1 day would overflow; no record is that far out
        return moment

    lo, hi = one(start, "start"), one(end, "end")
    if hi is not None:
        hi += timedelta(days=1)
    if lo and hi and lo >= hi:
        raise InvalidInput("the start is after the end", errors={"start": ["The start must not be after the end."]})
    return lo, hi


def _between(column, lo, hi):
    conditions = []
    if lo is not None:
        conditions.append(column >= lo)
    if hi is not None:
        conditions.append(column < hi)
    return and_(*conditions) if conditions else true()


def claim_rows(session, actor, lo=None, hi=None) -> Iterator[list]:
    query = (
        select(Claim.id, Claim.state, Task.id, Task.title, Task.category, Community.name, Town.name, User.name,
               Unit.name, Task.points, Task.deadline, Claim.definition_name, Claim.definition_version,
               Claim.created_at, Claim.updated_at, Claim.last_reason)
        .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
        .join(Town, Town.id == Community.town_id).join(User, User.id == Claim.member_id)
        .outerjoin(Unit, Unit.id == Claim.unit_id)
        .where(scope.claim_filter(actor), _between(Claim.created_at, lo, hi))
        .order_by(Claim.id)
    )
    for r in session.execute(query.execution_options(yield_per=BATCH)):
        yield [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] or "", r[9], iso(r[10]),
               f"{r[11]}@{r[12]}", iso(r[13]), iso(r[14]), r[15] or ""]


def event_rows(session, actor, lo=None, hi=None) -> Iterator[list]:
    visible = or_(
        and_(AuditEvent.subject_type == "claim",
             AuditEvent.subject_id.in_(select(Claim.id).where(scope.claim_filter(actor)))),
        and_(AuditEvent.subject_type == "task",
             AuditEvent.subject_id.in_(select(Task.id).where(scope.task_filter(actor)))),
        and_(AuditEvent.subject_type == "registration",
             AuditEvent.subject_id.in_(select(Registration.id).where(scope.registration_filter(actor)))),
    )
    query = (select(AuditEvent).where(visible, _between(AuditEvent.created_at, lo, hi))
             .order_by(AuditEvent.id).execution_options(yield_per=BATCH))
    # A member outside the reader's scope (the actor of a task's fill/reopen) is a role, without id.
    names = ShownNames(session, actor)
    for batch in session.scalars(query).partitions():
        names.lookup(e.actor_id for e in batch)
        inputs = read_inputs(session, batch)
        for e in batch:
            readable = inputs[e.id]
            payload = dict(readable.input, _erased=readable.erased) if readable.erased else readable.input
            hidden = names.hidden(e.actor_id)
            yield [e.id, e.subject, e.seq, e.trigger, e.from_state or "", e.to_state or "",
                   "" if hidden or e.actor_id is None else e.actor_id, names.get(e.actor_id, "system"),
                   e.actor_role, iso(e.created_at), json.dumps(payload, ensure_ascii=False, sort_keys=True),
                   e.definition or "", e.hash]


def rows(session, actor, kind: str, lo=None, hi=None) -> Iterator[list]:
    if kind == "claims":
        return claim_rows(session, actor, lo, hi)
    if kind == "events":
        return event_rows(session, actor, lo, hi)
    raise InvalidInput("unknown export", errors={"kind": ["claims or events"]})


def _safe_cell(value):
    """Defuse spreadsheet formulas in text cells (CSV injection): prefix = + - @ with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_chunks(header: list[str], body: Iterable[list], rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text in chunks, with a BOM so spreadsheet programs read the Chinese as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(body, start=1):
        writer.writerow([_safe_cell(v) for v in row])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(header: list[str], body: Iterable[list], *, sheet: str = "export",
               title_rows: list[list] | None = None) -> str:
    """Write rows to a temporary .xlsx (constant memory) and return its path; the caller deletes it."""
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="baodao-export-")
    os.close(fd)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_urls": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    r = 0
    for title in title_rows or []:
        ws.write_row(r, 0, title, bold)
        r += 1
    ws.write_row(r, 0, header, bold)
    r += 1
    for row in body:
        ws.write_row(r, 0, row)
        r += 1
    book.close()
    return path


def file_chunks(path: str, size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a file and delete it afterwards (also when the client goes away)."""
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(size):
                yield chunk
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


FEEDBACK_COLUMNS = ["member", "verified_claims", "hours", "households", "points"]


def feedback_xlsx(report, registration=None) -> str:
    """The monthly unit feedback (a points.UnitMonth) as an .xlsx file path (alphabetical, not ranked);
    with its registration section (a receipts.MonthRegistrations) below it when given."""
    body = ([m.name, m.verified_claims, m.hours, m.households, m.points] for m in report.members)
    totals = [["total", report.verified_claims, report.hours, sum(m.households for m in report.members),
               report.points]]
    rows = list(body) + totals
    if registration is not None:
        rate = "" if registration.rate is None else round(registration.rate, 4)
        rows += [[], ["报到情况 registration"], ["党员 members", registration.members],
                 ["已报到 registered", registration.registered], ["未报到 unregistered", registration.unregistered],
                 ["报到率 rate", rate], ["本月接收 accepted this month", registration.accepted],
                 ["本月结束/到期 ended or lapsed this month", registration.left]]
        rows += [["未报到 not registered", name] for name in registration.unregistered_names]
    return write_xlsx(FEEDBACK_COLUMNS, rows, sheet=report.month, title_rows=[[report.unit.name, report.month]])
