"""Personal fields kept apart from the audit chain: what exactly is hashed, and how verify-chain
tells an erased field from an altered one.

The first tests pin the bytes: the hashed body of an event whose payload holds personal digests,
and each digest, written out in full (with every JSON escape canonical JSON makes), so that a
verifier written elsewhere — in SQL, in PostgreSQL's parallel workers (issue 17) — can be
checked against the same numbers. On PostgreSQL the database computes them too.
"""
import hashlib
import json

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from workflow import audit
from workflow.engine.loader import parse_definition
from workflow.errors import DefinitionError
from workflow.extensions import db
from workflow.models import AuditErasure, AuditEvent, AuditPersonalValue, RetentionRun
from workflow.models.personal import ERASED
from workflow.services import claims
from workflow.services.event_input import read_inputs

SALT = "000102030405060708090a0b0c0d0e0f"
# Every escape canonical JSON (ensure_ascii=False) makes — quote, backslash, \b \f \n \r \t, other
# C0 controls as \u00XX — and what it leaves as it is: "/", DEL, non-ASCII, U+2028/U+2029, astral.
TRICKY = 'He said "hi" \\ back/slash\b\f\n\r\t\x00\x01\x1f\x7f é 中 \u2028\u2029 😀 </script>'
TRICKY_TEXT = ('"He said \\"hi\\" \\\\ back/slash\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f é 中 '
               '\u2028\u2029 😀 </script>"')
TRICKY_DIGEST = "e61ed43b99a4f42930af0d31e3fc47f903866babe2e9dbcbe168ef4c422910a4"
NOTE = TRICKY.replace("\x00", "")
LAT_DIGEST = "9dbb6447bc09d45af0904d0bf9259c65ffbaa9e28d4a4b87d666b02eecb039d2"  # 36.2 with the same salt
EVENT_FIELDS = {
    "subject_type": "claim", "subject_id": 12, "seq": 2, "trigger": "check_in", "from_state": "claimed",
    "to_state": "visiting", "actor_id": 41, "actor_role": "member", "created_at": "2026-11-25T21:03:00.000001Z",
    "payload": {"note": {"personal": TRICKY_DIGEST}, "lat": {"personal": LAT_DIGEST}, "visit_id": 7, "photos": [],
                "time": None},
    "request_id": "请求-1", "definition": "dual_reporting@1",
}
PREV = "ab" * 32
BODY = ('{"actor_id":41,"actor_role":"member","created_at":"2026-11-25T21:03:00.000001Z",'
        '"definition":"dual_reporting@1","from_state":"claimed","payload":{"lat":{"personal":'
        '"9dbb6447bc09d45af0904d0bf9259c65ffbaa9e28d4a4b87d666b02eecb039d2"},"note":{"personal":'
        '"e61ed43b99a4f42930af0d31e3fc47f903866babe2e9dbcbe168ef4c422910a4"},"photos":[],"time":null,'
        '"visit_id":7},"request_id":"请求-1","seq":2,"subject_id":12,"subject_type":"claim",'
        '"to_state":"visiting","trigger":"check_in"}')
EVENT_HASH = "e05f75d4a75da48e636c8fc9fe65dd568ad5b0bfb01a8061e3745239261e7509"


def test_a_personal_value_is_digested_as_salt_bytes_then_its_canonical_json_text():
    assert audit.personal_value_text(TRICKY) == TRICKY_TEXT
    assert audit.personal_digest(SALT, TRICKY_TEXT) == TRICKY_DIGEST
    assert hashlib.sha256(bytes(range(16)) + TRICKY_TEXT.encode("utf-8")).hexdigest() == TRICKY_DIGEST
    assert audit.personal_value_text(36.2) == "36.2"
    assert audit.personal_digest(SALT, "36.2") == LAT_DIGEST


def test_the_hashed_body_of_an_event_with_personal_digests_is_exactly_this_text():
    assert audit.canonical_json({name: EVENT_FIELDS[name] for name in audit.HASHED_FIELDS}) == BODY
    assert hashlib.sha256((PREV + BODY).encode("utf-8")).hexdigest() == EVENT_HASH
    assert audit.compute_hash(EVENT_FIELDS, PREV) == EVENT_HASH
    # the verifier's fast path (the stored payload text spliced in) agrees
    f = EVENT_FIELDS
    row = (1, PREV, EVENT_HASH, f["subject_type"], f["subject_id"], f["seq"], f["trigger"], f["from_state"],
           f["to_state"], f["actor_id"], f["actor_role"], f["created_at"], audit.canonical_json(f["payload"]),
           f["request_id"], f["definition"])
    assert audit._hash_matches(row)


def test_seal_personal_replaces_each_personal_value_by_its_digest_with_a_fresh_salt():
    hashed, apart = audit.seal_personal({"note": TRICKY, "hours": 2, "reason": None}, ("note", "reason"))
    assert hashed["hours"] == 2 and hashed["reason"] is None  # absent or None: nothing to keep apart
    (kept,) = apart
    assert kept["field"] == "note" and kept["value"] == TRICKY_TEXT and len(kept["salt"]) == 32
    assert hashed["note"] == {"personal": audit.personal_digest(kept["salt"], TRICKY_TEXT)}
    assert audit.digest_of(hashed["note"]) == hashed["note"]["personal"]
    again, other = audit.seal_personal({"note": TRICKY}, ("note",))
    assert other[0]["salt"] != kept["salt"] and again["note"] != hashed["note"]  # equal texts, unlinkable digests


def test_postgresql_computes_the_same_digest_and_event_hash(app, backend):
    if backend != "postgresql":
        pytest.skip("the SQL form of the digest is PostgreSQL's (issue 17 hashes there)")
    with db.engine.connect() as conn:
        digest = conn.scalar(text("SELECT encode(sha256(decode(:salt, 'hex') || convert_to(:value, 'UTF8')), 'hex')"),
                             {"salt": SALT, "value": TRICKY_TEXT})
        event_hash = conn.scalar(text("SELECT encode(sha256(convert_to(:prev || :body, 'UTF8')), 'hex')"),
                                 {"prev": PREV, "body": BODY})
    assert (digest, event_hash) == (TRICKY_DIGEST, EVENT_HASH)


# -- the loader -------------------------------------------------------------------------------

def _definition(personal):
    return {"name": "t", "version": 1, "subject": "claim", "initial": "new",
            "states": {"new": {"label": "新", "label_en": "New"}, "done": {"label": "完", "label_en": "Done",
                                                                           "final": True}},
            "triggers": {"go": {"label": "走", "label_en": "Go", "from": ["new"], "to": "done", "roles": ["member"],
                                "input": {"why": {"type": "text", "label": "因", "label_en": "Why",
                                                  "personal": personal},
                                          "n": {"type": "integer", "label": "数", "label_en": "N"}}}}}


def test_the_loader_reads_which_fields_are_personal():
    trigger = parse_definition(_definition(True), "t.yaml").trigger("go")
    assert trigger.personal_fields == ("why",) and not trigger.field("n").personal
    assert "personal" not in trigger.field("why").options
    with pytest.raises(DefinitionError, match="'personal' is true or false"):
        parse_definition(_definition("yes"), "t.yaml")


def test_the_shipped_definitions_mark_notes_summaries_reasons_and_locations_personal(app):
    from workflow import runtime

    claim = runtime.registry().get("dual_reporting", 1).definition
    assert {t.name: t.personal_fields for t in claim.triggers if t.personal_fields} == {
        "check_in": ("note", "lat", "lon"), "submit_report": ("summary",), "approve": ("comment",),
        "return": ("reason",), "reject": ("reason",), "withdraw": ("reason",), "cancel": ("reason",)}
    assert runtime.registry().get("task", 1).definition.trigger("cancel").personal_fields == ("reason",)


def test_the_api_says_which_fields_are_personal(app, world):
    from tests.api.api_helpers import ApiClient

    body = ApiClient(app).get("/api/v1/workflows/dual_reporting/1", world.member).get_json()
    check_in = next(t for t in body["triggers"] if t["name"] == "check_in")
    assert {f["name"]: f["personal"] for f in check_in["fields"]} == {
        "note": True, "photos": False, "lat": True, "lon": True, "time": False}


# -- writing and verifying ---------------------------------------------------------------------

@pytest.fixture
def visited(world, session):
    claim = claims.start_claim(world.task().id, world.member)
    # (NUL aside: the API refuses it, and PostgreSQL cannot store it in text)
    claims.fire(claim.id, "check_in", world.member, {"note": NOTE, "lat": 36.2, "lon": 117.6})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "为王大爷买了电暖器", "hours": 2})
    return claim


def event(session, claim_id, trigger):
    return session.scalar(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                   AuditEvent.subject_id == claim_id, AuditEvent.trigger == trigger))


def tamper(session, *statements):
    """Change the tables as a database superuser would: with their protection switched off."""
    session.rollback()
    if db.engine.dialect.name == "postgresql":
        prefix = ["SET LOCAL session_replication_role = replica"]
    else:
        prefix = [f"DROP TRIGGER IF EXISTS {t}" for t in (
            "audit_events_no_update", "audit_events_no_delete", "audit_personal_values_no_update",
            "audit_personal_values_erase_recorded", "audit_erasures_no_update", "audit_erasures_no_delete")]
    with db.engine.begin() as conn:
        for statement in prefix + list(statements):
            conn.execute(text(statement))
    session.expire_all()


def verify_cli(app, *args):
    return app.test_cli_runner().invoke(args=["verify-chain", *args])


def test_a_new_event_hashes_digests_and_keeps_the_values_apart(visited, session):
    check_in = event(session, visited.id, "check_in")
    stored = session.scalar(text("SELECT payload FROM audit_events WHERE id = :id").bindparams(id=check_in.id))
    assert "back/slash" not in str(stored) and "王大爷" not in str(
        session.scalar(text("SELECT payload FROM audit_events WHERE trigger = 'submit_report'")))
    assert set(check_in.payload) == {"note", "lat", "lon", "visit_id"}
    assert isinstance(check_in.payload["visit_id"], int)  # not personal: plain
    values = {v.field: v for v in session.scalars(select(AuditPersonalValue)
                                                  .where(AuditPersonalValue.event_id == check_in.id))}
    assert set(values) == {"note", "lat", "lon"}
    for name, value in values.items():
        assert audit.personal_digest(value.salt, value.value) == check_in.payload[name]["personal"]
    assert values["note"].value == TRICKY_TEXT.replace("\\u0000", "")
    assert read_inputs(session, [check_in])[check_in.id].input["note"] == NOTE


def test_intact_personal_fields_verify_and_are_counted(app, visited, session):
    result = audit.verify(session)
    assert result.ok and result.personal == 4 and result.erased == 0  # note, lat, lon; summary
    out = verify_cli(app)
    assert out.exit_code == 0, out.output
    assert "personal fields: 4 match their digests, 0 erased" in out.output


def test_the_database_refuses_to_change_a_value_or_delete_it_without_an_erasure_record(visited, session):
    target = event(session, visited.id, "check_in").id
    session.rollback()
    for statement in (f"UPDATE audit_personal_values SET value = '\"x\"' WHERE event_id = {target}",
                      f"DELETE FROM audit_personal_values WHERE event_id = {target}"):
        with pytest.raises(sa_exc.DBAPIError, match="append-only|without an erasure record"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))


def test_an_altered_personal_value_is_named_as_tampering(app, visited, session):
    target = event(session, visited.id, "check_in").id
    tamper(session, f"UPDATE audit_personal_values SET value = '\"改过的走访记录\"' "
                    f"WHERE event_id = {target} AND field = 'note'")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert (f"claim:{visited.id} event {target} (seq 2): personal field 'note' altered: the stored value does not "
            "match the event's digest") in result.output
    assert "personal fields: 3 match" in result.output


def test_a_value_deleted_without_an_erasure_record_is_tampering(app, visited, session):
    target = event(session, visited.id, "submit_report").id
    tamper(session, f"DELETE FROM audit_personal_values WHERE event_id = {target}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert (f"claim:{visited.id} event {target} (seq 3): personal field 'summary' altered: its value is missing "
            "and no erasure is recorded") in result.output


def test_a_value_erased_with_its_record_is_erased_not_altered(app, visited, session):
    target = event(session, visited.id, "submit_report").id
    session.rollback()  # (end this session's read, so it sees what the other connection commits)
    with db.engine.begin() as conn:  # what the retention run does, as the application's own user
        run_id = conn.execute(RetentionRun.__table__.insert().values(
            started_at=audit.utcnow(), node="t", settings={}, counts={}).returning(RetentionRun.__table__.c.id)).scalar()
        conn.execute(AuditErasure.__table__.insert().values(event_id=target, field="summary", kind=ERASED,
                                                            erased_at=audit.utcnow(), reason="test", run_id=run_id))
        conn.execute(text(f"DELETE FROM audit_personal_values WHERE event_id = {target}"))
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "personal fields: 3 match their digests, 1 erased under the retention rules" in result.output


def test_an_erasure_record_beside_a_value_still_stored_is_reported(app, visited, session):
    target = event(session, visited.id, "submit_report").id
    session.rollback()
    with db.engine.begin() as conn:
        conn.execute(AuditErasure.__table__.insert().values(event_id=target, field="summary", kind=ERASED,
                                                            erased_at=audit.utcnow(), reason="test", run_id=None))
    result = audit.verify(session)
    assert [p.what for p in result.problems] == [
        "personal field 'summary': its erasure is recorded but the value is still stored"]


def test_a_payload_respelled_to_hide_its_digest_is_still_checked(app, visited, session):
    """The slow path accepts a payload stored in another JSON spelling (its hash still matches):
    the personal check must not miss it, however the key is spelled."""
    check_in = event(session, visited.id, "check_in")
    respelled = json.dumps(check_in.payload, indent=1).replace('"personal"', '"\\u0070ersonal"')
    assert "personal" not in respelled
    stored = respelled.replace("'", "''")
    tamper(session, f"UPDATE audit_events SET payload = '{stored}' WHERE id = {check_in.id}",
           f"DELETE FROM audit_personal_values WHERE event_id = {check_in.id} AND field = 'note'")
    result = audit.verify(session)
    assert [p.what for p in result.problems] == [
        "personal field 'note' altered: its value is missing and no erasure is recorded"]


def test_events_written_before_personal_fields_were_kept_apart_verify_as_before(app, world, session):
    """An older check-in: the note inside its hashed payload, no value rows. Nothing changes for it."""
    from workflow.services.tx import write_transaction

    claim = claims.start_claim(world.task().id, world.member)
    with write_transaction() as s:
        audit.append(s, subject_type="claim", subject_id=claim.id, trigger="withdraw", from_state="claimed",
                     to_state="withdrawn", actor=world.member, payload={"reason": "家里有事"},
                     definition="dual_reporting@1")  # no `personal`: as every event was written before
    result = audit.verify(session)
    assert result.ok and result.personal == 0
    old = event(session, claim.id, "withdraw")
    assert old.payload == {"reason": "家里有事"}
    assert read_inputs(session, [old])[old.id].input == {"reason": "家里有事"}


def test_the_split_check_counts_and_finds_personal_fields_too(app, world, session, monkeypatch):
    """A large log is checked by two processes over two ranges of subjects: each checks the
    personal fields of its own events."""
    made = []
    for member in (world.member, world.member2):
        claim = claims.start_claim(world.task().id, member)
        claims.fire(claim.id, "check_in", member, {"note": "走访"})
        made.append(claim)
    monkeypatch.setattr(audit, "PARALLEL_FROM_EVENTS", 0)
    whole, split = audit.verify(session, workers=1, method="python"), audit.verify(session, workers=2, method="python")
    assert split.ok and split.personal == whole.personal == 2
    targets = [event(session, c.id, "check_in").id for c in made]
    tamper(session, f"UPDATE audit_personal_values SET value = '\"改\"' WHERE event_id IN ({targets[0]}, {targets[1]})")
    assert sorted(p.event_id for p in audit.verify(session, workers=2, method="python").problems) == sorted(targets)
