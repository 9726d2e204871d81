"""The audit log is append-only in the database, and tampering shows in verify-chain."""
import json

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text

from workflow import audit
from workflow.extensions import db
from workflow.models import AuditEvent, Claim, Task
from workflow.services import claims


@pytest.fixture
def history(world, session):
    """Two claims with a few events each, and the tasks' own chains."""
    made = []
    for member in (world.member, world.member2):
        claim = claims.start_claim(world.task().id, member)
        claims.fire(claim.id, "check_in", member, {"note": "入户"})
        claims.fire(claim.id, "submit_report", member, {"summary": "完成", "hours": 2})
        made.append(claim)
    claims.fire(made[1].id, "approve", world.staff, {"comment": "属实"})  # so the ledgers have rows
    return made


def events_of(session, claim_id):
    return session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                    AuditEvent.subject_id == claim_id).order_by(AuditEvent.seq)).all()


def tamper(session, *statements):
    """Change the log as a database superuser would: with the append-only protection off."""
    session.rollback()
    if db.engine.dialect.name == "postgresql":
        prefix = ["SET LOCAL session_replication_role = replica"]
    else:
        prefix = [f"DROP TRIGGER IF EXISTS {t}_no_{a}" for t in ("audit_events", "points_entries", "unit_feedback")
                  for a in ("update", "delete")]
    with db.engine.begin() as conn:
        for statement in prefix + list(statements):
            conn.execute(text(statement))
    session.expire_all()


def verify_cli(app, *args):
    return app.test_cli_runner().invoke(args=["verify-chain", *args])


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET payload = '{}' WHERE id = 1",
    "DELETE FROM audit_events WHERE id = 1",
    "UPDATE points_entries SET points = 100",
    "DELETE FROM unit_feedback",
])
def test_the_database_refuses_to_change_the_log_and_ledgers(history, session, statement):
    with pytest.raises(sa_exc.DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text(statement))


def test_intact_history_verifies(app, history):
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "ok: every chain verifies" in result.output
    assert "events/s" in result.output


def test_an_altered_event_is_named(app, history, session):
    target = events_of(session, history[0].id)[1]
    tamper(session, f"UPDATE audit_events SET payload = '{{\"note\": \"改过的\"}}' WHERE id = {target.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"claim:{history[0].id} event {target.id} (seq 2): contents altered" in result.output
    assert f"claim:{history[1].id}" not in result.output


def test_a_deleted_event_is_named(app, history, session):
    victim = events_of(session, history[1].id)[1]
    tamper(session, f"DELETE FROM audit_events WHERE id = {victim.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"claim:{history[1].id}" in result.output and "missing events before this one" in result.output


def test_reordered_events_are_named(app, history, session):
    first, second = events_of(session, history[0].id)[1:3]
    tamper(session,
           f"UPDATE audit_events SET seq = -1 WHERE id = {first.id}",
           f"UPDATE audit_events SET seq = {first.seq} WHERE id = {second.id}",
           f"UPDATE audit_events SET seq = {second.seq} WHERE id = {first.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"claim:{history[0].id} event {second.id} (seq 2): previous-hash link broken" in result.output


def test_a_whole_deleted_chain_is_found(app, history, session):
    tamper(session, f"DELETE FROM audit_events WHERE subject_type = 'claim' AND subject_id = {history[0].id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"claim:{history[0].id}: has no events: its chain was deleted" in result.output


def test_a_chain_deleted_with_its_subject_shows_against_the_checkpoint(app, history, session, tmp_path):
    exported = tmp_path / "checkpoint.json"
    made = app.test_cli_runner().invoke(args=["checkpoint", "--export", str(exported)])
    assert made.exit_code == 0, made.output
    heads = json.loads(exported.read_text())["heads"]
    assert heads[f"claim:{history[0].id}"][0] == 3

    claim_id = history[0].id
    tamper(session,
           f"DELETE FROM audit_events WHERE subject_type = 'claim' AND subject_id = {claim_id}",
           f"DELETE FROM visits WHERE claim_id = {claim_id}",
           f"DELETE FROM reports WHERE claim_id = {claim_id}",
           f"DELETE FROM claims WHERE id = {claim_id}",
           # the tamperer also deletes the checkpoint rows in the database …
           "DELETE FROM checkpoints")
    assert verify_cli(app).exit_code == 0  # … so the database alone no longer shows it,
    result = verify_cli(app, "--checkpoint", str(exported))  # but the exported checkpoint does
    assert result.exit_code == 1
    assert f"claim:{claim_id}" in result.output and "chain recorded in the checkpoint is gone" in result.output


def test_a_rewritten_chain_shows_against_the_stored_checkpoint(app, history, session):
    assert app.test_cli_runner().invoke(args=["checkpoint"]).exit_code == 0
    last = events_of(session, history[1].id)[-1]
    # A careful tamperer rewrites the last event and recomputes its hash: the chain itself
    # verifies again, but the checkpoint still holds the old head.
    fields = {name: getattr(last, name) for name in audit.HASHED_FIELDS}
    fields["created_at"] = audit.iso(last.created_at)
    fields["payload"] = {"summary": "伪造", "hours": 8}
    forged = audit.compute_hash(fields, last.prev_hash)
    tamper(session, f"UPDATE audit_events SET payload = '{json.dumps(fields['payload'])}', hash = '{forged}' "
                    f"WHERE id = {last.id}")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"claim:{history[1].id}" in result.output and "rewritten" in result.output


def test_verify_one_subject(app, history, session):
    result = audit.verify(session, subject=f"claim:{history[0].id}")
    assert result.ok and result.checked == 3 and result.subjects == 1
    assert result.head == events_of(session, history[0].id)[-1].hash
    bad = verify_cli(app, "--subject", "claims:x")
    assert bad.exit_code == 2 and "subject must look like" in bad.output


def test_every_task_and_claim_has_a_chain(history, session):
    result = audit.verify(session)
    assert result.ok
    tasks = session.scalar(select(func.count(Task.id)))
    claim_count = session.scalar(select(func.count(Claim.id)))
    assert result.subjects == tasks + claim_count


@pytest.mark.parametrize("payload", [
    {}, {"note": "引号\"与\\反斜杠\n换行\t制表 \u2028 😀"}, {"hours": 1.5, "households": 0, "photos": [3, 1]},
    {"b": {"z": 1, "a": [None, True, False]}, "a": -0.0}, {"reason": "\x00\x1f control"},
])
def test_the_fast_verifier_hashes_exactly_what_append_wrote(payload):
    """The verifier assembles the hashed body as text; it must equal canonical_json byte for byte."""
    fields = {"subject_type": "claim", "subject_id": 7, "seq": 2, "trigger": "check_in", "from_state": "claimed",
              "to_state": "visiting", "actor_id": None, "actor_role": "system", "created_at": "2026-11-25T21:03:00.000001Z",
              "payload": payload, "request_id": "请求-1", "definition": "dual_reporting@1"}
    digest = audit.compute_hash(fields, "ab" * 32)
    row = (1, "ab" * 32, digest, "claim", 7, 2, "check_in", "claimed", "visiting", None, "system",
           "2026-11-25T21:03:00.000001Z", audit.canonical_json(payload), "请求-1", "dual_reporting@1")
    assert audit._hash_matches(row)
    # a payload stored in another JSON spelling still verifies (slow path) …
    spaced = json.dumps(payload, indent=2, ensure_ascii=True)
    assert audit._hash_matches(row[:12] + (spaced,) + row[13:])
    # … but not one whose meaning changed
    assert not audit._hash_matches(row[:12] + (json.dumps({**payload, "x": 1}),) + row[13:])


def test_the_split_check_finds_what_the_single_one_finds(app, history, session, monkeypatch):
    """A large log is verified by two processes over two ranges of subjects; both must see tampering."""
    monkeypatch.setattr(audit, "PARALLEL_FROM_EVENTS", 0)
    whole = audit.verify(session, workers=1, method="python")
    split = audit.verify(session, workers=2, method="python")
    assert split.ok and (split.checked, split.subjects) == (whole.checked, whole.subjects)

    low, high = events_of(session, history[0].id)[1], events_of(session, history[1].id)[1]
    tamper(session, f"UPDATE audit_events SET payload = '{{}}' WHERE id IN ({low.id}, {high.id})")
    split = audit.verify(session, workers=2, method="python")
    assert sorted(p.event_id for p in split.problems) == sorted([low.id, high.id])
    assert sorted(p.event_id for p in audit.verify(session, workers=1, method="python").problems) == sorted([low.id, high.id])
