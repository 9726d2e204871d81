"""Users: create one, or import many from CSV (all or nothing).

CSV header: username,name,role,unit,community,scope,password
- unit: a unit's code or name (members; a unit-scoped supervisor may use `scope` instead)
- community: a 12-digit community code. Staff: the community they work for. Members: where they
  are registered (报到) — a member given a community gets an active registration there, recorded
  as accepted by the importing admin (the system from the command line without --admin);
  a member without one gets none and shows as unregistered (未报到) on their unit's receipt
- scope: supervisors only — `district`, `town:<9-digit code>` or `unit:<code or name>`
- password: optional; without it a one-time password is generated and returned
"""
import csv
import io
import secrets
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from ..clock import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import ROLES, SYSTEM, Community, Town, Unit, User
from . import registrations
from .tx import write_transaction

CSV_HEADER = ["username", "name", "role", "unit", "community", "scope", "password"]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    generated_passwords: dict[str, str] = field(default_factory=dict)


class RowError(InvalidInput):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}", errors={"line": [line], "reason": [message]})
        self.line = line


def _find_unit(session, ref: str) -> Unit | None:
    return session.scalar(select(Unit).where(or_(Unit.code == ref, Unit.name == ref)))


def _resolve(session, row: dict, fail) -> dict:
    """Check one row and turn references into ids; `fail(message)` raises."""
    username = (row.get("username") or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        fail("username is required, at most 64 characters, without spaces")
    role = (row.get("role") or "").strip()
    if role not in ROLES:
        fail(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    name = (row.get("name") or "").strip() or username
    out = {"username": username, "name": name[:64], "role": role, "unit_id": None, "community_id": None,
           "scope_town_id": None}
    unit_ref = (row.get("unit") or "").strip()
    community_ref = (row.get("community") or "").strip()
    scope = (row.get("scope") or "").strip()
    if unit_ref:
        unit = _find_unit(session, unit_ref)
        if unit is None:
            fail(f"unknown unit {unit_ref!r}")
        out["unit_id"] = unit.id
    if community_ref:
        community = session.scalar(select(Community).where(Community.code == community_ref))
        if community is None:
            fail(f"unknown community code {community_ref!r}")
        out["community_id"] = community.id
    if role == "member" and not out["unit_id"]:
        fail("a member needs a unit")
    if role == "staff" and not out["community_id"]:
        fail("staff need a community")
    if role == "supervisor":
        if scope.startswith("town:"):
            town = session.scalar(select(Town).where(Town.code == scope[5:]))
            if town is None:
                fail(f"unknown town in scope {scope!r}")
            out["scope_town_id"] = town.id
        elif scope.startswith("unit:"):
            unit = _find_unit(session, scope[5:])
            if unit is None:
                fail(f"unknown unit in scope {scope!r}")
            out["unit_id"] = unit.id
        elif scope not in ("", "district"):
            fail("a supervisor's scope is district, town:<code> or unit:<code>")
    elif scope:
        fail("only supervisors have a scope")
    return out


def _place(session, user: User, fields: dict, actor, *, now, source: str, was_member: bool) -> None:
    """A member's community goes through their registration (services/registrations.py): the
    column is the registration's, kept in step by it. Staff and supervisors keep theirs as given."""
    community_id = fields.pop("community_id")
    for key, value in fields.items():
        setattr(user, key, value)
    if user.role != "member":
        user.community_id = community_id
        return
    if not was_member:
        user.community_id = None  # a new member (or one who was staff) is registered nowhere yet
    registrations.register_directly(session, user, community_id, actor, now=now, source=source)


def _actor(session, actor_id: int | None):
    """Who records the registrations an import or a user form makes: that admin, else the system."""
    if actor_id is None:
        return SYSTEM
    actor = session.get(User, actor_id)
    if actor is None or actor.role != "admin":
        raise InvalidInput("only an admin records registrations", errors={"admin": ["Not an admin."]})
    return actor


def create_user(*, username, name, role, password, unit=None, community=None, scope=None,
                actor_id: int | None = None) -> User:
    """One user. A member with a community is registered there at once (accepted by the admin
    `actor_id`, or the system)."""
    with write_transaction() as session:
        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        fields = _resolve(session, {"username": username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or ""}, fail)
        if session.scalar(select(User.id).where(User.username == fields["username"])):
            raise Conflict(f"user {username!r} exists")
        user = User(username=fields["username"], name=fields["name"], role=fields["role"])
        user.set_password(password)
        session.add(user)
        session.flush()
        _place(session, user, fields, _actor(session, actor_id), now=utcnow(),
               source="create-user" if actor_id is None else "admin", was_member=False)
    return user


def parse_csv(text: str) -> list[dict]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != CSV_HEADER:
        raise RowError(1, f"the header must be {','.join(CSV_HEADER)}")
    return list(reader)


def import_users(text: str, *, update: bool = False, progress=None, actor_id: int | None = None) -> ImportResult:
    """Create (or with `update`, also change) the users in a CSV text. One bad row and
    nothing is written: the whole import is one transaction. A member row with a community
    registers the member there (accepted by the admin `actor_id`, or the system); one already
    registered elsewhere is a line-numbered error (end or withdraw that registration first)."""
    rows = parse_csv(text)
    result = ImportResult()
    now = utcnow()
    with write_transaction() as session:
        actor = _actor(session, actor_id)
        seen: set[str] = set()
        for index, row in enumerate(rows):
            line = index + 2  # the header is line 1

            def fail(message, line=line):
                raise RowError(line, message)

            if None in row or any(v is None for v in row.values()):
                fail("wrong number of columns")
            fields = _resolve(session, row, fail)
            if fields["username"] in seen:
                fail(f"username {fields['username']!r} appears twice in the file")
            seen.add(fields["username"])
            user = session.scalar(select(User).where(User.username == fields["username"]))
            if user is not None and not update:
                fail(f"user {fields['username']!r} exists (use --update to change existing users)")
            password = (row.get("password") or "").strip()
            if password and len(password) < 8:
                fail("a password needs at least 8 characters")
            was_member = user is not None and user.role == "member"
            if user is None:
                user = User(username=fields["username"], name=fields["name"], role=fields["role"])
                if not password:
                    password = result.generated_passwords[user.username] = secrets.token_urlsafe(9)
                session.add(user)
                result.created += 1
            else:
                registrations.lock_member(session, user.id)  # their registrations change one at a time
                result.updated += 1
            if password:
                user.set_password(password)
            session.flush()  # the user's id: a registration names it
            try:
                _place(session, user, fields, actor, now=now, source="import", was_member=was_member)
            except InvalidInput as exc:
                fail(exc.message)
            if progress is not None:
                progress(1)
    return result


def update_user(user_id: int, *, name, role, unit=None, community=None, scope=None, password=None,
                actor_id: int | None = None) -> User:
    """Change one user's name, role, unit, community or scope (same rules as create_user);
    a new password only when one is given. For a member, a community registers them there
    when they are registered nowhere; registered elsewhere, it is refused (end or withdraw
    that registration first); left empty, their registration stays as it is."""
    with write_transaction() as session:
        user = registrations.lock_member(session, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")

        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        fields = _resolve(session, {"username": user.username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or ""}, fail)
        _place(session, user, fields, _actor(session, actor_id), now=utcnow(), source="admin",
               was_member=user.role == "member")
        if password:
            if len(password) < 8:
                fail("a password needs at least 8 characters")
            user.set_password(password)
    return user


def set_active(user_id: int, active: bool) -> User:
    """Deactivate (or reactivate) a user: an inactive user cannot log in; their history stays."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        user.active = active
    return user
