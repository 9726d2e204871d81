"""verify-chain inside PostgreSQL (workflow/audit_sql.py) against the Python verifier (issue 17).

PostgreSQL rebuilds each event's hashed body with row_to_json: it must be, byte for byte, the
text audit.canonical_json writes, for every JSON escape and value Python may have written. Then
a district's worth of every event kind (the demo, a certificate, the security log, erased personal
fields) verifies the same way by both paths, and each kind of tampering is reported by both with
the same words, in the same order, with the same counts and exit code.

PostgreSQL only: SQLite has the Python path alone.
"""
import json
import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from workflow import audit, audit_sql
from workflow.clock import iso, utcnow
from workflow.extensions import db
from workflow.models import AuditEvent, Registration, UnitFeedback, User
from workflow.services.tx import write_transaction

# Every escape canonical JSON makes (quote, backslash, \b \f \n \r \t, the other C0 controls as
# \u00XX) and what it leaves alone ("/", DEL, non-ASCII, U+2028/2029, astral), NUL included where
# PostgreSQL can hold it (a json value's escape; its text columns cannot hold NUL).
CONTROLS = "".join(chr(c) for c in range(0, 32))
TRICKY = 'He said "hi" \\ back/slash\b\f\n\r\t' + CONTROLS + '\x7f é 中 \u2028\u2029 😀𝄞 </script>'
SHORT = 'r"\\\n\t\x01中😀/\u2028'  # fits the 16 characters of actor_role
PAYLOADS = [
    {},
    {"s": TRICKY},
    {"empty": "", "slash": "/", "lines": "\u2028\u2029", "astral": "😀𝄞", "zh": "中文", "del": "\x7f"},
    {"ints": [0, -1, 2 ** 53 + 1, 10 ** 30, -10 ** 30, 2 ** 63],
     "floats": [1.5, 0.1, -0.0, 1e16, 1e-7, 1.7976931348623157e308, 5e-324, 123456789.123456789, -2.5e-05, 1e22]},
    {"t": True, "f": False, "n": None, "list": [True, False, None]},
    {"b": {"z": 1, "a": [None, True, False, {"y": [], "x": {}}]}, "a": -0.0, "B": 1, "é": 2, "中": 3, "😀": 4,
     "_": 5, "a b": 6, "": 7, "~": 8, "\u2028": 9},
    {"l": [], "o": {}, "e": "", "nested": [[], [{}], "", [[]]]},
    {'k"ey': 1, "back\\slash": 2, "new\nline": 3, "\x00nul key": 4, TRICKY: TRICKY},
    {"personal": "not a digest", "x": {"personal": 5}, "y": {"personal": "a", "z": 1}},
]
# (trigger, from_state, to_state, actor role, request id, definition): escapes in every text column, and NULLs
TEXTS = [
    ("check_in", "claimed", "visiting", "member", "req-1", "dual_reporting@1"),
    (SHORT, SHORT, SHORT, SHORT, TRICKY[:64].replace("\x00", ""), TRICKY[:80].replace("\x00", "")),
    ("close", None, None, "system", None, None),
]
TIMES = [datetime(2026, 11, 25, 8, 30), datetime(2026, 11, 25, 8, 30, 0, 1), datetime(2026, 1, 2, 3, 4, 5, 999999),
         datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]


@pytest.fixture
def postgres(backend):
    if backend != "postgresql":
        pytest.skip("the SQL verifier is PostgreSQL's")


def both(session, checkpoint=None):
    """Both verifiers' full reports: counts, and every problem as the command prints it."""
    sql = audit.verify(session, checkpoint=checkpoint, method="sql")
    python = audit.verify(session, checkpoint=checkpoint, method="python")
    report = lambda r: (r.checked, r.subjects, r.personal, r.erased, [str(p) for p in r.problems])  # noqa: E731
    assert report(sql) == report(python)
    return sql


def cli_both(app):
    """`verify-chain` and `verify-chain --python`: the same lines (but the timing) and exit code."""
    runner = app.test_cli_runner()
    sql, python = runner.invoke(args=["verify-chain"]), runner.invoke(args=["verify-chain", "--python"])
    strip = lambda out: re.sub(r" in [0-9.]+ s \([0-9,]+ events/s\)", "", out)  # noqa: E731
    assert (sql.exit_code, strip(sql.output)) == (python.exit_code, strip(python.output))
    return sql


def tamper(session, *statements):
    """As a database superuser would: with the append-only protection off."""
    session.rollback()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.exec_driver_sql(statement)  # (as written: a JSON text's ":1" is no bind parameter)
    session.expire_all()


def test_postgres_spells_each_hashed_body_as_python_does(app, postgres, session):
    """Every payload, text and time above, through audit.append (as the engine writes them): the
    body PostgreSQL builds is canonical_json's text, byte for byte, and both verifiers agree."""
    written = []
    with write_transaction() as s:
        for i, payload in enumerate(PAYLOADS * len(TEXTS)):
            trigger, from_state, to_state, role, request_id, definition = TEXTS[i % len(TEXTS)]
            at = TIMES[i % len(TIMES)]
            actor = SimpleNamespace(id=None if i % 4 == 3 else -7 if i % 4 == 2 else 41 + i, role=role)
            written.append(audit.append(s, subject_type="claim", subject_id=9000 + i % 3, trigger=trigger,
                                        from_state=from_state, to_state=to_state, actor=actor, payload=payload,
                                        request_id=request_id, definition=definition, now=at))
        # personal fields: their digests in the payload, the values (with every escape) kept apart
        for i, value in enumerate([TRICKY, "", "中文😀", 36.2, -0.0, 10 ** 30, [1, "a"], {"b": 1, "a": TRICKY}]):
            written.append(audit.append(s, subject_type="registration", subject_id=77, trigger="accept",
                                        from_state="applied", to_state="active",
                                        actor=SimpleNamespace(id=3, role="staff"),
                                        payload={"note": value, "grid_id": i, "reason": TRICKY[i:]},
                                        personal=("note", "reason"), now=TIMES[i % len(TIMES)]))
    session.rollback()
    ids = {(e.subject_type, e.subject_id, e.seq): e.id for e in session.scalars(select(AuditEvent))}
    bodies = dict(session.execute(text(audit_sql.BODIES)).all())
    for row in written:
        fields = {name: row[name] for name in audit.HASHED_FIELDS}
        fields["created_at"] = iso(row["created_at"])
        assert bodies[ids[(row["subject_type"], row["subject_id"], row["seq"])]] == audit.canonical_json(fields)
    result = both(session)
    assert result.ok and result.checked == len(written) and result.subjects == 4
    assert result.personal == 16  # note and reason of each registration event (values with NULs: checked in Python)


def test_postgres_hashes_and_digests_as_python_does(app, postgres, session):
    """The hash and each personal digest, recomputed by PostgreSQL, equal Python's stored ones."""
    with write_transaction() as s:
        for i, payload in enumerate(PAYLOADS):
            audit.append(s, subject_type="task", subject_id=5, trigger="edit", from_state="open", to_state="open",
                         actor=SimpleNamespace(id=2, role="staff"), payload={**payload, "note": TRICKY},
                         personal=("note",), now=TIMES[i % len(TIMES)])
    session.rollback()
    rows = session.execute(text(
        f"SELECT e.id, e.hash, encode(sha256(convert_to(coalesce(e.prev_hash, '') || row_to_json(body)::text, "
        f"'UTF8')), 'hex') FROM audit_events e CROSS JOIN {audit_sql.HASHED_BODY}")).all()
    assert len(rows) == len(PAYLOADS) and all(stored == computed for _, stored, computed in rows)
    digests = session.execute(text(
        "SELECT v.salt, v.value, encode(sha256(decode(v.salt, 'hex') || convert_to(v.value, 'UTF8')), 'hex') "
        "FROM audit_personal_values v")).all()
    assert len(digests) == len(PAYLOADS)
    assert all(audit.personal_digest(salt, value) == computed for salt, value, computed in digests)


def _event(session, where: str):
    return session.execute(text(f"SELECT id, subject_type, subject_id, seq, payload::text AS payload "
                                f"FROM audit_events WHERE {where} ORDER BY id LIMIT 1")).one()


def _one_byte(value: str, pattern: str) -> str:
    """A JSON text with one byte changed: the character the pattern's group finds, made another digit."""
    i = re.search(pattern, value).start(1)
    return value[:i] + ("1" if value[i] != "1" else "2") + value[i + 1:]


def _quoted(value: str) -> str:
    return value.replace("'", "''")


def test_every_event_kind_verifies_the_same_and_every_tampering_is_found_the_same(app, postgres, session):
    """The demo district (tasks, claims, registrations, pairings, projects, resources, the security
    log), a certificate on a member's chain, personal fields erased by the retention run; then
    tampering, one kind after another, each reported identically by both paths."""
    from workflow.services import certificates, erasure, security_log

    assert app.test_cli_runner().invoke(args=["demo-data"]).exit_code == 0
    session.rollback()
    served = session.execute(select(UnitFeedback.member_id, UnitFeedback.month).limit(1)).one()
    member = session.get(User, served.member_id)
    month = date.fromisoformat(served.month + "-01")
    certificates.issue(member, first_month=month, last_month=month, district="莱芜区",
                       key_path=app.config["BAODAO_CHECKPOINT_KEY"])
    with write_transaction() as s:
        security_log.record(s, session.scalar(select(User).where(User.username == "admin")), "export",
                            details={"rows": 3, "note": TRICKY.replace("\x00", "")})
    assert erasure.run(now=utcnow().replace(year=utcnow().year + 5), node="test").run_id
    session.rollback()
    kinds = set(session.scalars(select(AuditEvent.subject_type).distinct()))
    assert {"task", "claim", "registration", "pairing", "project", "resource", "admin", "member"} <= kinds

    clean = both(session)
    assert clean.ok and clean.erased > 0 and clean.personal > 0
    assert cli_both(app).exit_code == 0

    # a checkpoint, so that what follows is compared with it too
    assert app.test_cli_runner().invoke(args=["checkpoint"]).exit_code == 0
    session.rollback()

    # 1. one byte of a payload: a pairing's date, and a check-in's personal digest
    pairing = _event(session, "subject_type = 'pairing' AND payload::text LIKE '%ends_on%'")
    check_in = _event(session, "trigger = 'check_in' AND payload::text LIKE '%personal%' "
                               "AND id IN (SELECT event_id FROM audit_personal_values)")
    dated = _quoted(_one_byte(pairing.payload, r'"ends_on":"\d\d\d(\d)'))
    digested = _quoted(_one_byte(check_in.payload, r'"personal":"([0-9a-f])'))
    tamper(session, f"UPDATE audit_events SET payload = '{dated}' WHERE id = {pairing.id}",
           f"UPDATE audit_events SET payload = '{digested}' WHERE id = {check_in.id}")
    found = both(session)
    assert {(p.event_id, p.what) for p in found.problems} >= {
        (pairing.id, "contents altered: hash does not match"),
        (check_in.id, "contents altered: hash does not match")}
    assert any(p.event_id == check_in.id and "does not match the event's digest" in p.what for p in found.problems)
    assert cli_both(app).exit_code == 1

    # 2. an event deleted from the middle of a registration's chain, a stored value changed, a value
    #    that no digest asks for, an erasure recorded beside a value still stored
    registration = session.execute(text(
        "SELECT subject_id FROM audit_events WHERE subject_type = 'registration' GROUP BY subject_id "
        "HAVING count(*) >= 3 ORDER BY subject_id LIMIT 1")).scalar()
    middle = _event(session, f"subject_type = 'registration' AND subject_id = {registration} AND seq = 2")
    valued = session.execute(text("SELECT event_id, field FROM audit_personal_values ORDER BY event_id LIMIT 2")).all()
    tamper(session, f"DELETE FROM audit_events WHERE id = {middle.id}",
           f"UPDATE audit_personal_values SET value = '\"改过的\"' WHERE event_id = {valued[0].event_id} "
           f"AND field = '{valued[0].field}'",
           f"INSERT INTO audit_personal_values (event_id, field, salt, value) "
           f"VALUES ({valued[1].event_id}, 'stray', '00', '\"x\"')",
           f"INSERT INTO audit_erasures (event_id, field, kind, erased_at, reason) "
           f"VALUES ({valued[1].event_id}, '{valued[1].field}', 'erased', now(), 'test')")
    found = both(session)
    whats = [str(p) for p in found.problems]
    assert any(f"registration:{registration}" in w and "missing events before this one (expected seq 2)" in w
               for w in whats)
    assert any("a personal value is stored for 'stray'" in w for w in whats)
    assert any("its erasure is recorded but the value is still stored" in w for w in whats)
    assert cli_both(app).exit_code == 1

    # 3. a whole chain gone with its row, and a chain shortened: the checkpoint shows both
    gone = session.scalar(select(Registration.id).where(Registration.id != registration).order_by(Registration.id))
    shortened = session.execute(text(
        "SELECT subject_id, max(seq) FROM audit_events WHERE subject_type = 'pairing' GROUP BY subject_id "
        "HAVING max(seq) >= 2 ORDER BY subject_id LIMIT 1")).one()
    tamper(session, f"DELETE FROM audit_events WHERE subject_type = 'registration' AND subject_id = {gone}",
           f"DELETE FROM audit_events WHERE subject_type = 'pairing' AND subject_id = {shortened[0]} "
           f"AND seq = {shortened[1]}")
    found = both(session)
    whats = [str(p) for p in found.problems]
    assert f"registration:{gone}: has no events: its chain was deleted" in whats
    assert f"registration:{gone}: chain recorded in the checkpoint is gone" in whats
    assert any(w.startswith(f"pairing:{shortened[0]}") and "shorter than the checkpoint" in w for w in whats)
    assert cli_both(app).exit_code == 1
    # … and against an exported checkpoint (a heads mapping passed in)
    heads = json.loads(session.scalar(text("SELECT heads::text FROM checkpoints ORDER BY id DESC LIMIT 1")))
    both(session, checkpoint=heads)

    # 4. a duplicate sequence number (the unique index dropped first, as only a superuser could)
    claim = session.execute(text(
        "SELECT subject_id FROM audit_events WHERE subject_type = 'claim' GROUP BY subject_id "
        "HAVING count(*) >= 4 ORDER BY subject_id LIMIT 1")).scalar()
    third = _event(session, f"subject_type = 'claim' AND subject_id = {claim} AND seq = 3")
    try:
        tamper(session, "ALTER TABLE audit_events DROP CONSTRAINT uq_audit_events_subject_seq",
               f"UPDATE audit_events SET seq = 2 WHERE id = {third.id}",
               # and a copy of another chain's first event, under the same seq
               "INSERT INTO audit_events (subject_type, subject_id, seq, trigger, from_state, to_state, actor_id, "
               "actor_role, created_at, payload, request_id, definition, prev_hash, hash) "
               "SELECT subject_type, subject_id, seq, trigger, from_state, to_state, actor_id, actor_role, "
               "created_at, payload, request_id, definition, prev_hash, hash FROM audit_events "
               "WHERE subject_type = 'task' AND seq = 1 ORDER BY subject_id LIMIT 1")
        found = both(session)
        whats = [str(p) for p in found.problems]
        assert f"claim:{claim} event {third.id} (seq 2): duplicate sequence number (expected seq 3)" in whats
        assert any(w.startswith(f"claim:{claim}") and "missing events before this one (expected seq 3)" in w
                   for w in whats)
        assert sum("duplicate sequence number (expected seq 2)" in w for w in whats) >= 1
        assert cli_both(app).exit_code == 1
    finally:
        tamper(session, "TRUNCATE audit_events",
               "ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_subject_seq "
               "UNIQUE (subject_type, subject_id, seq)")


def test_an_exported_checkpoint_is_compared_in_its_own_order(app, postgres, session):
    """Heads passed in (a signed file's): every kind of difference, in the file's order."""
    with write_transaction() as s:
        for subject_id in (1, 2, 3):
            for _ in range(3):
                audit.append(s, subject_type="admin", subject_id=subject_id, trigger="login", from_state=None,
                             to_state=None, actor=SimpleNamespace(id=subject_id, role="admin"), payload={})
    session.rollback()
    heads = audit.chain_heads(session)
    checkpoint = {"admin:3": heads["admin:3"], "admin:9": [1, "ab" * 32], "admin:1": [5, heads["admin:1"][1]],
                  "admin:2": [2, "cd" * 32], "admin:02": heads["admin:2"], "x:y:1": [1, None]}
    result = both(session, checkpoint=checkpoint)
    assert [str(p) for p in result.problems] == [
        "admin:9: chain recorded in the checkpoint is gone",
        "admin:1: chain is shorter than the checkpoint (head seq 3)",
        "admin:2: event recorded in the checkpoint was rewritten",
        "admin:02: chain recorded in the checkpoint is gone",
        "x:y:1: chain recorded in the checkpoint is gone",
    ]


def test_personal_fields_by_the_quick_count_or_else_exactly(app, postgres, session, monkeypatch):
    """When every chain is sound, the personal fields are checked by counting (each stored value
    against its event's field); the exact statements run only when the counts do not close. So
    each kind of problem is still found, in the Python path's words, and a clean log is counted
    the same either way."""
    exact = []
    real = audit_sql._personal
    monkeypatch.setattr(audit_sql, "_personal", lambda *args: (exact.append(True), real(*args))[1])
    with write_transaction() as s:
        for i in range(6):
            audit.append(s, subject_type="registration", subject_id=80 + i % 2, trigger="accept",
                         from_state="applied", to_state="active", actor=SimpleNamespace(id=3, role="staff"),
                         payload={"note": f"住在{i}号楼", "phone": f"1380000000{i}", "grid_id": i},
                         personal=("note", "phone"))
        plain = audit.append(s, subject_type="registration", subject_id=82, trigger="accept", from_state="applied",
                             to_state="active", actor=SimpleNamespace(id=3, role="staff"), payload={"grid_id": 9})
    session.rollback()
    plain_id = session.scalar(select(AuditEvent.id).where(AuditEvent.subject_id == 82, AuditEvent.seq == plain["seq"]))
    values = session.execute(text(
        "SELECT event_id, field, salt, value FROM audit_personal_values ORDER BY event_id, field")).all()
    assert len(values) == 12

    def superuser(statement, **params):
        session.rollback()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(text(statement), params)
        session.expire_all()

    def check(expect_exact: bool, *whats):
        exact.clear()
        result = both(session)
        assert bool(exact) is expect_exact
        assert [p.what for p in result.problems] == list(whats)
        return result

    put_back = "INSERT INTO audit_personal_values (event_id, field, salt, value) VALUES (:e, :f, :s, :v)"
    erase = ("INSERT INTO audit_erasures (event_id, field, kind, erased_at, reason) "
             "VALUES (:e, :f, 'erased', now(), 'test')")
    # one field erased as the retention run erases it: the value gone, the erasure recorded
    erased, changed, removed, beside = values[0], values[3], values[5], values[7]
    superuser("DELETE FROM audit_personal_values WHERE event_id = :e AND field = :f", e=erased.event_id, f=erased.field)
    superuser(erase, e=erased.event_id, f=erased.field)
    clean = check(False)
    assert clean.ok and (clean.personal, clean.erased) == (11, 1)

    # a stored value changed
    superuser("UPDATE audit_personal_values SET value = '\"改过的\"' WHERE event_id = :e AND field = :f",
              e=changed.event_id, f=changed.field)
    check(True, f"personal field '{changed.field}' altered: the stored value does not match the event's digest")
    superuser("UPDATE audit_personal_values SET value = :v WHERE event_id = :e AND field = :f",
              v=changed.value, e=changed.event_id, f=changed.field)
    # a stored value gone with no erasure recorded
    superuser("DELETE FROM audit_personal_values WHERE event_id = :e AND field = :f", e=removed.event_id,
              f=removed.field)
    check(True, f"personal field '{removed.field}' altered: its value is missing and no erasure is recorded")
    superuser(put_back, e=removed.event_id, f=removed.field, s=removed.salt, v=removed.value)
    # a value that no digest of its event asks for
    superuser(put_back, e=beside.event_id, f="stray", s="00", v='"x"')
    check(True, "a personal value is stored for 'stray', which the event does not hold")
    superuser("DELETE FROM audit_personal_values WHERE event_id = :e AND field = 'stray'", e=beside.event_id)
    # an erasure recorded beside a value still stored
    superuser(erase, e=beside.event_id, f=beside.field)
    check(True, f"personal field '{beside.field}': its erasure is recorded but the value is still stored")
    superuser("DELETE FROM audit_erasures WHERE event_id = :e AND field = :f", e=beside.event_id, f=beside.field)
    assert check(False).ok

    # a value on an event that holds no digest (the Python path does not look at it): not a problem,
    # but only the exact statements can tell
    superuser(put_back, e=plain_id, f="note", s="00", v='"x"')
    result = check(True)
    assert result.ok and (result.personal, result.erased) == (11, 1)
    superuser("DELETE FROM audit_personal_values WHERE event_id = :e", e=plain_id)
    # a note that says "personal" (in quotes, which JSON escapes): still counted quickly …
    with write_transaction() as s:
        audit.append(s, subject_type="registration", subject_id=82, trigger="move_grid", from_state="active",
                     to_state="active", actor=SimpleNamespace(id=3, role="staff"),
                     payload={"reason": 'moved for "personal" reasons'})
    session.rollback()
    result = check(False)
    assert result.ok and (result.personal, result.erased) == (11, 1)
    # … but a \u escape (a control character in a text), which could spell the key, sends it to the
    # exact statements (the event is taken away again, as a superuser could, for the next step)
    with write_transaction() as s:
        audit.append(s, subject_type="registration", subject_id=83, trigger="move_grid", from_state="active",
                     to_state="active", actor=SimpleNamespace(id=3, role="staff"), payload={"reason": "a\x01b"})
    session.rollback()
    result = check(True)
    assert result.ok and (result.personal, result.erased) == (11, 1)
    superuser("DELETE FROM audit_events WHERE subject_type = 'registration' AND subject_id = 83")
    assert check(False).ok
    # … and so does a value that is the word itself: one more spelling of the key than there are
    # digests, so the counts do not close, and the exact statements find nothing wrong
    with write_transaction() as s:
        audit.append(s, subject_type="registration", subject_id=82, trigger="move_grid", from_state="active",
                     to_state="active", actor=SimpleNamespace(id=3, role="staff"), payload={"reason": "personal"})
    session.rollback()
    result = check(True)
    assert result.ok and (result.personal, result.erased) == (11, 1)
