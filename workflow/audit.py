"""The hash-chained audit log: append, verify, checkpoint.

Every subject (a task, a claim, a registration, a pairing, a project, a unit's resource line)
has its own chain; so has every actor of the
security log (subject type "admin", one chain per actor: workflow/services/security_log.py) and
every member who was issued a certificate (subject type "member": services/certificates.py).
An event's hash is
    sha256(prev_hash ‖ canonical JSON of the event's fields)
where prev_hash is the hash of the subject's previous event ("" for the first). The
event is written in the same transaction as the change it records, while the subject's
row is locked, so a chain never forks.

Verification recomputes every hash and checks each chain is gap-free from seq 1; it
also checks that every subject row (CHAINED: tasks, claims, registrations, pairings, projects and
the units' resources) has a chain at
all, and that every head recorded in the latest checkpoint is still there — so deleting a
whole chain shows too.

Personal fields (those a definition marks `personal: true`: a visit's note, a report's
summary, reasons) are kept apart so that they can be erased when their retention ends
without breaking the chain. The hashed payload holds, for each, only
    {"<field>": {"personal": sha256(salt ‖ value)}}
(`personal_digest`: the salt's 16 bytes, then the UTF-8 bytes of the value's canonical JSON
text); the text and its salt are a row of `audit_personal_values`. Verification recomputes
each stored value's digest: a match is fine; a value gone with an erasure recorded in
`audit_erasures` is "erased" (counted, not a problem); a mismatch, or a value gone without a
record, is "altered". Events written before personal fields were kept apart hold their
values in the payload itself and verify exactly as they always did.
"""
import hashlib
import json
import logging
import multiprocessing
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, event, func, insert, select, union_all
from sqlalchemy.orm import Session

from .clock import iso, utcnow
from .models import (AuditEvent, AuditPersonalValue, Certificate, Checkpoint, Claim, Pairing, Project, Registration,
                     Task, UnitResource)
from .models.personal import ERASED

log = logging.getLogger("baodao.audit")

HASHED_FIELDS = (
    "subject_type", "subject_id", "seq", "trigger", "from_state", "to_state", "actor_id",
    "actor_role", "created_at", "payload", "request_id", "definition",
)


def _default(value):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_jsonable(value):
    """The validated input as plain JSON types (datetimes as ISO text), as it is stored."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def compute_hash(fields: dict, prev_hash: str | None) -> str:
    body = canonical_json({name: fields[name] for name in HASHED_FIELDS})
    return hashlib.sha256(((prev_hash or "") + body).encode("utf-8")).hexdigest()


# -- personal fields: hashed as a digest of a value stored apart ----------------------------

PERSONAL = "personal"  # the one key of a personal field's place in the hashed payload
SALT_BYTES = 16


def personal_value_text(value) -> str:
    """A personal value as it is stored and digested: its canonical JSON text."""
    return canonical_json(value)


def personal_digest(salt: str, value_text: str) -> str:
    """sha256(salt ‖ value): the salt's bytes (stored as hex) followed by the UTF-8 bytes of the
    value's canonical JSON text exactly as `audit_personal_values.value` holds it. In SQL:
    encode(sha256(decode(salt, 'hex') || convert_to(value, 'UTF8')), 'hex')."""
    return hashlib.sha256(bytes.fromhex(salt) + value_text.encode("utf-8")).hexdigest()


def digest_of(stored) -> str | None:
    """The digest a hashed payload holds for a personal field, or None when the stored value is
    not a personal field's placeholder (a plain value, or an event from before)."""
    if isinstance(stored, dict) and len(stored) == 1 and isinstance(stored.get(PERSONAL), str):
        return stored[PERSONAL]
    return None


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def seal_personal(payload: dict, personal: Iterable[str], *, salt=new_salt) -> tuple[dict, list[dict]]:
    """Split a payload into what is hashed and the personal values kept apart: each personal
    field present (and not None) becomes {"personal": digest} with a fresh random salt (`salt`
    makes one: the benchmark data's generator passes a seeded one)."""
    hashed, apart = dict(payload), []
    for name in personal:
        if payload.get(name) is None:
            continue
        salt_hex = salt()
        text = personal_value_text(payload[name])
        hashed[name] = {PERSONAL: personal_digest(salt_hex, text)}
        apart.append({"field": name, "salt": salt_hex, "value": text})
    return hashed, apart


# session.info key: (subject_type, trigger, request_id) of each event appended in the
# session's current transaction — for whoever counts committed transitions
# (api/observability.py) and for the test-only fault hook (faults.py). Emptied when a
# transaction begins.
APPENDED = "baodao_audit_appended"


@event.listens_for(Session, "after_begin")
def _start_appended(session, transaction, connection) -> None:
    session.info[APPENDED] = []


def append(session, *, subject_type: str, subject_id: int, trigger: str, from_state: str | None,
           to_state: str | None, actor, payload: dict | None = None, request_id: str | None = None,
           definition: str | None = None, now: datetime | None = None,
           head: tuple[int, str | None] | None = None, personal: Iterable[str] = (), also=()) -> dict:
    """Add the next event to a subject's chain. The caller holds the subject's row lock.
    `head` is the chain's current (seq, hash) when the caller read it with that lock
    ((0, None) for a new subject); otherwise it is looked up here. `personal` names the
    payload's personal fields: they are hashed as digests and stored apart (seal_personal).
    `also` is a list of (statement, parameters) to run with it — the subject's UPDATE (services/tx.py,
    row_update), the rows its effects write (engine/effects.py, `_with_event`): on PostgreSQL in the
    same statement, one round trip; elsewhere just before, in order.

    The row is inserted at once with a Core INSERT (events are never loaded back into the
    session that writes them, and the ORM's unit of work is a large share of a
    transition's CPU); it is returned as the dict that was written."""
    now = now or utcnow()
    if head is None:
        last = session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        head = (last.seq, last.hash) if last else (0, None)
    seq, prev_hash = head[0] + 1, head[1]
    fields = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "seq": seq,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "created_at": iso(now),
        "payload": to_jsonable(payload or {}),
        "request_id": request_id,
        "definition": definition,
    }
    fields["payload"], apart = seal_personal(fields["payload"], personal)
    row = {**fields, "created_at": now, "prev_hash": prev_hash, "hash": compute_hash(fields, prev_hash)}
    connection = session.connection()  # Core statements: none of the ORM's execution (nor its autoflush)
    if connection.dialect.name == "postgresql" and (apart or also):
        # The subject's UPDATE, the effects' rows, the event and its personal values in one statement
        # (one round trip): data-modifying WITHs; the values' INSERT reads the event's id from its
        # INSERT … RETURNING. None of them reads another's rows (they all see the statement's snapshot).
        # Every parameter's name differs from every column's (SQLAlchemy would take a parameter named
        # like a column of the UPDATE for one more column to set): ev_*, row_<table>_*, ins_<table>_*, fb_*,
        # field_i, salt_i, value_i.
        params = {f"ev_{name}": row[name] for name in _EVENT_INSERT_COLUMNS}
        for i, value in enumerate(apart):
            params.update({f"field_{i}": value["field"], f"salt_{i}": value["salt"], f"value_{i}": value["value"]})
        for _, also_params in also:
            if not params.keys().isdisjoint(also_params):  # one value would silently replace another's
                raise ValueError(f"parameters named twice in one statement: {sorted(params.keys() & also_params)}")
            params.update(also_params)
        returned = connection.execute(_combined_insert(len(apart), tuple(statement for statement, _ in also)), params)
        if apart:
            row["id"] = returned.scalars().first()
        session.info.setdefault(APPENDED, []).append((subject_type, trigger, request_id))
        return row
    for statement, also_params in also:
        connection.execute(statement, also_params)
    if apart:  # the values need the event's id (one more INSERT, only for events that have them)
        row["id"] = connection.execute(_INSERT_EVENT_RETURNING_ID, row).scalar_one()
        connection.execute(_INSERT_PERSONAL, [{"event_id": row["id"], **value} for value in apart])
    else:
        connection.execute(_INSERT_EVENT, row)
    session.info.setdefault(APPENDED, []).append((subject_type, trigger, request_id))
    return row


_INSERT_EVENT = AuditEvent.__table__.insert()
_INSERT_EVENT_RETURNING_ID = AuditEvent.__table__.insert().returning(AuditEvent.__table__.c.id)
_INSERT_PERSONAL = insert(AuditPersonalValue.__table__)
_EVENT_INSERT_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_COMBINED: dict = {}


def _combined_insert(n: int, also):
    """PostgreSQL, one statement: [WITH also_0 AS (<also[0]: the subject's UPDATE>), also_1 AS (<also[1]>)
    …] and the event's INSERT — with `n` personal values, WITH event AS (INSERT INTO audit_events …
    RETURNING id) INSERT INTO audit_personal_values SELECT event.id, :field_i, :salt_i, :value_i …
    RETURNING event_id. Built once per number of values and tuple of statements (those are built
    once too)."""
    statement = _COMBINED.get((n, also))
    if statement is None:
        events, values = AuditEvent.__table__, AuditPersonalValue.__table__
        event_insert = events.insert().values(
            {name: bindparam(f"ev_{name}", type_=events.c[name].type) for name in _EVENT_INSERT_COLUMNS})
        if n == 0:
            statement = event_insert
        else:
            event_cte = event_insert.returning(events.c.id).cte("event")
            rows = [select(event_cte.c.id, bindparam(f"field_{i}", type_=values.c.field.type),
                           bindparam(f"salt_{i}", type_=values.c.salt.type),
                           bindparam(f"value_{i}", type_=values.c.value.type))
                    for i in range(n)]
            statement = (values.insert().from_select(["event_id", "field", "salt", "value"],
                                                     rows[0] if n == 1 else union_all(*rows))
                         .add_cte(event_cte).returning(values.c.event_id))
        for i, other in enumerate(also):
            statement = statement.add_cte(other.cte(f"also_{i}"))
        _COMBINED[(n, also)] = statement
    return statement


@dataclass
class Problem:
    subject: str
    seq: int | None
    event_id: int | None
    what: str
    # Where a problem of an event sits in the report: (subject type, subject id, seq, event id, 0 for the
    # chain's own check | 1 for a personal field | 2 for a stray value, field). Both verifiers sort by it.
    sort_key: tuple = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        where = f" event {self.event_id} (seq {self.seq})" if self.event_id is not None else ""
        return f"{self.subject}{where}: {self.what}"


@dataclass
class VerifyResult:
    checked: int = 0
    subjects: int = 0
    problems: list[Problem] = field(default_factory=list)
    head: str | None = None  # the last hash seen (for a single subject: its head)
    personal: int = 0  # personal fields (kept apart) whose stored value matched its digest
    erased: int = 0  # personal fields erased under the retention rules (erasure recorded)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


# Every kind of subject that has chains, with its table: a row of any of them without a chain
# means its chain was deleted. A new process's subject kind is added here.
CHAINED = {"task": Task, "claim": Claim, "registration": Registration, "pairing": Pairing, "project": Project,
           "resource": UnitResource}
# Chains without a table of their own: the security log's (admin: one per acting user) and a
# member's record (member: certificates issued; only members who were issued one have a chain).
SUBJECT_TYPES = (*CHAINED, "admin", "member")


def parse_subject(subject: str) -> tuple[str, int]:
    kind, _, ident = subject.partition(":")
    if kind not in SUBJECT_TYPES or not ident.isdigit():
        raise ValueError(f"subject must look like claim:12, task:3, registration:5, pairing:2, project:4, "
                         f"resource:6, admin:1 or member:5, "
                         f"not {subject!r}")
    return kind, int(ident)


# A whole-log check this large is split over processes (one range of subjects each).
PARALLEL_FROM_EVENTS = 200_000


@dataclass
class _Scan:
    """What one pass over a range of chains found (merged by verify())."""

    checked: int = 0
    subjects: int = 0
    problems: list = field(default_factory=list)
    head: str | None = None
    head_seq: dict = field(default_factory=dict)
    at_checkpoint: dict = field(default_factory=dict)
    personal: int = 0
    erased: int = 0


def verify(session, subject: str | None = None, checkpoint: dict | None = None, progress=None,
           workers: int | None = None, method: str = "auto") -> VerifyResult:
    """Recompute every chain (or one subject's). `checkpoint` is a heads mapping
    ({"claim:1": [seq, hash]}) to compare against; by default the latest stored one.

    `method`: "sql" checks the whole log inside PostgreSQL, with parallel workers
    (workflow/audit_sql.py); "python" streams the events here and hashes them in Python (the only
    way on SQLite, and for one subject); "auto" (the default) takes the first for the whole log on
    PostgreSQL and the second otherwise. Both report the same problems, in the same order, with the
    same counts. In Python, a whole large log is checked by `workers` processes (default: one per
    core, up to 2), each over its own range of subjects; `progress` is then called once per range."""
    if subject:
        parse_subject(subject)  # refuse a malformed subject before reading anything
    if method not in ("auto", "sql", "python"):
        raise ValueError(f"method must be auto, sql or python, not {method!r}")
    postgres = session.get_bind().dialect.name == "postgresql"
    if method == "sql" and (subject or not postgres):
        raise ValueError("the SQL verifier checks the whole log on PostgreSQL only")
    if method == "sql" or (method == "auto" and postgres and subject is None):
        from sqlalchemy.exc import DataError

        from . import audit_sql

        try:
            return audit_sql.verify(session, checkpoint=checkpoint, progress=progress)
        except DataError as exc:  # data SQL cannot read (a payload that is no JSON object, a salt that is
            if method == "sql":   # no hex …): only the Python code says exactly what is wrong with it
                raise
            log.warning("verify-chain: the database could not check the log (%s); checking it in Python",
                        str(exc.orig).splitlines()[0])
    if checkpoint is None and subject is None:
        latest = session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))
        checkpoint = latest.heads if latest else None
    # The chains a checkpoint names: their head seq, and the hash seen at the checkpoint's seq.
    wanted = {key: seq for key, (seq, _) in (checkpoint or {}).items()}

    ranges = [_subject_range(subject)]
    if subject is None:
        workers = workers or min(2, os.cpu_count() or 1)
        if workers > 1 and (session.scalar(select(func.max(AuditEvent.id))) or 0) >= PARALLEL_FROM_EVENTS:
            ranges = _split_claims(session)
    if len(ranges) == 1:
        scans = [_scan(session, ranges[0], wanted, progress)]
    else:
        url = session.get_bind().url.render_as_string(hide_password=False)
        with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
            scans = pool.starmap(_scan_in_child, [(url, where, wanted) for where in ranges])
        if progress is not None:
            progress(sum(s.checked for s in scans))

    result = VerifyResult()
    head_seq: dict[str, int] = {}
    at_checkpoint: dict[str, str] = {}
    for part in scans:
        result.checked += part.checked
        result.subjects += part.subjects
        result.problems += part.problems
        result.head = part.head or result.head
        result.personal += part.personal
        result.erased += part.erased
        head_seq.update(part.head_seq)
        at_checkpoint.update(part.at_checkpoint)
    result.problems.sort(key=lambda p: p.sort_key)  # chain order, whatever the ranges and batches
    _check_subjects_have_chains(session, subject, result)
    _check_certificates(session, subject, result)
    if checkpoint:
        _check_against_checkpoint(checkpoint, head_seq, at_checkpoint, subject, result)
    return result


def _subject_range(subject: str | None) -> tuple[str, tuple]:
    """A WHERE clause (with %s placeholders) selecting one subject's events, or all."""
    if not subject:
        return "", ()
    kind, ident = parse_subject(subject)
    return "WHERE subject_type = %s AND subject_id = %s", (kind, ident)


def _split_claims(session) -> list[tuple[str, tuple]]:
    """Two ranges of about equal size: every other subject's chains (tasks, registrations, …)
    with the lower claims, and the upper claims. Chains never cross a range, so each range
    verifies on its own."""
    low, high = session.execute(select(func.min(Claim.id), func.max(Claim.id))).one()
    if low is None:
        return [("", ())]
    middle = low + (high - low) * 11 // 20  # a little past half: the other chains go with the lower part
    return [("WHERE subject_type <> 'claim' OR subject_id <= %s", (middle,)),
            ("WHERE subject_type = 'claim' AND subject_id > %s", (middle,))]


def _scan_in_child(url: str, where: tuple[str, tuple], wanted: dict) -> _Scan:
    """One range, in a forked worker with its own connection (never the parent's)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return _scan(session, where, wanted, None)
    finally:
        engine.dispose()


def _scan(session, where: tuple[str, tuple], wanted: dict, progress) -> _Scan:
    part = _Scan()
    current, expected_seq, prev = None, 1, None
    with_personal: list[tuple] = []  # events whose payload may hold personal digests, checked in batches
    for row in _event_rows(session, *where):
        event_id, prev_hash, digest, subject_type, subject_id, seq = row[:6]
        key = f"{subject_type}:{subject_id}"
        if key != current:
            current, expected_seq, prev = key, 1, None
            part.subjects += 1
        what = None
        if seq != expected_seq:
            what = "missing events before this one" if seq > expected_seq else "duplicate sequence number"
            what = f"{what} (expected seq {expected_seq})"
        elif prev_hash != prev:
            what = "previous-hash link broken (deleted or reordered)"
        elif not _hash_matches(row):
            what = "contents altered: hash does not match"
        if what:
            part.problems.append(Problem(key, seq, event_id, what,
                                         sort_key=(subject_type, subject_id, seq, event_id, 0, "")))
        expected_seq, prev = seq + 1, digest
        if key in wanted:
            part.head_seq[key] = seq
            if wanted[key] == seq:
                part.at_checkpoint[key] = digest
        if _may_hold_personal(row[12]):
            with_personal.append(((subject_type, subject_id), seq, event_id, row[12]))
            if len(with_personal) >= PERSONAL_BATCH:
                _check_personal(session, with_personal, part)
                with_personal = []
        part.checked += 1
        part.head = digest
        if progress is not None:
            progress(1)
    _check_personal(session, with_personal, part)
    return part


PERSONAL_BATCH = 2000


def _may_hold_personal(payload_text: str) -> bool:
    """Could this stored payload hold a personal digest? Any JSON spelling of the key "personal"
    has the word in it, or a \\u escape (which canonical JSON writes only for control
    characters): so a payload re-spelled to hide its key from this test is still checked.
    Payloads that match for another reason (a note that says "personal") are parsed and hold none."""
    return PERSONAL in payload_text or "\\u" in payload_text


def _check_personal(session, events: list[tuple], part: _Scan) -> None:
    """Each personal field of these events against its stored value: recompute the digest
    (a match is fine), or find its erasure recorded (erased), else it was altered. One query per
    batch, straight from the driver on the verifier's own connection (as the events are)."""
    declared = {}
    for subject, seq, event_id, payload in events:
        try:
            parsed = json.loads(payload)
        except ValueError:  # the hash check has reported this event already
            continue
        if not isinstance(parsed, dict):  # (so has it this one's: the engine writes objects)
            continue
        digests = {name: d for name, value in parsed.items() if (d := digest_of(value)) is not None}
        if digests:
            declared[event_id] = (subject, seq, digests)
    if not declared:
        return
    values, erasures = {}, set()
    for event_id, name, salt, value, kind in _personal_rows(session, list(declared)):
        if kind is None:
            values[(event_id, name)] = (salt, value)
        elif kind == ERASED:
            erasures.add((event_id, name))
    def problem(subject, seq, event_id, rank, name, what):
        part.problems.append(Problem(f"{subject[0]}:{subject[1]}", seq, event_id, what,
                                     sort_key=(*subject, seq, event_id, rank, name)))

    for event_id, (subject, seq, digests) in declared.items():
        for name, digest in sorted(digests.items()):
            stored = values.pop((event_id, name), None)
            if stored is None:
                if (event_id, name) in erasures:
                    part.erased += 1
                else:
                    problem(subject, seq, event_id, 1, name, f"personal field '{name}' altered: its value "
                                                             "is missing and no erasure is recorded")
            elif (event_id, name) in erasures:
                problem(subject, seq, event_id, 1, name, f"personal field '{name}': its erasure is "
                                                         "recorded but the value is still stored")
            elif personal_digest(*stored) != digest:
                problem(subject, seq, event_id, 1, name, f"personal field '{name}' altered: the stored "
                                                         "value does not match the event's digest")
            else:
                part.personal += 1
    for event_id, name in sorted(values):  # a value no field of its event asks for
        subject, seq, _ = declared[event_id]
        problem(subject, seq, event_id, 2, name, f"a personal value is stored for '{name}', "
                                                 "which the event does not hold")


_PERSONAL_ROWS = ("SELECT event_id, field, salt, value, NULL FROM audit_personal_values WHERE event_id {ids} "
                  "UNION ALL SELECT event_id, field, NULL, NULL, kind FROM audit_erasures WHERE event_id {ids}")


def _personal_rows(session, event_ids: list[int]):
    """(event id, field, salt, value, None) for each stored value and (event id, field, None, None,
    kind) for each erasure record of these events. The ids go as one parameter (an array on
    PostgreSQL, JSON text on SQLite), not as a list of hundreds: that kept the driver busy
    rewriting the query more than the database answering it."""
    raw = session.connection().connection.driver_connection
    cursor = raw.cursor()
    try:
        if session.get_bind().dialect.name == "postgresql":
            cursor.execute(_PERSONAL_ROWS.format(ids="= ANY(%s)"), (event_ids, event_ids))
        else:
            ids = json.dumps(event_ids)
            cursor.execute(_PERSONAL_ROWS.format(ids="IN (SELECT value FROM json_each(?))"), (ids, ids))
        return cursor.fetchall()
    finally:
        cursor.close()


_EVENT_COLUMNS = ("id, prev_hash, hash, subject_type, subject_id, seq, trigger, from_state, to_state, actor_id, "
                  "actor_role, created_at, {payload}, request_id, definition")


# created_at as clock.iso() wrote it into the hashed body: 2026-11-25T08:30:00.000000Z
_PG_ISO_TIME = """to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# Is there a valid unique index over exactly (subject_type, subject_id, seq), so that no two events
# share a seq? (PostgreSQL; SQLite's table holds the constraint for good.)
UNIQUE_SEQ_SQL = """
SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = 'audit_events'::regclass AND i.indisunique AND i.indisvalid AND i.indisready
    AND i.indpred IS NULL AND i.indexprs IS NULL
    AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
           FROM unnest(i.indkey::int2[]) AS k(attnum)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
        = ARRAY['seq', 'subject_id', 'subject_type'])
"""


def seq_is_unique(raw_connection) -> bool:
    cursor = raw_connection.cursor()
    try:
        cursor.execute(UNIQUE_SEQ_SQL)
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


def _event_rows(session, where: str = "", params: tuple = ()):
    """Every event as a plain tuple straight from the driver, in chain order.

    Verification reads every row of the largest table, so it skips the ORM and streams
    from a server-side cursor on PostgreSQL. The payload comes as its stored JSON text
    and the time as ISO text (formatted by PostgreSQL: 15 % faster than building datetime
    objects and formatting them here), ready to be spliced into the hashed body.
    """
    conn = session.connection()
    raw = conn.connection.driver_connection
    postgres = conn.dialect.name == "postgresql"
    columns = _EVENT_COLUMNS.format(payload="payload::text" if postgres else "payload")
    if postgres:  # the time as the hashed ISO text, formatted by the server (no datetime objects)
        columns = columns.replace("created_at", _PG_ISO_TIME)
    # Two events under one seq are possible only once the unique index is gone: then id orders them
    # (as the SQL verifier does); with it, the index's own order is total and needs no sort on top.
    order = "subject_type, subject_id, seq" + ("" if not postgres or seq_is_unique(raw) else ", id")
    sql = f"SELECT {columns} FROM audit_events {where} ORDER BY {order}"
    if postgres:
        cursor = raw.cursor(name=f"verify_chain_{os.getpid()}")
        cursor.itersize = 20_000
    else:
        cursor = raw.cursor()
        sql = sql.replace("%s", "?")
    cursor.execute(sql, params)
    try:
        for row in cursor:
            if postgres:
                yield row
            else:  # SQLite hands back the stored text "YYYY-MM-DD HH:MM:SS.ffffff"
                yield row[:11] + (row[11].replace(" ", "T") + "Z",) + row[12:]
    finally:
        cursor.close()


_encode_str = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring


def _text(value) -> str:
    return "null" if value is None else _encode_str(value)


def _number(value) -> str:
    return "null" if value is None else str(value)


def _hash_matches(row) -> bool:
    """Does the event's stored hash match its fields? The body is assembled as text in
    the canonical key order (the same bytes canonical_json writes), splicing in the
    stored payload text. A payload stored in another JSON spelling (whitespace, key
    order) takes the slow path: parse, re-serialise canonically, compare."""
    (_, prev_hash, digest, subject_type, subject_id, seq, trigger, from_state, to_state, actor_id, actor_role,
     created, payload, request_id, definition) = row
    body = ('{"actor_id":' + _number(actor_id) + ',"actor_role":' + _text(actor_role)
            + ',"created_at":' + _text(created) + ',"definition":' + _text(definition)
            + ',"from_state":' + _text(from_state) + ',"payload":' + payload
            + ',"request_id":' + _text(request_id) + ',"seq":' + str(seq) + ',"subject_id":' + str(subject_id)
            + ',"subject_type":' + _text(subject_type) + ',"to_state":' + _text(to_state)
            + ',"trigger":' + _text(trigger) + "}")
    if hashlib.sha256(((prev_hash or "") + body).encode("utf-8")).hexdigest() == digest:
        return True
    try:
        parsed = json.loads(payload)
    except ValueError:
        return False
    fields = dict(zip(HASHED_FIELDS, (subject_type, subject_id, seq, trigger, from_state, to_state, actor_id,
                                      actor_role, created, parsed, request_id, definition)))
    return compute_hash(fields, prev_hash) == digest


def _check_subjects_have_chains(session, subject, result) -> None:
    """A subject row (task, claim, registration) without any event means its whole chain was deleted."""
    for kind, model in CHAINED.items():
        if subject and parse_subject(subject)[0] != kind:
            continue
        has_events = select(AuditEvent.id).where(AuditEvent.subject_type == kind, AuditEvent.subject_id == model.id)
        query = select(model.id).where(~has_events.exists()).order_by(model.id)
        if subject:
            query = query.where(model.id == parse_subject(subject)[1])
        for ident in session.scalars(query):
            result.problems.append(Problem(f"{kind}:{ident}", None, None, "has no events: its chain was deleted"))


def _check_certificates(session, subject, result) -> None:
    """Every certificate was issued by an event on its member's chain that recorded the sha256 of
    the statement as it is stored now: a certificate row added or changed outside the service shows."""
    if subject and parse_subject(subject)[0] != "member":
        return
    query = select(Certificate.id, Certificate.member_id, Certificate.code, Certificate.statement)
    events = select(AuditEvent.subject_id, AuditEvent.payload).where(
        AuditEvent.subject_type == "member", AuditEvent.trigger == "issue_certificate")
    if subject:
        member_id = parse_subject(subject)[1]
        query, events = query.where(Certificate.member_id == member_id), events.where(AuditEvent.subject_id == member_id)
    recorded = {(member_id, (payload or {}).get("certificate")): (payload or {}).get("statement_sha256")
                for member_id, payload in session.execute(events)}
    for ident, member_id, code, statement in session.execute(query.order_by(Certificate.id)):
        digest = hashlib.sha256(canonical_json(statement).encode("utf-8")).hexdigest()
        if (member_id, code) not in recorded:
            result.problems.append(Problem(f"certificate:{ident}", None, None,
                                           f"no issuing event on member:{member_id}'s chain"))
        elif recorded[(member_id, code)] != digest:
            result.problems.append(Problem(f"certificate:{ident}", None, None,
                                           "statement differs from the one its issuing event recorded"))


def _check_against_checkpoint(checkpoint, head_seq, at_checkpoint, subject, result) -> None:
    for key, (seq, digest) in checkpoint.items():
        if subject and key != subject:
            continue
        if key not in head_seq:
            result.problems.append(Problem(key, seq, None, "chain recorded in the checkpoint is gone"))
        elif head_seq[key] < seq:
            result.problems.append(
                Problem(key, seq, None, f"chain is shorter than the checkpoint (head seq {head_seq[key]})")
            )
        elif at_checkpoint.get(key) != digest:
            result.problems.append(Problem(key, seq, None, "event recorded in the checkpoint was rewritten"))


def chain_heads(session) -> dict[str, list]:
    """Every subject's last (seq, hash)."""
    last = (
        select(AuditEvent.subject_type, AuditEvent.subject_id, func.max(AuditEvent.seq).label("seq"))
        .group_by(AuditEvent.subject_type, AuditEvent.subject_id)
        .subquery()
    )
    rows = session.execute(
        select(AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.seq, AuditEvent.hash).join(
            last,
            (AuditEvent.subject_type == last.c.subject_type)
            & (AuditEvent.subject_id == last.c.subject_id)
            & (AuditEvent.seq == last.c.seq),
        )
    )
    return {f"{r.subject_type}:{r.subject_id}": [r.seq, r.hash] for r in rows}


def checkpoint_digest(heads: dict) -> str:
    return hashlib.sha256(canonical_json(heads).encode("utf-8")).hexdigest()


def make_checkpoint(session) -> Checkpoint:
    """Record all chain heads. The caller commits; export `heads` + `digest` off-database."""
    heads = chain_heads(session)
    point = Checkpoint(
        created_at=utcnow(),
        subjects=len(heads),
        events=sum(seq for seq, _ in heads.values()),
        heads=heads,
        digest=checkpoint_digest(heads),
    )
    session.add(point)
    return point
