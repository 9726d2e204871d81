"""Whose name a reader may see: one rule for the pages, the API and the exports (issue 16).

A member's name is personal data, and a member's work is seen only within scope
(`scope.claim_filter`). But events name their actor, and some events are on a subject the
reader may see while their actor is outside the reader's scope: a task's `fill` and `reopen`
are done by the member whose claim filled or freed the last slot — any unit's member, on a
published task every unit supervisor may open. So names on events pass through here:

- the reader's own name, and every name for admins and district supervisors: shown;
- a member's name: shown when the reader may see at least one claim of that member — staff
  see the members who claimed their community's tasks, a town supervisor those who claimed in
  the town, a unit supervisor the members of the unit (claims carry the unit of claim time),
  a member only themself;
- anyone else who is a member: their role instead — "另一单位的党员" ("a member of another
  unit") for a unit supervisor, "其他党员" ("another member") for other readers;
- staff, supervisors and admins act in an office: their names on events are shown to anyone
  who may see the event (who approved a report is part of the audit, not private data).
"""
from collections.abc import Iterable

from sqlalchemy import select

from ..models import Claim, User
from . import scope

# What stands for a hidden member, by the reader's kind. Pages pass their own, translated.
LABELS = {"other_unit": "另一单位的党员", "other": "其他党员"}


def sees_everyone(reader) -> bool:
    return reader.role in ("admin", "system") or (
        reader.role == "supervisor" and not reader.scope_town_id and not reader.unit_id)


def hidden_label(reader, labels: dict | None = None) -> str:
    labels = labels or LABELS
    unit_scoped = reader.role == "supervisor" and reader.unit_id and not reader.scope_town_id
    return labels["other_unit" if unit_scoped else "other"]


class ShownNames:
    """A reader's view of people's names: looked up in bulk, remembered for a long export.

    `names.lookup(ids)` before reading `names[id]` (a name, or the role label) and
    `names.hidden(id)`. Ids of nobody (the system) are not here; callers show "system"."""

    def __init__(self, session, reader, labels: dict | None = None):
        self.session, self.reader = session, reader
        self.label = hidden_label(reader, labels)
        self._shown: dict[int, str] = {}
        self._hidden: set[int] = set()

    def lookup(self, ids: Iterable[int | None]) -> "ShownNames":
        wanted = {i for i in ids if i is not None} - set(self._shown) - self._hidden
        if not wanted:
            return self
        people = self.session.execute(select(User.id, User.name, User.role).where(User.id.in_(wanted))).all()
        members = {i for i, _, role in people if role == "member" and i != self.reader.id}
        if members and not sees_everyone(self.reader):
            visible = set(self.session.scalars(
                select(Claim.member_id).where(Claim.member_id.in_(members), scope.claim_filter(self.reader))
                .distinct()))
            self._hidden |= members - visible
        for ident, name, _ in people:
            if ident not in self._hidden:
                self._shown[ident] = name
        return self

    def hidden(self, ident: int | None) -> bool:
        return ident in self._hidden

    def __getitem__(self, ident: int) -> str:
        return self.label if ident in self._hidden else self._shown[ident]

    def get(self, ident: int | None, default: str | None = None) -> str | None:
        if ident in self._hidden:
            return self.label
        return self._shown.get(ident, default)


def visible_names(session, reader, ids: Iterable[int | None], *, labels: dict | None = None) -> ShownNames:
    """The names (or role labels) of `ids` as `reader` may see them."""
    return ShownNames(session, reader, labels).lookup(ids)


def visible_person_name(session, reader, user) -> str:
    """One person's name as `reader` may see it."""
    return visible_names(session, reader, [user.id])[user.id]
