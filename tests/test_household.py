"""The household note: only the live claimant, the community's staff and admins; every read logged."""
from sqlalchemy import select

from workflow.models import AuditEvent, HouseholdNoteRead
from workflow.services import claims, household

NOTE = "王大爷，电话 13800000000，3号楼2单元"


def test_who_may_read_the_note(world, session):
    task = world.task(household_note=NOTE)
    assert household.read_household_note(world.member, task) is None  # no claim yet
    claim = claims.start_claim(task.id, world.member)
    # a member sees the numbers masked; the whole note takes an explicit, logged reveal (issue 16)
    assert household.read_household_note(world.member, task, purpose="check_in") == "王大爷，电话 *******0000，3号楼2单元"
    assert household.read_household_note(world.member2, task) is None
    assert household.read_household_note(world.staff, task) == NOTE
    assert household.read_household_note(world.staff_b, task) is None
    assert household.read_household_note(world.admin, task) == NOTE
    for supervisor in (world.supervisor, world.supervisor_town, world.supervisor_unit):
        assert household.read_household_note(supervisor, task) is None
    claims.fire(claim.id, "withdraw", world.member, {})
    assert household.read_household_note(world.member, task) is None  # not after the claim ends

    reads = session.scalars(select(HouseholdNoteRead).order_by(HouseholdNoteRead.id)).all()
    assert [(r.user_id, r.task_id) for r in reads] == [
        (world.member.id, task.id), (world.staff.id, task.id), (world.admin.id, task.id)]
    assert reads[0].purpose == "check_in"


def test_the_note_never_enters_the_audit_log(world, session):
    from workflow.services import tasks

    task = world.task(household_note=NOTE)
    tasks.edit_task(task.id, world.staff, {"household_note": "李奶奶，电话 13900000000"})
    payloads = session.scalars(select(AuditEvent.payload).where(AuditEvent.subject_type == "task")).all()
    assert payloads and not any("电话" in str(p) for p in payloads)
    assert payloads[0]["household_note_changed"] is True
