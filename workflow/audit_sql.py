"""verify-chain inside PostgreSQL: the whole log checked by the database, with parallel workers.

The Python verifier (workflow/audit.py) streams every event to the client and hashes it there;
on a two-core machine that tops out near 110k events/s (docs/performance.md). Here PostgreSQL
does the same work where the rows are, and reports only what is wrong:

1. **Chains.** One sweep, in parallel workers: every event's hash is recomputed from its stored
   fields — `sha256(prev_hash ‖ body)`, the body built by `row_to_json` over the hashed fields in
   canonical key order, which writes exactly the bytes `audit.canonical_json` writes (compact
   separators; strings escaped as Python's `json` escapes them with ensure_ascii=False; the
   stored payload, a `json` column holding canonical JSON text, spliced in as it is; the time as
   `clock.iso` spells it) — and each event is joined to its predecessor (same subject, seq - 1)
   to check its `prev_hash`; five counts come back (one is for the personal fields, below). With
   the unique index on (subject, seq), a chain all of whose events pass is one the Python scan
   passes. The chains with an event that
   did not pass are then walked in SQL as the Python scan walks them (`lag` over each chain in
   (seq, id) order): each event's first problem, in the same order of precedence — a gap or a
   duplicate in seq, a broken link, a hash that does not match. An event whose hash does not
   match is re-checked by the Python code (`audit._hash_matches`), which also accepts a payload
   stored in another JSON spelling; such events are rare (the engine writes none) and are the
   only rows that leave the database. Without the unique index every chain is walked.
2. **Personal fields.** When the sweep found every chain sound, first by counting (one parallel
   statement over the stored values, each checked against its event's field): when the counts
   close — every digest matched or erased, every value belonging to one — nothing can be wrong
   (the argument is at `_VALUES_MATCHED`). Otherwise, exactly (one statement, parallel): for each
   event whose payload may hold a personal digest, its digests (`{"personal": "<hex>"}` and nothing else), joined to the stored
   value and to an erasure record: `sha256(salt ‖ value)` recomputed in SQL. Counted as the Python
   code counts them; problems come back as rows. A stored value that no digest asks for is found
   by comparing counts, and only then looked for row by row.
3. **Chains without rows, certificates**: the Python path's own queries (`audit._check_*`).
4. **The checkpoint**: each recorded head against the chain's last seq and the hash at the
   recorded seq, in the checkpoint's own order; the stored checkpoint is read by the database
   itself (never parsed in Python), an exported one passed as one JSON parameter.

Everything runs in one REPEATABLE READ, READ ONLY transaction on a connection of its own, so
the statements see one snapshot, as the Python path's single scan does. Problems are reported
with the same words and in the same order as the Python path (`audit.verify(..., method="python")`,
`flask verify-chain --python`), and the counts are the same: tests/test_verify_sql.py holds the
two to that, tampering included.
"""
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.orm import Session

from . import audit

# The hashed body, key by key in canonical (sorted) order: row_to_json writes {"k":v,...} with
# no spaces, text escaped as Python's json does with ensure_ascii=False, a json column verbatim.
# `HASHED_BODY` is joined to `audit_events e` (a LATERAL subquery the planner flattens into the
# scan, so the workers compute it: a scalar sub-select would be evaluated by the leader alone).
HASHED_BODY = """LATERAL (SELECT e.actor_id, e.actor_role,
        to_char(e.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, e.definition, e.from_state,
        e.payload, e.request_id, e.seq, e.subject_id, e.subject_type, e.to_state, e.trigger) AS body"""

# Each event's hashed body as PostgreSQL spells it (for tests: it must equal audit.canonical_json's).
BODIES = f"SELECT e.id, row_to_json(body)::text FROM audit_events e CROSS JOIN {HASHED_BODY}"

HASH_MATCHES = """coalesce(encode(sha256(convert_to(coalesce(e.prev_hash, '') || row_to_json(body)::text, 'UTF8')), 'hex')
                  = e.hash, false)"""

# 1. Chains. The sweep: every event hashed and joined to its predecessor (same subject, seq - 1),
# counted, in parallel workers; nothing but five numbers leaves the database. With the unique index on
# (subject, seq) in place — no duplicate can exist — an event whose hash matches and whose prev_hash is
# its predecessor's (or NULL at seq 1) is exactly one the Python scan passes, and a subject all of whose
# events pass is a chain it passes: seq runs 1, 2, … with no gap.
_LINKED = "coalesce(CASE WHEN e.seq = 1 THEN e.prev_hash IS NULL ELSE p.hash = e.prev_hash END, false)"
_PREDECESSOR = """LEFT JOIN audit_events p
       ON p.subject_type = e.subject_type AND p.subject_id = e.subject_id AND p.seq = e.seq - 1"""
# An upper bound on the personal digests the payloads can hold, counted in the same sweep (see
# "Personal fields, the quick count" below): each digest's key is the JSON string "personal", and
# however it is spelled, its text holds `"personal"` (every letter plain) or a `\u` escape (one
# letter or more escaped) — JSON has no other way to write a letter. The sweep counts the first
# (one `replace` per payload: where there is none it hands the text back as it is) and the
# payloads with any `\u` escape: with none, the count is the bound; with some, the exact statements
# look (canonical JSON escapes only control characters, which the input rules keep out of text).
_KEY_SPELLINGS = r"""coalesce(sum((octet_length(e.payload::text)
                                   - octet_length(replace(e.payload::text, '"personal"', ''))) / 10), 0)"""
_SWEEP = f"""
SELECT count(*) AS checked, count(*) FILTER (WHERE e.seq = 1) AS firsts,
       count(*) FILTER (WHERE NOT ({HASH_MATCHES} AND {_LINKED})) AS bad,
       count(*) FILTER (WHERE strpos(e.payload::text, '\\u') > 0) AS escaped,
       {_KEY_SPELLINGS} AS key_spellings
FROM audit_events e CROSS JOIN {HASHED_BODY}
{_PREDECESSOR}
"""
# When the sweep found something: the subjects with an event that did not pass …
_SUSPECTS = f"""
SELECT DISTINCT e.subject_type, e.subject_id
FROM audit_events e CROSS JOIN {HASHED_BODY}
{_PREDECESSOR}
WHERE NOT ({HASH_MATCHES} AND {_LINKED})
"""
# … are walked as the Python scan walks them: each event against the one before it in (seq, id)
# order (`lag` over the subject's chain), the first problem that applies — a gap or a duplicate in
# seq, a broken link, a hash that does not match. Without the unique index (a duplicate seq may
# exist), every subject is walked this way.
_WALK = f"""
WITH hashed AS (
  SELECT e.id, e.subject_type, e.subject_id, e.seq, e.prev_hash, e.hash, {HASH_MATCHES} AS ok,
         strpos(e.payload::text, '\\u0000') > 0 AS nul
  FROM audit_events e CROSS JOIN {HASHED_BODY}
  {{where}}
  ORDER BY e.subject_type, e.subject_id, e.seq, e.id
  OFFSET 0
), linked AS (
  SELECT id, subject_type, subject_id, seq, prev_hash, hash, ok, nul,
         coalesce(lag(seq) OVER chain + 1, 1) AS expected,
         lag(hash) OVER chain AS last_hash,
         lag(seq) OVER chain IS NULL AS first
  FROM hashed
  WINDOW chain AS (PARTITION BY subject_type, subject_id ORDER BY seq, id)
), judged AS (
  SELECT *, CASE WHEN seq > expected THEN 'gap'
                 WHEN seq < expected THEN 'duplicate'
                 WHEN prev_hash IS DISTINCT FROM last_hash THEN 'link'
                 WHEN NOT ok THEN 'hash' END AS problem
  FROM linked
)
SELECT count(*) AS checked, count(*) FILTER (WHERE first) AS subjects, count(*) FILTER (WHERE seq = 1) AS firsts,
       coalesce(array_agg(id) FILTER (WHERE problem IS NOT NULL), '{{{{}}}}') AS ids,
       coalesce(array_agg(problem) FILTER (WHERE problem IS NOT NULL), '{{{{}}}}') AS problems,
       coalesce(array_agg(expected) FILTER (WHERE problem IS NOT NULL), '{{{{}}}}') AS expected,
       coalesce(array_agg(id) FILTER (WHERE nul), '{{{{}}}}') AS nul
FROM judged
"""
_IN_SUBJECTS = ("WHERE (e.subject_type, e.subject_id) IN "
                "(SELECT * FROM unnest(CAST(:types AS text[]), CAST(:ids AS integer[])))")
_NUL_IDS = r"SELECT id FROM audit_events WHERE strpos(payload::text, '\u0000') > 0"

_UNIQUE_SEQ = audit.UNIQUE_SEQ_SQL  # no two events can share a seq

# The last event in chain order: what the Python scan leaves in VerifyResult.head.
_LAST_HASH = ("SELECT hash FROM audit_events ORDER BY subject_type DESC, subject_id DESC, seq DESC, id DESC "
              "LIMIT 1")

# 2. Personal fields. A payload may hold a digest only if its text says "personal" or has a \u
# escape (audit._may_hold_personal); a digest is an object whose one key is "personal", a string.
_MAY_HOLD = r"(strpos(e.payload::text, 'personal') > 0 OR strpos(e.payload::text, '\u') > 0)"
# jsonb refuses the escape \u0000 (text cannot hold NUL): such payloads (none the engine writes unless an
# input held a NUL) are checked by the Python code instead, and left out of the SQL below.
_NUL = r"strpos(e.payload::text, '\u0000') > 0"  # (the chains' statement lists them)
_IS_DIGEST = """CASE WHEN jsonb_typeof(kv.value) = 'object'
                     THEN jsonb_typeof(kv.value -> 'personal') = 'string' AND kv.value - 'personal' = '{}'::jsonb
                     ELSE false END"""
_FIELDS = "jsonb_each(e.payload::jsonb) AS kv"
# Each digest, judged against its stored value and erasure record (audit._check_personal's rules).
_JUDGED = f"""
WITH judged AS (
  SELECT e.id AS event_id, kv.key AS field, v.event_id IS NOT NULL AS stored,
         CASE WHEN v.event_id IS NULL AND x.event_id IS NULL THEN 'missing'
              WHEN v.event_id IS NOT NULL AND x.event_id IS NOT NULL THEN 'still_stored'
              WHEN v.event_id IS NOT NULL
               AND encode(sha256(decode(v.salt, 'hex') || convert_to(v.value, 'UTF8')), 'hex')
                   IS DISTINCT FROM kv.value ->> 'personal' THEN 'mismatch' END AS problem
  FROM audit_events e
  CROSS JOIN LATERAL {_FIELDS}
  LEFT JOIN audit_personal_values v ON v.event_id = e.id AND v.field = kv.key
  LEFT JOIN audit_erasures x ON x.event_id = e.id AND x.field = kv.key AND x.kind = :erased
  WHERE {_MAY_HOLD} AND NOT {_NUL} AND {_IS_DIGEST}
)"""
# The counts (aggregated by each worker for its share), by verdict: grouped, so that each digest is
# recomputed once (an inlined CTE's expression is evaluated wherever it is named) …
_PERSONAL = _JUDGED + """
SELECT problem, stored, count(*) AS n FROM judged GROUP BY problem, stored
"""
# … and, only when there are any, the problems.
_PERSONAL_PROBLEMS = _JUDGED + "SELECT event_id, field, problem FROM judged WHERE problem IS NOT NULL"
# Stored values no digest of their event asks for (audit._check_personal: only events that hold a
# digest are looked at): only searched for when the counts say that some value belongs to no digest.
_STRAY = f"""
WITH declared AS MATERIALIZED (
  SELECT e.id AS event_id, kv.key AS field
  FROM audit_events e CROSS JOIN LATERAL {_FIELDS}
  WHERE e.id IN (SELECT event_id FROM audit_personal_values) AND {_MAY_HOLD} AND NOT {_NUL} AND {_IS_DIGEST}
)
SELECT v.event_id, v.field
FROM audit_personal_values v
WHERE v.event_id IN (SELECT event_id FROM declared)
  AND NOT EXISTS (SELECT 1 FROM declared d WHERE d.event_id = v.event_id AND d.field = v.field)
"""

# Personal fields, the quick count. When the sweep found every chain sound (so every payload is
# the one its hash was made over) and no payload holds a \u0000, the digests need not be taken
# out of every payload: each stored value is checked against its event's field instead, which
# is half the work, and the result is the same whenever the counts close:
#   matched   values whose event's field is exactly {"personal":"<the value's digest>"}, with no
#             erasure recorded for them;
#   erased    erasure records whose field is a digest, with no value stored;
# matched + erased ≤ the digests the payloads hold ≤ the sweep's key spellings. When matched +
# erased equals the key spellings and every stored value is matched, every digest is matched or
# erased and no value is left over: the exact statements above would find no problem and count
# the same. Otherwise (a payload that says "personal" in a note, a \u escape, anything wrong)
# they run.
_VALUES_MATCHED = """
SELECT count(*) AS stored,
       count(*) FILTER (WHERE (e.payload -> v.field)::text = '{"personal":"'
                              || encode(sha256(decode(v.salt, 'hex') || convert_to(v.value, 'UTF8')), 'hex') || '"}'
                          AND x.event_id IS NULL) AS matched
FROM audit_personal_values v
JOIN audit_events e ON e.id = v.event_id
LEFT JOIN audit_erasures x ON x.event_id = v.event_id AND x.field = v.field AND x.kind = :erased
"""
_ERASED_DIGESTS = f"""
SELECT count(*)
FROM audit_erasures x
JOIN audit_events e ON e.id = x.event_id
CROSS JOIN LATERAL (SELECT (e.payload -> x.field)::jsonb AS value) AS kv
WHERE x.kind = :erased
  AND NOT EXISTS (SELECT 1 FROM audit_personal_values v WHERE v.event_id = x.event_id AND v.field = x.field)
  AND kv.value IS NOT NULL AND {_IS_DIGEST}
"""

# 4. The checkpoint: each recorded head (in the checkpoint's order) against what the chain has now.
# With the unique index, a head whose event is still there with the recorded hash is fine (so the
# chain is at least that long, and the hash at that seq is the one recorded); the rest are looked at
# one by one: the chain's last seq, and the hash at the recorded seq (the last such event by id, as
# the Python scan would have kept it).
_CHECKPOINT = """
WITH entries AS (
  SELECT h.n, h.key, (h.value ->> 0)::bigint AS seq, h.value ->> 1 AS hash,
         split_part(h.key, ':', 1) AS subject_type, split_part(h.key, ':', 2) AS id_text
  FROM {source} AS h(key, value, n)
), heads AS (
  -- "claim:12" → ('claim', 12); a key that is not spelled type:id as a subject's would be (audit.verify
  -- builds them as f"{subject_type}:{subject_id}") names no chain: NULL, looked for by its spelling below
  SELECT n, key, seq, hash, subject_type,
         CASE WHEN length(id_text) BETWEEN 1 AND 9 AND translate(id_text, '0123456789', '') = ''
              AND subject_type || ':' || (id_text::integer)::text = key THEN id_text::integer END AS subject_id
  FROM entries
), unmatched AS MATERIALIZED (
  SELECT * FROM heads
  WHERE {all_or_unmatched}
), found AS (
  SELECT u.*,
         CASE WHEN u.subject_id IS NOT NULL
              THEN (SELECT max(a.seq) FROM audit_events a
                     WHERE a.subject_type = u.subject_type AND a.subject_id = u.subject_id)
              ELSE (SELECT max(a.seq) FROM audit_events a WHERE a.subject_type || ':' || a.subject_id = u.key)
         END AS head_seq,
         (SELECT a.hash FROM audit_events a
           WHERE CASE WHEN u.subject_id IS NOT NULL THEN a.subject_type = u.subject_type AND a.subject_id = u.subject_id
                      ELSE a.subject_type || ':' || a.subject_id = u.key END
             AND a.seq = u.seq
           ORDER BY a.id DESC LIMIT 1) AS at_seq
  FROM unmatched u
)
SELECT n, key, seq, head_seq, CASE WHEN head_seq IS NULL THEN 'gone'
                                   WHEN head_seq < seq THEN 'shorter'
                                   ELSE 'rewritten' END AS problem
FROM found
WHERE head_seq IS NULL OR head_seq < seq OR at_seq IS DISTINCT FROM hash
ORDER BY n
"""
_UNMATCHED = """NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.subject_type = heads.subject_type
                                    AND a.subject_id = heads.subject_id AND a.seq = heads.seq AND a.hash = heads.hash)"""


def verify(session, checkpoint: dict | None = None, progress=None) -> audit.VerifyResult:
    """Every chain, checked by PostgreSQL (see the module's doc). `checkpoint` is a heads mapping
    to compare against (an exported checkpoint); by default the latest stored one.

    Two connections share one snapshot (`pg_export_snapshot`, as pg_dump's parallel workers do):
    the chains and personal fields are checked on one, while the other looks for subjects without
    a chain, the certificates and the checkpoint — statements the planner runs in one process, so
    they would otherwise leave a core idle after the parallel sweep."""
    engine = session.get_bind()
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as conn, \
            engine.connect().execution_options(**options) as side:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):  # (SET takes no parameters: the id is spelled in)
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        side.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        _parallel_settings(conn)
        _parallel_settings(side)
        unique = bool(conn.exec_driver_sql(_UNIQUE_SEQ).scalar())  # no duplicate (subject, seq) can exist
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-side") as pool:
            beside = pool.submit(_beside_the_chains, side, checkpoint, unique)
            with Session(bind=conn) as own:
                result = _verify(own, conn, unique)
            result.problems += beside.result()
        conn.rollback()  # (read only: nothing to keep; the settings end with the transaction)
        side.rollback()
    if progress is not None:
        progress(result.checked)
    return result


def _parallel_settings(conn) -> None:
    """Let the planner hash in parallel workers, whatever the server's defaults (this transaction only)."""
    workers = max(2, min(os.cpu_count() or 2, 8))
    current = int(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar())
    for name, value in (("max_parallel_workers_per_gather", str(max(current, workers))),
                        ("parallel_setup_cost", "100"), ("parallel_tuple_cost", "0.01"),
                        ("min_parallel_table_scan_size", "0"), ("work_mem", "'256MB'"), ("jit", "off"),
                        # a district's whole log takes longer than a request may (BAODAO_DB_STATEMENT_TIMEOUT_MS)
                        ("statement_timeout", "0")):
        conn.exec_driver_sql(f"SET LOCAL {name} = {value}")


def _verify(session, conn, unique: bool) -> audit.VerifyResult:
    """The chains and the personal fields: their counts, and their problems in chain order."""
    result = audit.VerifyResult()
    problems: list[audit.Problem] = []
    nul_ids, key_spellings = _chains(session, conn, result, problems, unique)
    if key_spellings is None or not _personal_counts_close(conn, result, key_spellings):
        _personal(session, conn, result, problems, nul_ids)
    problems.sort(key=lambda p: p.sort_key)
    result.problems = problems
    return result


def _beside_the_chains(conn, checkpoint, unique: bool) -> list[audit.Problem]:
    """What the Python path reports after the chains, in its order: subject rows without a chain,
    certificates, then the checkpoint (on the second connection, in its own thread)."""
    found = audit.VerifyResult()
    with Session(bind=conn) as own:
        audit._check_subjects_have_chains(own, None, found)
        audit._check_certificates(own, None, found)
    _check_checkpoint(conn, checkpoint, found, unique)
    return found.problems


def _chains(session, conn, result, problems, unique: bool) -> tuple[list[int], int | None]:
    """Counts and chain problems. Returns the ids of the events whose payload holds a \\u0000
    escape, and, when the sweep found every event sound and none such, its count of the spellings
    of the key "personal" (None otherwise)."""
    result.head = conn.exec_driver_sql(_LAST_HASH).scalar()
    if not unique:  # a duplicate seq may exist: walk every chain
        walked = conn.execute(text(_WALK.format(where=""))).one()
        result.checked, result.subjects = walked.checked, walked.subjects
        _name_problems(session, walked, problems)
        return list(walked.nul), None
    sweep = conn.execute(text(_SWEEP)).one()
    result.checked, result.subjects = sweep.checked, sweep.firsts  # a clean chain has one seq 1
    if sweep.bad:
        suspects = conn.execute(text(_SUSPECTS)).all()
        walked = conn.execute(text(_WALK.format(where=_IN_SUBJECTS)),
                              {"types": [t for t, _ in suspects], "ids": [i for _, i in suspects]}).one()
        result.subjects += walked.subjects - walked.firsts
        _name_problems(session, walked, problems)
    if sweep.escaped:  # some payload has a \u escape: which of them hold a \u0000, and no quick count
        return list(conn.exec_driver_sql(_NUL_IDS).scalars()), None
    return [], (None if sweep.bad else sweep.key_spellings)


def _personal_counts_close(conn, result, key_spellings: int) -> bool:
    """The personal fields by the quick count (see _VALUES_MATCHED): True when it proves that
    every digest is matched or erased and every stored value belongs to one (the counts are then
    recorded), False when the exact statements must look."""
    from .models.personal import ERASED

    values = conn.execute(text(_VALUES_MATCHED), {"erased": ERASED}).one()
    if values.matched != values.stored:
        return False
    erased = conn.execute(text(_ERASED_DIGESTS), {"erased": ERASED}).scalar()
    if values.matched + erased != key_spellings:
        return False
    result.personal, result.erased = result.personal + values.matched, result.erased + erased
    return True


def _name_problems(session, walked, problems) -> None:
    if not walked.ids:
        return
    events = {r[0]: r for r in _rows_by_id(session, list(walked.ids))}
    for event_id, problem, expected in zip(walked.ids, walked.problems, walked.expected):
        event = events[event_id]
        subject_type, subject_id, seq = event[3], event[4], event[5]
        if problem == "hash" and audit._hash_matches(event):
            continue  # a payload in another JSON spelling whose meaning is the same (the slow path)
        what = {"gap": f"missing events before this one (expected seq {expected})",
                "duplicate": f"duplicate sequence number (expected seq {expected})",
                "link": "previous-hash link broken (deleted or reordered)",
                "hash": "contents altered: hash does not match"}[problem]
        problems.append(audit.Problem(f"{subject_type}:{subject_id}", seq, event_id, what,
                                      sort_key=(subject_type, subject_id, seq, event_id, 0, "")))


def _rows_by_id(session, ids: list[int]):
    """The events with these ids, as audit._event_rows gives them (for audit._hash_matches)."""
    for start in range(0, len(ids), 10_000):
        yield from audit._event_rows(session, "WHERE id = ANY(%s)", (ids[start:start + 10_000],))


def _personal(session, conn, result, problems, nul_ids: list[int]) -> None:
    from .models.personal import ERASED

    # Payloads jsonb cannot read (a \u0000 escape): checked by the Python code, as the Python path does.
    nul = [((r[3], r[4]), r[5], r[0], r[12]) for r in _rows_by_id(session, nul_ids)
           if audit._may_hold_personal(r[12])]
    if nul:
        part = audit._Scan()
        audit._check_personal(session, nul, part)
        result.personal, result.erased = result.personal + part.personal, result.erased + part.erased
        problems += part.problems
    with_value = wrong = 0
    for verdict, stored, n in conn.execute(text(_PERSONAL), {"erased": ERASED}):
        if verdict is None:  # matched (stored), or erased with its erasure recorded
            result.personal, result.erased = (result.personal + n, result.erased) if stored else \
                (result.personal, result.erased + n)
        else:
            wrong += n
        with_value += n if stored else 0
    found = [tuple(r) for r in conn.execute(text(_PERSONAL_PROBLEMS), {"erased": ERASED})] if wrong else []
    what = {"missing": "personal field '{}' altered: its value is missing and no erasure is recorded",
            "still_stored": "personal field '{}': its erasure is recorded but the value is still stored",
            "mismatch": "personal field '{}' altered: the stored value does not match the event's digest",
            "stray": "a personal value is stored for '{}', which the event does not hold"}
    # Every stored value belongs to a digest, unless the counts differ: then find the ones that do not.
    stored = conn.execute(text("SELECT count(*) FROM audit_personal_values WHERE event_id <> ALL(:nul)"),
                          {"nul": nul_ids}).scalar()
    if stored != with_value:
        found += [(event_id, name, "stray") for event_id, name in conn.execute(text(_STRAY))]
    if not found:
        return
    subjects = dict(((r[0], (r[1], r[2], r[3])) for r in conn.exec_driver_sql(
        "SELECT id, subject_type, subject_id, seq FROM audit_events WHERE id = ANY(%(ids)s)",
        {"ids": sorted({event_id for event_id, _, _ in found})})))
    rank = {"missing": 1, "still_stored": 1, "mismatch": 1, "stray": 2}
    for event_id, name, problem in found:
        subject_type, subject_id, seq = subjects[event_id]
        problems.append(audit.Problem(f"{subject_type}:{subject_id}", seq, event_id, what[problem].format(name),
                                      sort_key=(subject_type, subject_id, seq, event_id, rank[problem], name)))


def _check_checkpoint(conn, checkpoint, result, unique: bool) -> None:
    if checkpoint is None:
        latest = conn.exec_driver_sql("SELECT id FROM checkpoints ORDER BY id DESC LIMIT 1").scalar()
        if latest is None:
            return
        source = ("(SELECT c.key, c.value, c.n FROM checkpoints, json_each(checkpoints.heads) "
                  "WITH ORDINALITY AS c(key, value, n) WHERE checkpoints.id = %(checkpoint)s)")
        params = {"checkpoint": latest}
    elif not checkpoint:
        return
    else:
        source = "json_each(CAST(%(heads)s AS json)) WITH ORDINALITY"
        params = {"heads": json.dumps(checkpoint)}
    query = _CHECKPOINT.replace("{source}", source).replace("{all_or_unmatched}", _UNMATCHED if unique else "true")
    # (a driver statement: the subject pattern's colons are no bind parameters)
    for row in conn.exec_driver_sql(query, params):
        if row.problem == "gone":
            what = "chain recorded in the checkpoint is gone"
        elif row.problem == "shorter":
            what = f"chain is shorter than the checkpoint (head seq {row.head_seq})"
        else:
            what = "event recorded in the checkpoint was rewritten"
        result.problems.append(audit.Problem(row.key, row.seq, None, what))

