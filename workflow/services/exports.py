"""Exports of claims and audit events (CSV and XLSX), and the monthly unit feedback as XLSX.

Files an office can file (issue 15): headers in the reader's language (Chinese, or English when the
page is in English: `header(kind, locale)`), states and triggers in the definitions' words, times
in Beijing time to the minute (claims) or second (audit events) — never microseconds, hours and
points of the verified work, and file names in local time (`download_name`, sent with
`content_disposition`: RFC 5987 `filename*` plus an ASCII fallback).

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
from datetime import date, datetime, time, timedelta, timezone

import xlsxwriter
from sqlalchemy import and_, or_, select, true

from ..clock import DISTRICT_TZ, utcnow
from ..errors import InvalidInput
from ..i18n import DEFAULT_LOCALE, gettext
from ..time_bounds import check_query_time
from ..models import AuditEvent, Claim, Community, Registration, Task, Town, Unit, UnitFeedback, User
from . import scope
from .event_input import read_inputs
from .names import ShownNames



def _l(msgid: str) -> str:
    """Marks a msgid for pybabel (`-k _l`); translated when a header is written."""
    return msgid


# (key, header msgid): the key names the column for programs and tests, the header is for people.
CLAIM_COLUMNS = [("claim_id", _l("Claim no.")), ("state", _l("State")), ("task_id", _l("Task no.")),
                 ("task_title", _l("Task")), ("category", _l("Category")), ("community", _l("Community")),
                 ("town", _l("Town or street")), ("member", _l("Member")), ("unit", _l("Unit")),
                 ("hours", _l("Hours (verified)")), ("households", _l("Households served")),
                 ("points", _l("Points awarded")), ("deadline", _l("Task deadline")), ("created_at", _l("Claimed at")),
                 ("updated_at", _l("Last change")), ("last_reason", _l("Reason given (return or rejection)"))]
EVENT_COLUMNS = [("event_id", _l("Event no.")), ("subject", _l("Subject")), ("seq", _l("No. in its record")),
                 ("trigger", _l("Action")), ("from_state", _l("State before")), ("to_state", _l("State after")),
                 ("actor_id", _l("Actor no.")), ("actor", _l("Actor")), ("actor_role", _l("Role")),
                 ("created_at", _l("Time")), ("payload", _l("Input")), ("definition", _l("Process version")),
                 ("hash", _l("Hash"))]
KINDS = {"claims": CLAIM_COLUMNS, "events": EVENT_COLUMNS}
# What a file is called, in the reader's language (ASCII for the fallback name).
FILE_TITLES = {"claims": _l("Service records"), "events": _l("Audit log"), "feedback": _l("Service feedback")}
ROLE_WORDS = {"member": _l("Party member"), "staff": _l("Community staff"), "supervisor": _l("Supervisor"),
              "liaison": _l("Unit liaison"), "admin": _l("Administrator"), "system": _l("System")}
MINUTES, SECONDS = "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"


def header(kind_or_columns, locale: str = DEFAULT_LOCALE) -> list[str]:
    """The header row of an export in the reader's language."""
    columns = KINDS[kind_or_columns] if isinstance(kind_or_columns, str) else kind_or_columns
    return [gettext(msgid, locale=locale) for _key, msgid in columns]


def keys(kind: str) -> list[str]:
    return [key for key, _msgid in KINDS[kind]]


def _stamp(value: datetime, fmt: str) -> str:
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"
    return text + f":{value.second:02d}" if fmt == SECONDS else text


# Beijing has kept UTC+8 without summer time since 1991: from then on a fixed offset (fast, for a
# million rows); before it, the zone's rules.
_FIXED_FROM = datetime(1992, 1, 1)
_EIGHT_HOURS = timedelta(hours=8)


def local_time(value: datetime | None, fmt: str = MINUTES) -> str:
    """A stored (naive UTC) time in Beijing time, without microseconds (`fmt`: MINUTES or SECONDS); a
    time the zone cannot hold (the calendar's ends) in UTC, marked so — a stored value never breaks an export."""
    if value is None:
        return ""
    try:
        if _FIXED_FROM <= value < datetime.max - _EIGHT_HOURS:
            return (value + _EIGHT_HOURS).strftime(fmt)  # four-digit years here: strftime is safe
        return _stamp(value.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ), fmt)
    except (OverflowError, ValueError):
        return _stamp(value, fmt) + " UTC"


class Words:
    """States, triggers and roles in the definitions' words, looked up once per definition version."""

    def __init__(self, locale: str = DEFAULT_LOCALE):
        from .. import runtime  # the app's loaded definitions

        self.english = str(locale).startswith("en")
        self.locale = locale
        self.registry = runtime.registry()
        self._cache: dict = {}

    def _definition(self, name: str | None, version: int | None):
        key = (name, version)
        if key not in self._cache:
            try:
                self._cache[key] = self.registry.get(name, version).definition if name and version else None
            except Exception:  # noqa: BLE001 - a definition no longer loaded: the codes stand
                self._cache[key] = None
        return self._cache[key]

    def state(self, state: str | None, name: str | None, version: int | None) -> str:
        if not state:
            return ""
        definition = self._definition(name, version)
        try:
            spec = definition.state(state) if definition is not None else None
        except KeyError:
            spec = None
        if spec is None:
            return state
        return (spec.label_en or state) if self.english else (spec.label or state)

    def trigger(self, trigger: str, name: str | None, version: int | None) -> str:
        definition = self._definition(name, version)
        spec = definition.trigger(trigger) if definition is not None else None
        if spec is None:
            words = {"create": ("创建", "Created"), "edit": ("编辑", "Edited")}.get(trigger)
            return (words[1] if self.english else words[0]) if words else trigger
        return (spec.label_en or trigger) if self.english else (spec.label or trigger)

    def role(self, role: str | None) -> str:
        return gettext(ROLE_WORDS[role], locale=self.locale) if role in ROLE_WORDS else (role or "")


def _ascii_words(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def download_name(kind: str, ext: str, locale: str = DEFAULT_LOCALE, *, now: datetime | None = None,
                  prefix: str = "") -> tuple[str, str]:
    """(the file's name in the reader's language, an ASCII fallback), in Beijing time:
    服务记录-2026-11-27-1530.xlsx and service-records-2026-11-27-1530.xlsx."""
    stamp = (now or utcnow()).replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).strftime("%Y-%m-%d-%H%M")
    title = gettext(FILE_TITLES[kind], locale=locale)
    local = "-".join(p for p in (prefix, title, stamp) if p) + f".{ext}"
    fallback = "-".join(p for p in (_ascii_words(FILE_TITLES[kind]), stamp) if p) + f".{ext}"
    return local, fallback


def content_disposition(name: str, fallback: str, disposition: str = "attachment") -> str:
    """RFC 6266 with RFC 5987: `filename*` carries the UTF-8 name, `filename` an ASCII one for old clients."""
    from urllib.parse import quote

    safe_fallback = "".join(c for c in fallback if c.isascii() and c.isprintable() and c not in '"\\') or "export"
    return f"{disposition}; filename=\"{safe_fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


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


def claim_rows(session, actor, lo=None, hi=None, locale: str = DEFAULT_LOCALE) -> Iterator[list]:
    words = Words(locale)
    query = (
        select(Claim.id, Claim.state, Task.id, Task.title, Task.category, Community.name, Town.name, User.name,
               Unit.name, UnitFeedback.hours, UnitFeedback.households, UnitFeedback.points, Task.deadline,
               Claim.definition_name, Claim.definition_version, Claim.created_at, Claim.updated_at, Claim.last_reason)
        .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
        .join(Town, Town.id == Community.town_id).join(User, User.id == Claim.member_id)
        .outerjoin(Unit, Unit.id == Claim.unit_id)
        .outerjoin(UnitFeedback, UnitFeedback.claim_id == Claim.id)  # one per verified claim
        .where(scope.claim_filter(actor), _between(Claim.created_at, lo, hi))
        .order_by(Claim.id)
    )
    for r in session.execute(query.execution_options(yield_per=BATCH)):
        yield [r[0], words.state(r[1], r[13], r[14]), r[2], r[3], r[4], r[5], r[6], r[7], r[8] or "",
               "" if r[9] is None else r[9], "" if r[10] is None else r[10], "" if r[11] is None else r[11],
               local_time(r[12]), local_time(r[15]), local_time(r[16]), r[17] or ""]


def event_rows(session, actor, lo=None, hi=None, locale: str = DEFAULT_LOCALE) -> Iterator[list]:
    words = Words(locale)
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
            name, _sep, version = (e.definition or "").partition("@")
            version = int(version) if version.isdigit() else None
            yield [e.id, e.subject, e.seq, words.trigger(e.trigger, name, version),
                   words.state(e.from_state, name, version), words.state(e.to_state, name, version),
                   "" if hidden or e.actor_id is None else e.actor_id, names.get(e.actor_id, words.role("system")),
                   words.role(e.actor_role), local_time(e.created_at, SECONDS),
                   json.dumps(payload, ensure_ascii=False, sort_keys=True), e.definition or "", e.hash]


def rows(session, actor, kind: str, lo=None, hi=None, locale: str = DEFAULT_LOCALE) -> Iterator[list]:
    if kind == "claims":
        return claim_rows(session, actor, lo, hi, locale)
    if kind == "events":
        return event_rows(session, actor, lo, hi, locale)
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


FEEDBACK_COLUMNS = [("member", _l("Member")), ("verified_claims", _l("Verified services")),
                    ("hours", _l("Hours")), ("households", _l("Households served")), ("points", _l("Points"))]


def month_words(month: str, locale: str = DEFAULT_LOCALE) -> str:
    """"2026-11" as 2026年11月, or November 2026."""
    year, number = int(month[:4]), int(month[5:7])
    if str(locale).startswith("en"):
        return f"{date(year, number, 1):%B} {year}"
    return f"{year}年{number}月"


def feedback_title(unit_name: str, month: str, locale: str = DEFAULT_LOCALE) -> str:
    """The monthly feedback's title: 区教育和体育局 2026年11月 在职党员服务情况反馈."""
    return gettext("%(unit)s %(month)s in-service Party members' service report", locale=locale,
                   unit=unit_name, month=month_words(month, locale))


def feedback_xlsx(report, registration=None, locale: str = DEFAULT_LOCALE) -> str:
    """The monthly unit feedback (a points.UnitMonth) as an .xlsx file path (alphabetical, not ranked);
    with its registration section (a receipts.MonthRegistrations) below it when given."""
    def t(msgid):
        return gettext(msgid, locale=locale)

    body = ([m.name, m.verified_claims, m.hours, m.households, m.points] for m in report.members)
    totals = [[t(_l("Total")), report.verified_claims, report.hours, sum(m.households for m in report.members),
               report.points]]
    rows = list(body) + totals
    if registration is not None:
        rate = "" if registration.rate is None else f"{registration.rate * 100:.1f}%"
        rows += [[], [t(_l("Registration with communities"))], [t(_l("Members")), registration.members],
                 [t(_l("Registered")), registration.registered], [t(_l("Not registered")), registration.unregistered],
                 [t(_l("Registration rate")), rate], [t(_l("Accepted this month")), registration.accepted],
                 [t(_l("Ended or lapsed this month")), registration.left]]
        rows += [[t(_l("Not registered now")), name] for name in registration.unregistered_names]
    return write_xlsx(header(FEEDBACK_COLUMNS, locale), rows, sheet=month_words(report.month, locale),
                      title_rows=[[feedback_title(report.unit.name, report.month, locale)]])
