"""The household note: personal data, shown only to those who need it, every read logged.

Readers: the claimant while their claim on the task is live, the task community's
staff, and admins. Supervisors audit the process, not the household, and do not read it.

A member could harvest notes: claim, read, withdraw, again (issue 16). So, for members:
- the phone numbers in a note are masked (`138****0000` → `*******0000`); the whole note
  is shown on an explicit tap (`reveal_phone=True`), which is logged as its own read with
  purpose "phone" ("api:phone" over the API);
- a member opens at most `runtime.current().policy.household_reads_per_day` different notes in any
  24 hours (BAODAO_HOUSEHOLD_READS_PER_DAY, default 10), counted from the read log itself.
  Reading a note already opened in that window again is free: a member going back to the
  check-in page is not harvesting;
- claim → note read → withdraw within an hour is an anomaly flag for supervisors
  (services/anomalies.py).
Staff and admins see the whole note (they write it) and are not limited.
"""
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from .. import runtime
from ..clock import utcnow
from ..errors import DomainError, Forbidden, NotFound
from ..models import Claim, HouseholdNote, HouseholdNoteRead, User
from . import scope
from .tx import lock_one, write_transaction

WINDOW = timedelta(days=1)
# A phone number, an ID card or a bank account: seven or more digits, maybe with +, spaces or
# hyphens between them. Building and room numbers, years and counts are shorter.
NUMBER = re.compile(r"\+?\d(?:[ -]?\d){6,}")
SHOWN_DIGITS = 4  # the last digits stay, so a member can tell two numbers apart


class HouseholdReadLimit(DomainError):
    """A member opened as many household notes as a day allows."""

    code = "household_read_limit"
    http_status = 429

    def __init__(self, limit: int, retry_after: int):
        super().__init__(f"you have opened {limit} household notes in the last 24 hours; the limit is {limit}",
                         limit=limit, retry_after=retry_after)
        self.limit = limit
        self.retry_after = retry_after


@dataclass
class NoteView:
    """What one read of the note gives its reader."""

    text: str | None = None  # None: no note, or not this reader's to see
    masked: bool = False  # numbers are hidden; `reveal_phone=True` shows them (a logged read)
    reader: bool = True  # False: the caller may not read this task's note (now)
    limit: HouseholdReadLimit | None = None  # set when a member's daily limit refused the read


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


def mask_numbers(text: str) -> str:
    """Every long number in the text with all but its last digits replaced by *."""
    def mask(match):
        number = match.group()
        keep = len(re.sub(r"\D", "", number)) - SHOWN_DIGITS
        out = []
        for char in number:
            if char.isdigit() and keep > 0:
                out.append("*")
                keep -= 1
            else:
                out.append(char)
        return "".join(out)
    return NUMBER.sub(mask, text)


def _limit_reached(session, actor, task, now) -> HouseholdReadLimit | None:
    """None when this member may open this task's note now, else why not. Counted from the read log:
    the different notes this member read in the last 24 hours; a note among them is free to reread."""
    limit = runtime.current().policy.household_reads_per_day
    since = now - WINDOW
    recent = session.execute(
        select(HouseholdNoteRead.task_id, func.min(HouseholdNoteRead.read_at))
        .where(HouseholdNoteRead.user_id == actor.id, HouseholdNoteRead.read_at > since)
        .group_by(HouseholdNoteRead.task_id)).all()
    if task.id in {task_id for task_id, _ in recent} or len(recent) < limit:
        return None
    # The wait: until enough of the window's first reads fall out of it that one more fits.
    firsts = sorted(first for _, first in recent)
    frees_at = firsts[len(recent) - limit] + WINDOW
    return HouseholdReadLimit(limit, retry_after=max(1, int((frees_at - now).total_seconds()) + 1))


def open_household_note(actor, task, *, purpose: str = "", request_id: str | None = None,
                        reveal_phone: bool = False, now=None) -> NoteView:
    """Read the note for `actor`: the text a permitted reader may see now, the read logged."""
    now = now or utcnow()
    with write_transaction() as session:
        if not may_read(session, actor, task):
            return NoteView(reader=False)
        note = session.get(HouseholdNote, task.id)
        if note is None or note.erased_at is not None:  # (erased under the retention rules: nothing to read)
            return NoteView()
        member = actor.role == "member"
        if member:
            lock_one(session, User, actor.id)  # one member's reads count one after another
            refused = _limit_reached(session, actor, task, now)
            if refused is not None:
                return NoteView(limit=refused)
        session.add(HouseholdNoteRead(task_id=task.id, user_id=actor.id, role=actor.role, purpose=purpose[:64],
                                      request_id=request_id, read_at=now))
        if member and not reveal_phone:
            shown = mask_numbers(note.note)
            return NoteView(text=shown, masked=shown != note.note)
        return NoteView(text=note.note)


def read_household_note(actor, task, *, purpose: str = "", request_id: str | None = None, now=None) -> str | None:
    """The note's text for a permitted reader (members: numbers masked), the read logged; else None."""
    return open_household_note(actor, task, purpose=purpose, request_id=request_id, now=now).text


def reveal_household_note(actor, task, *, purpose: str = "phone", request_id: str | None = None) -> str:
    """The whole note, numbers shown, on the reader's explicit request (logged with `purpose`).
    Forbidden for someone who may not read it, NotFound without a note, HouseholdReadLimit past a
    member's daily limit."""
    view = open_household_note(actor, task, purpose=purpose, request_id=request_id, reveal_phone=True)
    if not view.reader:
        raise Forbidden("the household note is only for the claimant while the claim is live, the "
                        "community's staff and admins")
    if view.limit is not None:
        raise view.limit
    if view.text is None:
        raise NotFound(f"task {task.id} has no household note")
    return view.text
