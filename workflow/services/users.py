"""Users: create one, or import many from CSV (all or nothing).

CSV header: username,name,role,unit,community,scope,password
- unit: a unit's code or name (members; a unit-scoped supervisor may use `scope` instead)
- community: a 12-digit community code (members and staff)
- scope: supervisors only — `district`, `town:<9-digit code>` or `unit:<code or name>`
- password: optional; without it a one-time password is generated and returned
- email: an optional last column (header `…,password,email`): where e-mail notifications go
"""
import csv
import io
import secrets
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select

from ..errors import Conflict, InvalidInput, NotFound
from ..models import ROLES, Community, Town, Unit, User
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
    if role == "member" and not (out["unit_id"] and out["community_id"]):
        fail("a member needs a unit and a community")
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


def create_user(*, username, name, role, password, unit=None, community=None, scope=None, email=None) -> User:
    with write_transaction() as session:
        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        fields = _resolve(session, {"username": username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or "", "email": email}, fail)
        if session.scalar(select(User.id).where(User.username == fields["username"])):
            raise Conflict(f"user {username!r} exists")
        user = User(**fields)
        user.set_password(password)
        session.add(user)
    return user


def parse_csv(text: str) -> list[dict]:
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text))
    names = [f.strip() for f in reader.fieldnames] if reader.fieldnames is not None else None
    if names is None or names[:len(CSV_HEADER)] != CSV_HEADER or names[len(CSV_HEADER):] not in ([], CSV_OPTIONAL):
        raise RowError(1, f"the header must be {','.join(CSV_HEADER)} (optionally followed by ,email)")
    return [{key.strip(): value for key, value in row.items()} if None not in row else row for row in reader]


def import_users(text: str, *, update: bool = False, progress=None) -> ImportResult:
    """Create (or with `update`, also change) the users in a CSV text. One bad row and
    nothing is written: the whole import is one transaction."""
    rows = parse_csv(text)
    result = ImportResult()
    with write_transaction() as session:
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
            if user is None:
                user = User(**fields)
                session.add(user)
                result.created += 1
            else:
                for key, value in fields.items():
                    setattr(user, key, value)
                result.updated += 1
            if password:
                user.set_password(password)
            elif user.id is None or not user.password_hash:
                generated = secrets.token_urlsafe(9)
                user.set_password(generated)
                result.generated_passwords[user.username] = generated
            if progress is not None:
                progress(1)
    return result


def update_user(user_id: int, *, name, role, unit=None, community=None, scope=None, password=None,
                email=None) -> User:
    """Change one user's name, role, unit, community or scope (same rules as create_user);
    a new password only when one is given."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")

        def fail(message):
            raise InvalidInput(message, errors={"user": [message]})

        fields = _resolve(session, {"username": user.username, "name": name, "role": role, "unit": unit or "",
                                    "community": community or "", "scope": scope or "", "email": email}, fail)
        for key, value in fields.items():
            setattr(user, key, value)
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
