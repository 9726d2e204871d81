"""One engine for every process: the task lifecycle is a definition, a trigger added to a
definition file reaches the API and the pages with no code change, each app has its own
settings, slots count every version's live states, and request ids are bounded."""
import re

import pytest
from sqlalchemy import select

from api import create_app
from tests.conftest import TEST_DEFINITIONS
from tests.pages.conftest import Browser
from workflow import audit, runtime
from workflow.errors import TransitionNotAllowed
from workflow.extensions import db
from workflow.models import AuditEvent, Claim, Task
from workflow.services import claims
from workflow.services import tasks as task_service
from workflow.services.event_input import read_inputs

WITH_HOLD = pytest.mark.app_config(BAODAO_DEFINITIONS_DIRS=[TEST_DEFINITIONS], BAODAO_WORKFLOW="dual_reporting@3")


def task_events(session, task_id):
    return session.execute(select(AuditEvent.trigger, AuditEvent.from_state, AuditEvent.to_state,
                                  AuditEvent.definition)
                           .where(AuditEvent.subject_type == "task", AuditEvent.subject_id == task_id)
                           .order_by(AuditEvent.seq)).all()


def test_the_task_definition_drives_publish_fill_reopen_close_and_cancel(world, session):
    task = world.task(capacity=1, publish=False)
    assert task.definition_name == "task" and task.definition_version == 1
    task_service.publish_task(task.id, world.staff)
    first = claims.start_claim(task.id, world.member)  # the last place: the task fills by its own trigger
    assert session.get(Task, task.id).status == "full"
    with pytest.raises(TransitionNotAllowed) as refused:
        claims.start_claim(task.id, world.member2)
    assert refused.value.reason == "free_slot"
    claims.fire(first.id, "withdraw", world.member, {})  # a place frees: it reopens
    assert session.get(Task, task.id).status == "open"
    second = claims.start_claim(task.id, world.member2)
    task_service.close_task(task.id, world.staff)
    result = task_service.cancel_task(task.id, world.staff, {"reason": "活动取消"})
    assert result.status == "cancelled" and result.allowed_triggers == []
    assert session.get(Claim, second.id).state == "cancelled"  # its claims with it, each by its own trigger

    events = task_events(session, task.id)
    assert [e.trigger for e in events] == ["create", "publish", "fill", "reopen", "fill", "close", "cancel"]
    assert {e.definition for e in events} == {"task@1"}
    assert events[2][1:3] == ("open", "full") and events[3][1:3] == ("full", "open")
    cancel = session.scalar(select(AuditEvent).where(AuditEvent.subject_type == "claim",
                                                     AuditEvent.subject_id == second.id,
                                                     AuditEvent.trigger == "cancel"))
    # the reason is personal (it may name people): hashed as a digest, its value kept apart
    assert cancel.payload["reason"].keys() == {"personal"} and cancel.actor_id == world.staff.id
    assert read_inputs(session, [cancel])[cancel.id].input == {"reason": "活动取消"}
    assert audit.verify(session).ok


def test_task_triggers_follow_the_definition_on_the_api(app, world):
    from tests.api.api_helpers import ApiClient

    api = ApiClient(app)
    task = world.task(publish=False)
    seen = api.get(f"/api/v1/tasks/{task.id}", world.staff).get_json()
    assert seen["allowed_triggers"] == ["publish", "cancel"] and seen["definition"] == {"name": "task",
                                                                                          "version": 1}
    assert api.post(f"/api/v1/tasks/{task.id}/close", world.staff).status_code == 409
    published = api.post(f"/api/v1/tasks/{task.id}/publish", world.staff)
    assert published.status_code == 200 and published.get_json()["status"] == "open"
    assert published.get_json()["allowed_triggers"] == ["close", "cancel"]
    assert api.post(f"/api/v1/tasks/{task.id}/fill", world.staff).status_code == 404  # internal: no route
    missing = api.post(f"/api/v1/tasks/{task.id}/cancel", world.staff, json={})
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]["json"]
    assert api.post(f"/api/v1/tasks/{task.id}/publish", world.member).status_code == 403
    assert api.post(f"/api/v1/tasks/{task.id}/publish", world.staff_b).status_code == 404


@WITH_HOLD
def test_a_trigger_added_to_a_definition_reaches_the_api_and_its_description(app, world, session):
    from tests.api.api_helpers import ApiClient

    api = ApiClient(app)
    task = world.task()
    created = api.post(f"/api/v1/tasks/{task.id}/claims", world.member)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["definition"] == {"name": "dual_reporting", "version": 3} and "hold" in body["allowed_triggers"]
    refused = api.post(f"/api/v1/claims/{body['id']}/hold", world.member, json={"hold_reason": " "})
    assert refused.status_code == 422 and "hold_reason" in refused.get_json()["errors"]["json"]
    held = api.post(f"/api/v1/claims/{body['id']}/hold", world.member, json={"hold_reason": "住户外出"},
                    headers={"If-Match": body["etag"]})
    assert held.status_code == 200, held.get_json()
    assert held.get_json()["state"] == "on_hold" and held.get_json()["allowed_triggers"] == ["check_in", "withdraw"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.subject_id == body["id"],
                                                    AuditEvent.trigger == "hold"))
    assert event.payload == {"hold_reason": "住户外出"} and event.definition == "dual_reporting@3"

    spec = api.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/claims/{claim_id}/hold"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    field = spec["components"]["schemas"][ref]["properties"]["hold_reason"]
    assert field["title"] == "暂缓原因" and "Why it waits" in field["description"] and field["maxLength"] == 200
    assert spec["components"]["schemas"][ref]["required"] == ["hold_reason"]


@WITH_HOLD
def test_a_trigger_added_to_a_definition_reaches_the_pages(app, world, session):
    task = world.task()
    claim = claims.start_claim(task.id, world.member)
    member = Browser(app)
    member.login(world.member.username)
    page = member.get(f"/claims/{claim.id}").get_data(as_text=True)
    # its action, in its words: a short form right on the claim's page, its input named after the field
    assert f'action="/claims/{claim.id}/hold' in page and "暂缓走访" in page
    assert re.search(r'<textarea[^>]*id="hold-%d-hold_reason"[^>]*name="hold_reason"' % claim.id, page)
    form = member.get(f"/claims/{claim.id}/hold").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="hold_reason"', form) and 'maxlength="200"' in form
    assert "暂缓原因" in form and "住户外出，下周再去" in form  # label and help
    empty = member.post(f"/claims/{claim.id}/hold", {"hold_reason": ""})
    assert empty.status_code == 422 and "此项为必填项" in empty.get_data(as_text=True)
    done = member.post(f"/claims/{claim.id}/hold", {"hold_reason": "住户外出"})
    assert done.status_code == 302
    assert "已暂缓" in member.get(f"/claims/{claim.id}").get_data(as_text=True)
    session.expire_all()
    assert session.get(Claim, claim.id).state == "on_hold"
    english = member.get(f"/claims/{claim.id}?lang=en").get_data(as_text=True)
    assert "On hold" in english


@WITH_HOLD
def test_a_claim_on_hold_keeps_its_slot_when_a_version_1_claim_recounts(world, session):
    """The slot count reads the live states of every loaded claim definition: `on_hold` exists
    only in version 3, yet a version-1 claim's withdraw must count it."""
    task = world.task(capacity=2)
    held = claims.start_claim(task.id, world.member)  # under v3, the active version here
    claims.fire(held.id, "hold", world.member, {"hold_reason": "下周再去"})
    runtime.current().configure_claim_process("dual_reporting@1")
    other = claims.start_claim(task.id, world.member2)
    assert other.definition_version == 1
    assert session.get(Task, task.id).status == "full"
    claims.fire(other.id, "withdraw", world.member2, {})  # a v1 claim recounts the task
    fresh = session.get(Task, task.id)
    assert (fresh.slots_taken, fresh.status) == (1, "open")
    third = claims.start_claim(task.id, world.member3)
    assert session.get(Task, task.id).status == "full"
    with pytest.raises(TransitionNotAllowed):
        claims.start_claim(task.id, world.member2)
    assert {third.state, session.get(Claim, held.id).state} == {"claimed", "on_hold"}


def test_two_apps_in_one_process_each_see_their_own_settings(app, tmp_path):
    base = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
            "SECRET_KEY": "test"}
    plain = create_app({**base, "BAODAO_UPLOAD_DIR": str(tmp_path / "a"), "BAODAO_OPEN_CLAIM_LIMIT": 2})
    other = create_app({**base, "BAODAO_UPLOAD_DIR": str(tmp_path / "b"), "BAODAO_OPEN_CLAIM_LIMIT": 7,
                        "BAODAO_DEFINITIONS_DIRS": [TEST_DEFINITIONS],
                        "BAODAO_WORKFLOWS": "dual_reporting@3,task@1"})
    seen = {}
    for name, each in (("plain", plain), ("other", other)):
        with each.app_context():
            rt = runtime.current()
            seen[name] = (rt.policy.settings.open_claim_limit, rt.active("claim").definition.label,
                          rt.registry.versions("dual_reporting"),
                          any(r.rule.endswith("/hold") for r in each.url_map.iter_rules()))
            db.engine.dispose()
    assert seen["plain"] == (2, "dual_reporting@1", [1, 2], False)
    assert seen["other"] == (7, "dual_reporting@3", [1, 2, 3], True)
    with app.app_context():
        assert runtime.current().policy.settings.open_claim_limit == 5  # the test's own app is untouched


def test_naming_two_versions_of_one_process_stops_start_up(app):
    from workflow.errors import DefinitionError

    with pytest.raises(DefinitionError, match="two versions named for one process"):
        create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                    "SECRET_KEY": "test", "BAODAO_WORKFLOW": "dual_reporting@1",
                    "BAODAO_WORKFLOWS": "dual_reporting@2"})
    with pytest.raises(DefinitionError, match="not loaded"):
        create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                    "SECRET_KEY": "test", "BAODAO_WORKFLOWS": "task@9"})


LONG_ID = "r" * 120
CHINESE_ID = "请求-编号-一二三"


@pytest.mark.parametrize("sent", [LONG_ID, CHINESE_ID, "x\ty"])
def test_a_long_or_non_ascii_request_id_on_a_page_post_is_replaced(app, world, session, sent):
    claim = claims.start_claim(world.task().id, world.member)
    member = Browser(app)
    member.login(world.member.username)
    member.get(f"/claims/{claim.id}/check_in")
    response = member.post(f"/claims/{claim.id}/check_in", {"note": "走访"}, headers={"X-Request-ID": sent})
    assert response.status_code == 302
    stored = session.scalar(select(AuditEvent.request_id).where(AuditEvent.subject_id == claim.id,
                                                                AuditEvent.trigger == "check_in"))
    assert stored and stored != sent and len(stored) <= 64 and stored.isascii()


@pytest.mark.parametrize("sent", [LONG_ID, CHINESE_ID])
def test_a_long_or_non_ascii_request_id_on_an_api_post_is_replaced(app, world, session, sent):
    from tests.api.api_helpers import ApiClient

    api = ApiClient(app)
    claim = claims.start_claim(world.task().id, world.member)
    response = api.post(f"/api/v1/claims/{claim.id}/check_in", world.member, json={"note": "走访"},
                        headers={"X-Request-ID": sent})
    assert response.status_code == 200
    echoed = response.headers["X-Request-ID"]
    assert echoed != sent and len(echoed) <= 64
    stored = session.scalar(select(AuditEvent.request_id).where(AuditEvent.subject_id == claim.id,
                                                                AuditEvent.trigger == "check_in"))
    assert stored == echoed


def test_a_well_formed_request_id_is_kept_on_pages_too(app, world, session):
    claim = claims.start_claim(world.task().id, world.member)
    member = Browser(app)
    member.login(world.member.username)
    member.get(f"/claims/{claim.id}/check_in")
    member.post(f"/claims/{claim.id}/check_in", {"note": "走访"}, headers={"X-Request-ID": "phone-42 retry"})
    assert session.scalar(select(AuditEvent.request_id).where(AuditEvent.subject_id == claim.id,
                                                              AuditEvent.trigger == "check_in")) == "phone-42 retry"


def test_the_workflow_package_never_reads_a_flask_request():
    """workflow/ may use the app's configuration (runtime.current()), never a request."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "workflow"
    offenders = [str(p) for p in root.rglob("*.py")
                 if re.search(r"from flask import .*\b(request|g|session)\b|import api\b|from api\b", p.read_text())]
    assert offenders == []
