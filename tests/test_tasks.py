"""Tasks: staff manage their community's tasks; every change is on the task's chain."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from workflow.clock import utcnow
from workflow.errors import Forbidden, InvalidInput, NotFound, StaleVersion, TransitionNotAllowed
from workflow.models import AuditEvent, HouseholdNote, Task
from workflow.services import claims
from workflow.services import tasks as task_service


def chain(session, task_id):
    return session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "task", AuditEvent.subject_id == task_id)
                           .order_by(AuditEvent.seq)).all()


def test_create_edit_publish_close(world, session):
    task = world.task(publish=False, grid=world.grid_a.id)
    assert (task.status, task.version, task.community_id, task.grid_id) == ("draft", 1, world.a.id, world.grid_a.id)
    edited = task_service.edit_task(task.id, world.staff, {"title": "新标题", "capacity": 4}, expected_version=1)
    assert (edited.title, edited.capacity, edited.version) == ("新标题", 4, 2)
    with pytest.raises(StaleVersion):
        task_service.edit_task(task.id, world.staff, {"title": "x"}, expected_version=1)
    task_service.publish_task(task.id, world.staff)
    task_service.close_task(task.id, world.staff)
    assert [e.trigger for e in chain(session, task.id)] == ["create", "edit", "publish", "close"]
    assert chain(session, task.id)[1].payload == {"title": "新标题", "capacity": 4}
    with pytest.raises(TransitionNotAllowed) as exc:
        task_service.publish_task(task.id, world.staff)
    assert exc.value.allowed_triggers == ["cancel"]
    with pytest.raises(TransitionNotAllowed):
        task_service.edit_task(task.id, world.staff, {"title": "x"})


def test_task_input_is_validated(world):
    good = {"title": "t", "category": "微心愿", "capacity": 1, "deadline": (utcnow() + timedelta(days=1)).isoformat()}
    cases = [({**good, "category": "打卡"}, "category"), ({**good, "capacity": 0}, "capacity"),
             ({**good, "capacity": "3"}, "capacity"), ({**good, "title": " "}, "title"),
             ({**good, "deadline": "tomorrow"}, "deadline"),
             ({**good, "deadline": (utcnow() - timedelta(days=1)).isoformat()}, "deadline"),
             ({**good, "points": -5}, "points"), ({**good, "grid": 999}, "grid"), ({**good, "owner": 1}, "owner")]
    for data, field in cases:
        with pytest.raises(InvalidInput) as exc:
            task_service.create_task(world.staff, data)
        assert field in exc.value.errors, (data, exc.value.errors)


def test_capacity_cannot_drop_below_claims_and_a_raise_reopens(world, session):
    task = world.task(capacity=2)
    claims.start_claim(task.id, world.member)
    claims.start_claim(task.id, world.member2)
    assert session.get(Task, task.id).status == "full"
    with pytest.raises(InvalidInput) as exc:
        task_service.edit_task(task.id, world.staff, {"capacity": 1})
    assert "capacity" in exc.value.errors
    reopened = task_service.edit_task(task.id, world.staff, {"capacity": 3})
    assert (reopened.status, reopened.slots_taken) == ("open", 2)


def test_household_note_can_be_changed_and_removed(world, session):
    task = world.task()
    task_service.edit_task(task.id, world.staff, {"household_note": "新的住户信息"})
    assert session.get(HouseholdNote, task.id).note == "新的住户信息"
    task_service.edit_task(task.id, world.staff, {"household_note": None})
    assert session.get(HouseholdNote, task.id) is None


def test_who_manages_tasks(world):
    task = world.task()
    with pytest.raises(Forbidden):
        task_service.create_task(world.member, {})
    with pytest.raises(Forbidden):
        task_service.publish_task(task.id, world.supervisor)
    with pytest.raises(NotFound):
        task_service.edit_task(task.id, world.staff_b, {"title": "x"})
    with pytest.raises(InvalidInput):  # an admin names the community
        task_service.create_task(world.admin, {"title": "t", "category": "微心愿", "capacity": 1,
                                               "deadline": (utcnow() + timedelta(days=1)).isoformat()})
    made = task_service.create_task(world.admin, {"title": "t", "category": "微心愿", "capacity": 1,
                                                  "deadline": (utcnow() + timedelta(days=1)).isoformat()},
                                    community_id=world.b.id)
    assert made.community_id == world.b.id


def test_visibility_of_drafts(world, session):
    draft = world.task(publish=False)
    assert task_service.get_task(session, world.staff, draft.id).id == draft.id
    assert task_service.get_task(session, world.admin, draft.id).id == draft.id
    assert task_service.get_task(session, world.supervisor_town, draft.id).id == draft.id
    for outsider in (world.member, world.staff_b, world.supervisor_unit, world.supervisor_other_town):
        with pytest.raises(NotFound):
            task_service.get_task(session, outsider, draft.id)
