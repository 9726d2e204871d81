"""Users: create one, or import many from CSV (all or nothing).

CSV header: username,name,role,unit,community,scope,password
- unit: a unit's code or name (members; liaisons: the unit they act for; a unit-scoped supervisor
  may use `scope` instead)
- community: a 12-digit community code. Staff: the community they work for. Members: where they
  are registered (报到) — a member given a community gets an active registration there, recorded
  as accepted by the importing admin (the system from the command line without --admin);
  a member without one gets none and shows as unregistered (未报到) on their unit's receipt
- scope: supervisors only — `district`, `town:<9-digit code>` or `unit:<code or name>`
- password: optional; without it a one-time password is generated and returned
- email: an optional last column (header `…,password,email`): where e-mail notifications go

Identity rules (workflow/identity.py) hold on every path: usernames of letters, digits and
`._-@`, unique without regard to case; passwords of at least 10 characters that are not weak,
common or made of the username. Every change is also an event on the acting administrator's
security-log chain (services/security_log.py), in the same transaction.

A password reset, a role or scope change and deactivation end every API token and page
session of the user at once (issue 16): whoever held them must log in again under the new
password or rights.
"""
import csv
import io
import secrets
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select

from .. import identity
from ..clock import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import ROLES, SYSTEM, ApiToken, Community, Town, Unit, User
from . import registrations, security_log
from .tx import write_transaction

CSV_HEADER = ["username", "name", "role", "unit", "community", "scope", "password"]
CSV_OPTIONAL = ["email"]  # may follow the required columns


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    generated_passwords: dict[str, str] = field(default_factory=dict)


class RowError(InvalidInput):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}", errors={"line": [line], "reason": [message]})
        self.line = line


class ImportErrors(InvalidInput):
    """Every bad line of an import file (nothing was written). `lines` maps line → messages."""

    def __init__(self, lines: dict[int, list[str]]):
        text = "\n".join(f"line {line}: {message}" for line, messages in sorted(lines.items())
                         for message in messages)
        super().__init__(text, errors={"lines": {str(k): v for k, v in sorted(lines.items())}})
        self.lines = lines


# What, of a user, is their role and scope: changing any of it ends their sessions.
RIGHTS_FIELDS = ("role", "unit_id", "community_id", "scope_town_id")
SCOPE_FIELDS = ("unit_id", "community_id", "scope_town_id")


def end_sessions(session, user_id: int, *, now=None) -> int:
    """Revoke every live API token and page session of a user, inside the caller's transaction.
    Returns how many were live."""
    result = session.execute(ApiToken.__table__.update()
                             .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow()))
    return result.rowcount


def _username_taken(session, name: str, *, other_than: int | None = None) -> bool:
    query = select(User.id).where(User.username_key == identity.username_key(name))
    if other_than is not None:
        query = query.where(User.id != other_than)
    return session.scalar(query) is not None


def _find_unit(session, ref: str) -> Unit | None:
    return session.scalar(select(Unit).where(or_(Unit.code == ref, Unit.name == ref)))


def clean_email(value, fail) -> str | None:
    """An e-mail address in its normalised form, None for none; `fail(message)` for a bad one.
    Syntax only, and intranet mail domains (without a dot) allowed: whether the mailbox exists
    shows when mail is delivered (the admins' outbox page)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False, globally_deliverable=False).normalized[:254]
    except EmailNotValidError as exc:
        fail(f"not a valid e-mail address: {exc}")


def _resolve(session, row: dict, fail, *, check_username: bool = True) -> dict:
    """Check one row and turn references into ids; `fail(message)` raises. (An existing user's
    username is kept as it is: `check_username=False`.)"""
    username = identity.normalise_username(row.get("username")) if check_username else row["username"]
    problems = identity.username_problems(username) if check_username else []
    if problems:
        fail("; ".join(p.message for p in problems))
    role = (row.get("role") or "").strip()
    if role not in ROLES:
        fail(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    name = (row.get("name") or "").strip() or username
    out = {"username": username, "name": name[:64], "role": role, "unit_id": None, "community_id": None,
           "scope_town_id": None}
    if "email" in row:  # a column of its own: a file without it leaves addresses as they are
        out["email"] = clean_email(row.get("email"), fail)
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
    if role == "liaison":  # acts for one unit (its pairings, resources, projects, receipt report)
        if not out["unit_id"]:
            fail("a liaison needs a unit")
        if out["community_id"]:
            fail("a liaison acts for a unit and has no community")
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
    """Set the user's fields. A member's community goes through their registration
    (services/registrations.py): the column is the registration's, kept in step by it. Staff and
    supervisors keep theirs as given."""
    fields = dict(fields)
    community_id = fields.pop("community_id")
    for key, value in fields.items():
        setattr(user, key, value)
    if user.role != "member":
        user.community_id = community_id
        return
    if not was_member:
        user.community_id = None  # a new member (or one who was staff) is registered nowhere yet
    registrations.register_directly(session, user, community_id, actor, now=now, source=source)


def _registrar(actor):
    """Who records the registrations an import or a user form makes: that admin, else the system."""
    if actor is None:
        return SYSTEM
    if actor.role not in ("admin", "system"):
        raise InvalidInput("only an admin records registrations", errors={"admin": ["Not an admin."]})
    return actor


def create_user(*, username, name, role, password, unit=None, community=None, scope=None, actor=None,
                request_id=None, email=None) -> User:
    """One user. `actor` is the administrator (None: the command line); the password must
    pass the identity rules. A member with a community is registered there at once (accepted
    by the administrator, or the system)."""
    with write_transaction() as session:
        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        username = identity.check_username(username)
        fields = _resolve(session, {"username": username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or "", "email": email}, fail)
        if _username_taken(session, fields["username"]):
            raise Conflict(f"user {username!r} exists (usernames are compared without regard to case)",
                           field="username")
        identity.check_password(password, username=fields["username"], name=fields["name"])
        user = User(username=fields["username"], name=fields["name"], role=fields["role"])
        user.set_password(password)
        session.add(user)
        session.flush()
        _place(session, user, fields, _registrar(actor), now=utcnow(),
               source="create-user" if actor is None else "admin", was_member=False)
        security_log.record(session, actor or SYSTEM, "create_user", target=user,
                            details={"role": user.role, **_scope_of(user)}, request_id=request_id)
    return user


def _scope_of(user: User) -> dict:
    return {"unit_id": user.unit_id, "community_id": user.community_id, "scope_town_id": user.scope_town_id}


def parse_csv(text: str) -> list[dict]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    names = [f.strip() for f in reader.fieldnames] if reader.fieldnames is not None else None
    if names is None or names[:len(CSV_HEADER)] != CSV_HEADER or names[len(CSV_HEADER):] not in ([], CSV_OPTIONAL):
        raise RowError(1, f"the header must be {','.join(CSV_HEADER)} (optionally followed by ,email)")
    return [{key.strip(): value for key, value in row.items()} if None not in row else row for row in reader]


def import_users(text: str, *, update: bool = False, progress=None, actor=None, request_id=None) -> ImportResult:
    """Create (or with `update`, also change) the users in a CSV text. All or nothing: every bad
    line is reported (ImportErrors) and then nothing is written — one transaction. A member row
    with a community registers the member there (accepted by the admin `actor`, or the system);
    one already registered elsewhere is a bad line (end or withdraw that registration first)."""
    rows = parse_csv(text)
    result = ImportResult()
    bad: dict[int, list[str]] = {}
    created, updated = [], []
    now = utcnow()
    with write_transaction() as session:
        registrar = _registrar(actor)
        seen: set[str] = set()
        for index, row in enumerate(rows):
            line = index + 2  # the header is line 1
            try:
                user, is_new = _import_row(session, row, line, update=update, seen=seen, result=result,
                                           registrar=registrar, now=now)
            except RowError as exc:
                bad.setdefault(line, []).append(exc.errors["reason"][0])
                if progress is not None:
                    progress(1)
                continue
            (created if is_new else updated).append(user)
            if progress is not None:
                progress(1)
        if bad:
            raise ImportErrors(bad)
        session.flush()
        security_log.record(session, actor or SYSTEM, "import_users", request_id=request_id, details={
            "created": [u.username for u in created], "updated": [u.username for u in updated],
            "passwords_generated": len(result.generated_passwords), "update": update})
    return result


def _import_row(session, row: dict, line: int, *, update: bool, seen: set, result: ImportResult,
                registrar, now) -> tuple[User, bool]:
    """Check one CSV row and apply it to the session: (the user, whether it is new); RowError when bad."""
    def fail(message):
        raise RowError(line, message)

    if None in row or any(v is None for v in row.values()):
        fail("wrong number of columns")
    fields = _resolve(session, row, fail)
    key = identity.username_key(fields["username"])
    if key in seen:
        fail(f"username {fields['username']!r} appears twice in the file (without regard to case)")
    seen.add(key)
    user = session.scalar(select(User).where(User.username_key == key))
    if user is not None and not update:
        fail(f"user {fields['username']!r} exists (use --update to change existing users)")
    password = (row.get("password") or "").strip()
    if password:
        problems = identity.password_problems(password, username=fields["username"], name=fields["name"])
        if problems:
            fail("; ".join(p.message for p in problems))
    is_new = user is None
    was_member = not is_new and user.role == "member"
    if is_new:
        user = User(username=fields["username"], name=fields["name"], role=fields["role"])
        session.add(user)
        result.created += 1
    else:
        registrations.lock_member(session, user.id)  # their registrations change one at a time
        fields["username"] = user.username  # an update never renames (the key matched)
        rights_changed = any(getattr(user, f) != fields[f] for f in RIGHTS_FIELDS if f != "community_id") or (
            user.role != "member" and user.community_id != fields["community_id"])
        if rights_changed or password:
            end_sessions(session, user.id)
        result.updated += 1
    if password:
        user.set_password(password)
    elif user.id is None or not user.password_hash:
        generated = secrets.token_urlsafe(9)
        user.set_password(generated)
        result.generated_passwords[user.username] = generated
    session.flush()  # the user's id: a registration names it
    try:
        _place(session, user, fields, registrar, now=now, source="import", was_member=was_member)
    except InvalidInput as exc:
        raise RowError(line, exc.message) from None
    return user, is_new


def update_user(user_id: int, *, name, role, unit=None, community=None, scope=None, password=None,
                actor=None, request_id=None, email=None) -> User:
    """Change one user's name, role, unit, community or scope (same rules as create_user);
    a new password only when one is given. A new password or a change of role or scope ends
    every token and page session of the user. Each kind of change is its own security-log
    event (edit_user, change_role, change_scope, reset_password). For a member, a community
    registers them there when they are registered nowhere; registered elsewhere, it is refused
    (end or withdraw that registration first); left empty, their registration stays as it is."""
    with write_transaction() as session:
        user = registrations.lock_member(session, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")

        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        fields = _resolve(session, {"username": user.username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or "", "email": email}, fail,
                          check_username=False)
        if password:
            identity.check_password(password, username=user.username, name=fields["name"])
        before = {f: getattr(user, f) for f in ("name", "email", *RIGHTS_FIELDS)}
        _place(session, user, {k: v for k, v in fields.items() if k != "username"}, _registrar(actor),
               now=utcnow(), source="admin", was_member=user.role == "member")
        changed = {f: [before[f], getattr(user, f)] for f in before if before[f] != getattr(user, f)}
        ended = 0
        if password or any(f in changed for f in RIGHTS_FIELDS):
            ended = end_sessions(session, user.id)
        if password:
            user.set_password(password)

        def log(action, details):
            security_log.record(session, actor or SYSTEM, action, target=user, request_id=request_id,
                                details={**details, "sessions_ended": ended})

        if "role" in changed:
            log("change_role", {"role": changed["role"], **{f: changed[f] for f in SCOPE_FIELDS if f in changed}})
        elif any(f in changed for f in SCOPE_FIELDS):
            log("change_scope", {f: changed[f] for f in SCOPE_FIELDS if f in changed})
        if password:
            log("reset_password", {"password_reset": True})
        if "name" in changed or "email" in changed:  # where their notifications go is the admin's act too
            log("edit_user", {f: changed[f] for f in ("name", "email") if f in changed})
    return user


def set_active(user_id: int, active: bool, *, actor=None, request_id=None) -> User:
    """Deactivate (or reactivate) a user: an inactive user cannot log in, and deactivation ends
    every token and page session at once; their history stays."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        was = user.active
        user.active = active
        ended = 0 if active else end_sessions(session, user.id)
        if was != active:
            security_log.record(session, actor or SYSTEM, "reactivate_user" if active else "deactivate_user",
                                target=user, request_id=request_id, details={"sessions_ended": ended})
    return user


def live_sessions(user_id: int, *, now=None) -> int:
    """How many API tokens and page sessions of a user are live (not revoked, not expired)."""
    from sqlalchemy import func

    from ..extensions import db
    now = now or utcnow()
    return db.session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)) or 0


def end_user_sessions(user_id: int, *, actor=None, request_id=None) -> int:
    """An administrator ends every token and page session of a user (e.g. a lost phone)."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        ended = end_sessions(session, user.id)
        security_log.record(session, actor or SYSTEM, "end_sessions", target=user, request_id=request_id,
                            details={"sessions_ended": ended})
    return ended
