"""A claim keeps the definition version it started under; a new version is new data, not code."""
import pytest
from sqlalchemy import select

from workflow import runtime
from workflow.errors import InvalidInput, TransitionNotAllowed
from workflow.models import AuditEvent
from workflow.services import claims
from workflow.services.uploads import save_upload
from tests.images import jpeg_bytes


def test_v1_claim_stays_v1_after_v2_becomes_active(world, session):
    old = claims.start_claim(world.task().id, world.member)
    runtime.current().configure_claim_process("dual_reporting@2")
    new = claims.start_claim(world.task().id, world.member)
    assert old.definition_key == ("dual_reporting", 1)
    assert new.definition_key == ("dual_reporting", 2)

    # the old claim still reports after one visit (v1) ...
    claims.fire(old.id, "check_in", world.member, {"note": "一次走访"})
    assert claims.fire(old.id, "submit_report", world.member, {"summary": "s", "hours": 1}).state == "reported"
    # ... the new one needs two (v2), and says so
    claims.fire(new.id, "check_in", world.member, {"note": "第一次"})
    assert "submit_report" not in claims.allowed_triggers(session, world.member, new)
    with pytest.raises(TransitionNotAllowed) as exc:
        claims.fire(new.id, "submit_report", world.member, {"summary": "s", "hours": 1})
    assert exc.value.reason == "min_visits" and "at least 2 visit" in exc.value.message
    claims.fire(new.id, "check_in", world.member, {"note": "第二次"})
    assert claims.fire(new.id, "submit_report", world.member, {"summary": "s", "hours": 1}).state == "reported"

    definitions = session.scalars(
        select(AuditEvent.definition).where(AuditEvent.subject_type == "claim", AuditEvent.subject_id == new.id)
    ).all()
    assert set(definitions) == {"dual_reporting@2"}


def test_v2_requires_a_photo_only_for_clean_up_tasks(world, app):
    runtime.current().configure_claim_process("dual_reporting@2")
    cleanup = claims.start_claim(world.task(category="环境整治").id, world.member)
    with pytest.raises(InvalidInput) as exc:
        claims.fire(cleanup.id, "check_in", world.member, {"note": "清理楼道"})
    assert exc.value.errors == {"photos": ["Required for 环境整治 tasks."]}
    photo = save_upload(world.member, jpeg_bytes(), app.config["BAODAO_UPLOAD_DIR"])
    assert claims.fire(cleanup.id, "check_in", world.member, {"note": "清理楼道", "photos": [photo.id]}).state == "visiting"

    wish = claims.start_claim(world.task(category="微心愿").id, world.member)
    assert claims.fire(wish.id, "check_in", world.member, {"note": "送米面油"}).state == "visiting"
