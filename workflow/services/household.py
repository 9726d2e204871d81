"""The household note: personal data, shown only to those who need it, every read logged.

Readers: the claimant while their claim on the task is live, the task community's
staff, and admins. Supervisors audit the process, not the household, and do not read it.
"""
from sqlalchemy import select

from ..clock import utcnow
from .. import runtime
from ..models import Claim, HouseholdNote, HouseholdNoteRead
from . import scope
from .tx import write_transaction


def may_read(session, actor, task) -> bool:
    if actor.role == "admin" or scope.is_community_staff(actor, task):
        return True
    if actor.role == "member":
        return session.scalar(
            select(Claim.id).where(Claim.task_id == task.id, Claim.member_id == actor.id,
                                   Claim.state.in_(runtime.registry().live_states("claim"))).limit(1)
        ) is not None
    return False


def erased_at(session, actor, task):
    """When the task's note was erased under the retention rules, for those who may read it
    (None otherwise, and for a note that was never erased)."""
    if not may_read(session, actor, task):
        return None
    return session.scalar(select(HouseholdNote.erased_at).where(HouseholdNote.task_id == task.id))


def read_household_note(actor, task, *, purpose: str = "", request_id: str | None = None) -> str | None:
    """The note's text for a permitted reader (and the read logged), else None."""
    with write_transaction() as session:
        if not may_read(session, actor, task):
            return None
        note = session.get(HouseholdNote, task.id)
        if note is None or note.erased_at is not None:  # erased under the retention rules: nothing to read
            return None
        session.add(HouseholdNoteRead(task_id=task.id, user_id=actor.id, role=actor.role, purpose=purpose[:64],
                                      request_id=request_id, read_at=utcnow()))
        return note.note
