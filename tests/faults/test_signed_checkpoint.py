"""Signed checkpoints: a rewrite by someone with full database access is still caught.

A superuser rewrites an event *and* its hash, and the checkpoints table to match: the
database alone verifies. The checkpoint exported earlier (signed with the Ed25519 key kept
outside the database) catches it; a checkpoint file edited to match, re-signed with
another key, or stripped of its signature is refused with a non-zero exit naming why.
"""
import json
import stat

import pytest
from sqlalchemy import select

from tests.test_audit import tamper
from workflow import audit, checkpoint_signing
from workflow.models import AuditEvent, Checkpoint
from workflow.services import claims


@pytest.fixture
def signed(app, world, tmp_path):
    app.config["BAODAO_CHECKPOINT_KEY"] = str(tmp_path / "keys" / "checkpoint.pem")
    claim = claims.start_claim(world.task().id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "入户"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "完成", "hours": 2})
    exported = tmp_path / "checkpoint.json"
    made = cli(app, "checkpoint", "--export", str(exported))
    assert made.exit_code == 0, made.output
    assert "signed by key" in made.output
    return claim, exported


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_the_key_is_made_once_outside_the_database_mode_0600(app, signed, tmp_path):
    key_path = tmp_path / "keys" / "checkpoint.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    document = json.loads(signed[1].read_text())
    assert set(document) >= {"heads", "digest", "signature", "key_id", "public_key", "created_at", "id"}
    assert document["digest"] == audit.checkpoint_digest(document["heads"])
    before = key_path.read_bytes()
    assert cli(app, "checkpoint", "--export", str(tmp_path / "again.json")).exit_code == 0
    assert key_path.read_bytes() == before  # reused, not replaced
    assert json.loads((tmp_path / "again.json").read_text())["key_id"] == document["key_id"]
    ok = cli(app, "verify-chain", "--checkpoint", str(signed[1]))
    assert ok.exit_code == 0 and "ok: every chain verifies" in ok.output, ok.output
    # A key others can read is refused rather than used.
    key_path.chmod(0o644)
    loose = cli(app, "verify-chain", "--checkpoint", str(signed[1]))
    assert loose.exit_code == 1 and "chmod 600" in loose.output


def _rewrite_last_event_and_checkpoints(session, claim_id):
    """What a superuser with full access does: rewrite an event, recompute its hash, and make
    the checkpoints table agree."""
    last = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                    AuditEvent.subject_id == claim_id)
                           .order_by(AuditEvent.seq.desc())).first()
    fields = {name: getattr(last, name) for name in audit.HASHED_FIELDS}
    fields["created_at"] = audit.iso(last.created_at)
    fields["payload"] = {"summary": "伪造的汇报", "hours": 40}
    forged = audit.compute_hash(fields, last.prev_hash)
    heads = dict(session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc())).first().heads)
    heads[f"claim:{claim_id}"] = [last.seq, forged]
    tamper(session,
           f"UPDATE audit_events SET payload = '{json.dumps(fields['payload'], ensure_ascii=False)}', hash = '{forged}' "
           f"WHERE id = {last.id}",
           f"UPDATE checkpoints SET heads = '{json.dumps(heads)}', "
           f"digest = '{audit.checkpoint_digest(heads)}'")
    return forged, heads


def test_a_rewrite_of_events_and_checkpoints_is_caught_only_by_the_signed_file(app, signed, session, tmp_path):
    claim, exported = signed
    forged, heads = _rewrite_last_event_and_checkpoints(session, claim.id)

    alone = cli(app, "verify-chain")
    assert alone.exit_code == 0, alone.output  # the database alone looks fine …

    caught = cli(app, "verify-chain", "--checkpoint", str(exported))  # … the signed export does not
    assert caught.exit_code == 1
    assert f"claim:{claim.id}" in caught.output and "rewritten" in caught.output

    # The tamperer edits the exported file to match: the signature no longer verifies.
    document = json.loads(exported.read_text())
    document["heads"] = heads
    document["digest"] = audit.checkpoint_digest(heads)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    refused = cli(app, "verify-chain", "--checkpoint", str(edited))
    assert refused.exit_code == 1
    assert "refused" in refused.output and "signature does not verify" in refused.output
    assert "ok: every chain verifies" not in refused.output

    # … or re-signs it with a key of their own (its public key in the file): another key id.
    own_key = checkpoint_signing.load_or_create_key(tmp_path / "attacker.pem")
    forged_doc = checkpoint_signing.sign(own_key, id=document["id"], created_at=document["created_at"], heads=heads)
    resigned = tmp_path / "resigned.json"
    resigned.write_text(json.dumps(forged_doc))
    other = cli(app, "verify-chain", "--checkpoint", str(resigned))
    assert other.exit_code == 1 and "signed by another key" in other.output

    # … or drops the signature (an old-style file): refused too.
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps({"id": 1, "digest": document["digest"], "heads": heads}))
    bare = cli(app, "verify-chain", "--checkpoint", str(unsigned))
    assert bare.exit_code == 1 and "not signed" in bare.output

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert cli(app, "verify-chain", "--checkpoint", str(garbage)).exit_code == 1


def test_a_copied_signature_over_other_heads_is_refused(app, signed, tmp_path):
    """Swapping one head for another value keeps the key id and the signature: still refused."""
    document = json.loads(signed[1].read_text())
    key = next(iter(document["heads"]))
    document["heads"][key] = [document["heads"][key][0], "0" * 64]
    path = tmp_path / "swapped.json"
    path.write_text(json.dumps(document))
    result = cli(app, "verify-chain", "--checkpoint", str(path))
    assert result.exit_code == 1 and "signature does not verify" in result.output
