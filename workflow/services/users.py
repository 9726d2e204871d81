"""Users: create one, or import many from a file (all or nothing).

Import files (services/user_files.py reads them): CSV in UTF-8 (with or without BOM) or GBK/
GB18030, or XLSX; the header in English `username,name,role,unit,community,scope,password[,email]`
or Chinese `用户名,姓名,角色,单位,社区,范围,密码[,邮箱]`, its columns in any order.
- role: member, staff, supervisor, liaison, admin — or 党员, 社区工作人员, 督导/督查, 联络员, 管理员
  (ROLE_WORDS)
- unit: a unit's code or name (members; liaisons: the unit they act for; a unit-scoped supervisor
  may use `scope` instead)
- community: a 12-digit community code, or its name (东升社区; a name two towns share with its
  town first: 凤城街道/东升社区). Staff: the community they work for. Members: where they are
  registered (报到) — a member given a community gets an active registration there, recorded
  as accepted by the importing admin (the system from the command line without --admin);
  a member without one gets none and shows as unregistered (未报到) on their unit's receipt
- scope: supervisors only — empty, `district` or 全区; a town's name or `town:<code>`; a unit's
  name or `unit:<code>`
- password: optional; without it a one-time password is generated and returned. Either way the
  person must choose their own at the first login (`must_change_password`)
- email: optional: where e-mail notifications go

Every problem is a RowProblem with a stable code (the pages translate by it) and an English
message (the command line's).

Identity rules (workflow/identity.py) hold on every path: usernames of letters, digits and
`._-@`, unique without regard to case; passwords of at least 10 characters that are not weak,
common or made of the username. Every change is also an event on the acting administrator's
security-log chain (services/security_log.py), in the same transaction.

A password reset, a role or scope change and deactivation end every API token and page
session of the user at once (issue 16): whoever held them must log in again under the new
password or rights. A password an administrator sets (a new user, a reset, an import) must be
changed by its owner at the next login (issue 15).
"""
import secrets
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select

from .. import identity
from ..clock import utcnow
from ..errors import Conflict, InvalidInput, NotFound, WrongPassword
from ..models import ROLES, SYSTEM, ApiToken, Community, Town, Unit, User
from . import registrations, security_log
from .tx import write_transaction



@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    generated_passwords: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with a line of an import file (or with a user form): the line (1 = the
    header; 0 on a form), the column (`username`, `role`, …; "" for the whole line), a stable
    `code` the pages translate by (with `params`), and the English message for the command line."""

    line: int
    field: str
    code: str
    message: str
    params: tuple = ()

    @property
    def values(self) -> dict:
        return dict(self.params)

    def text(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class ImportErrors(InvalidInput):
    """Every problem of every bad line of an import file (nothing was written). `problems` in line
    order; `lines` maps line → English messages."""

    def __init__(self, problems: list[RowProblem]):
        problems = sorted(problems, key=lambda p: p.line)
        self.problems = problems
        self.lines: dict[int, list[str]] = {}
        for p in problems:
            self.lines.setdefault(p.line, []).append(p.message)
        super().__init__("\n".join(p.text() for p in problems), errors={"lines": {
            str(line): [{"field": p.field, "code": p.code, "message": p.message} for p in problems if p.line == line]
            for line in self.lines}})


class UserInputError(InvalidInput):
    """A user form's problems (create_user, update_user): field → messages, with `problems` for
    the pages to translate."""

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        errors: dict[str, list[str]] = {}
        for p in problems:
            errors.setdefault(p.field or "user", []).append(p.message)
        super().__init__("; ".join(p.message for p in problems), errors=errors)


class _Problems:
    """Collects a line's problems; `fail` adds one and stops checking the line (RowFailed)."""

    def __init__(self, line: int = 0):
        self.line = line
        self.found: list[RowProblem] = []

    def add(self, field_name: str, code: str, message: str, **params) -> None:
        self.found.append(RowProblem(self.line, field_name, code, message, tuple(sorted(params.items()))))

    def fail(self, field_name: str, code: str, message: str, **params):
        self.add(field_name, code, message, **params)
        raise _RowFailed()


class _RowFailed(Exception):
    pass


# A generated one-time password: three groups of four from letters and digits no one misreads
# on a slip of paper (no 0/o, 1/l/i): 31**12, about 2**59.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_password() -> str:
    """A one-time password an administrator hands over, that passes the identity rules."""
    while True:
        groups = ("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))
        password = "-".join(groups)
        if not identity.password_problems(password):
            return password


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


def _find_town(session, ref: str) -> Town | None:
    return session.scalar(select(Town).where(or_(Town.code == ref, Town.name == ref)))


# Role words an import file may use besides the English role names (docs/decisions.md).
ROLE_WORDS = {
    "党员": "member", "在职党员": "member",
    "社区工作人员": "staff", "工作人员": "staff", "社区干部": "staff", "村干部": "staff",
    "督导": "supervisor", "督查": "supervisor", "督导员": "supervisor", "督查员": "supervisor",
    "联络员": "liaison", "单位联络员": "liaison",
    "管理员": "admin", "系统管理员": "admin",
}
DISTRICT_WORDS = ("district", "全区", "区")


def role_of(value: str | None) -> str | None:
    """The role a cell means (`member`, 党员 …), None when it means none."""
    text = (value or "").strip()
    if text.lower() in ROLES:
        return text.lower()
    return ROLE_WORDS.get(text)


def _find_community(session, ref: str, problems: _Problems) -> Community | None:
    """A community by its 12-digit code or its name (full, or short: 东升社区); a name two towns
    share must say its town first (凤城街道东升社区 or 凤城街道/东升社区)."""
    if ref.isdigit():
        found = session.scalar(select(Community).where(Community.code == ref))
        if found is None:
            problems.fail("community", "community_unknown", f"unknown community code {ref!r}", value=ref)
        return found
    town_name, _sep, name = ref.replace("／", "/").rpartition("/")
    candidates = []
    rows = session.info.get("baodao_community_names")
    if rows is None:  # once per session (an import of thousands of lines asks for every line)
        rows = session.info["baodao_community_names"] = session.execute(
            select(Community, Town.name).join(Town, Town.id == Community.town_id)).all()
    for community, town in rows:
        names = {community.name, community.short_name}
        if town_name:
            if town == town_name.strip() and name.strip() in names:
                candidates.append(community)
        elif ref in names or any(ref == town + n for n in names):
            candidates.append(community)
    if not candidates:
        problems.fail("community", "community_unknown", f"unknown community {ref!r}", value=ref)
    if len(candidates) > 1:
        example = f"{candidates[0].town.name}/{candidates[0].short_name}"
        problems.fail("community", "community_ambiguous",
                      f"{ref!r} names {len(candidates)} communities: write its town first, e.g. {example!r}, or "
                      "use its 12-digit code", value=ref, count=len(candidates), example=example)
    return candidates[0]


def _resolve(session, row: dict, problems: _Problems, *, check_username: bool = True) -> dict:
    """Check one row (or form) and turn references into ids; each problem is added to `problems`,
    and RowFailed stops at one that makes the rest meaningless. (An existing user's username is
    kept as it is: `check_username=False`.)"""
    username = identity.normalise_username(row.get("username")) if check_username else row["username"]
    for p in (identity.username_problems(username) if check_username else []):
        problems.add("username", p.code, p.message)
    raw_role = (row.get("role") or "").strip()
    role = role_of(raw_role)
    if role is None:
        problems.add("role", "role_unknown", f"role must be one of {', '.join(ROLES)}, not {raw_role!r}",
                     value=raw_role)
    name = (row.get("name") or "").strip() or username
    out = {"username": username, "name": name[:64], "role": role, "unit_id": None, "community_id": None,
           "scope_town_id": None}
    if "email" in row:  # a column of its own: a file without it leaves addresses as they are
        try:
            out["email"] = clean_email(row.get("email"), lambda m: problems.fail("email", "email_invalid", m))
        except _RowFailed:
            pass
    unit_ref = (row.get("unit") or "").strip()
    community_ref = (row.get("community") or "").strip()
    scope = (row.get("scope") or "").strip()
    if unit_ref:
        unit = _find_unit(session, unit_ref)
        if unit is None:
            problems.add("unit", "unit_unknown", f"unknown unit {unit_ref!r}", value=unit_ref)
        else:
            out["unit_id"] = unit.id
    if community_ref:
        try:
            out["community_id"] = _find_community(session, community_ref, problems).id
        except _RowFailed:
            pass
    if problems.found or role is None:
        raise _RowFailed()
    if role == "member" and not out["unit_id"]:
        problems.add("unit", "member_needs_unit", "a member needs a unit")
    if role == "staff" and not out["community_id"]:
        problems.add("community", "staff_need_community", "staff need a community")
    if role == "liaison":  # acts for one unit (its pairings, resources, projects, receipt report)
        if not out["unit_id"]:
            problems.add("unit", "liaison_needs_unit", "a liaison needs a unit")
        if out["community_id"]:
            problems.add("community", "liaison_no_community", "a liaison acts for a unit and has no community")
    if role == "supervisor":
        _resolve_scope(session, scope, out, problems)
    elif scope:
        problems.add("scope", "scope_not_supervisor", "only supervisors have a scope", value=scope)
    if problems.found:
        raise _RowFailed()
    return out


def _resolve_scope(session, scope: str, out: dict, problems: _Problems) -> None:
    """A supervisor's scope: the district (empty, `district`, 全区), a town (`town:<code or name>`, or
    its name), or a unit (`unit:<code or name>`, or its name)."""
    if scope in ("", *DISTRICT_WORDS):
        return
    kind, sep, ref = scope.replace("：", ":").partition(":")
    kind, ref = kind.strip().lower(), ref.strip()
    if sep and kind == "town":
        town = _find_town(session, ref)
        if town is None:
            problems.add("scope", "scope_unknown_town", f"unknown town in scope {scope!r}", value=scope)
        else:
            out["scope_town_id"] = town.id
        return
    if sep and kind == "unit":
        unit = _find_unit(session, ref)
        if unit is None:
            problems.add("scope", "scope_unknown_unit", f"unknown unit in scope {scope!r}", value=scope)
        else:
            out["unit_id"] = unit.id
        return
    if not sep:
        town = session.scalar(select(Town).where(Town.name == scope))
        if town is not None:
            out["scope_town_id"] = town.id
            return
        unit = session.scalar(select(Unit).where(Unit.name == scope))
        if unit is not None:
            out["unit_id"] = unit.id
            return
    problems.add("scope", "scope_unknown", "a supervisor's scope is district (全区), a town's name (or "
                 "town:<code>) or a unit's name (or unit:<code>)", value=scope)


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
                request_id=None, email=None, must_change: bool | None = None) -> User:
    """One user. `actor` is the administrator (None: the command line); the password must
    pass the identity rules. A member with a community is registered there at once (accepted
    by the administrator, or the system).

    `must_change`: the user must choose their own password at the first login. Default: yes
    when an administrator creates the user (`actor` given: the administrator knows the password),
    no from the command line (the operator typing their own, e.g. the first admin) — docs/decisions.md."""
    if must_change is None:
        must_change = actor is not None
    with write_transaction() as session:
        username = identity.check_username(username)
        problems = _Problems()
        try:
            fields = _resolve(session, {"username": username, "name": name, "role": role, "unit": unit or "",
                                        "community": community or "", "scope": scope or "", "email": email},
                              problems)
        except _RowFailed:
            raise UserInputError(problems.found) from None
        if _username_taken(session, fields["username"]):
            raise Conflict(f"user {username!r} exists (usernames are compared without regard to case)",
                           field="username")
        identity.check_password(password, username=fields["username"], name=fields["name"])
        user = User(username=fields["username"], name=fields["name"], role=fields["role"],
                    must_change_password=bool(must_change))
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


def import_users(source, *, filename: str | None = None, update: bool = False, progress=None, actor=None,
                 request_id=None) -> ImportResult:
    """Create (or with `update`, also change) the users of an import file: CSV text, the bytes of a
    CSV (UTF-8 with or without BOM, GBK/GB18030 …) or XLSX file (services/user_files.py), or its
    rows already read (`user_files.read`). All or nothing: every problem of every bad line is
    reported (ImportErrors) and then nothing is written — one transaction. A member row with a
    community registers the member there (accepted by the admin `actor`, or the system); one
    already registered elsewhere is a bad line (end or withdraw that registration first). Every
    password set here (given or generated) must be changed at the first login."""
    from . import user_files

    rows = source if isinstance(source, list) else user_files.read(source, filename=filename)
    result = ImportResult()
    bad: list[RowProblem] = []
    created, updated = [], []
    now = utcnow()
    with write_transaction() as session:
        registrar = _registrar(actor)
        seen: set[str] = set()
        for line, row in rows:
            problems = _Problems(line)
            try:
                user, is_new = _import_row(session, row, problems, update=update, seen=seen, result=result,
                                           registrar=registrar, now=now)
            except _RowFailed:
                bad.extend(problems.found)
            else:
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


def _import_row(session, row: dict, problems: _Problems, *, update: bool, seen: set, result: ImportResult,
                registrar, now) -> tuple[User, bool]:
    """Check one row and apply it to the session: (the user, whether it is new); _RowFailed with the
    line's problems in `problems` when bad."""
    if "__columns__" in row:
        found, expected = row["__columns__"]
        problems.fail("", "wrong_columns", f"wrong number of columns ({found} instead of {expected})",
                      found=found, expected=expected)
    fields = _resolve(session, row, problems)
    key = identity.username_key(fields["username"])
    if key in seen:
        problems.fail("username", "username_twice", f"username {fields['username']!r} appears twice in the file "
                      "(without regard to case)", value=fields["username"])
    seen.add(key)
    user = session.scalar(select(User).where(User.username_key == key))
    if user is not None and not update:
        problems.fail("username", "user_exists", f"user {fields['username']!r} exists (use --update to change "
                      "existing users)", value=fields["username"])
    password = (row.get("password") or "").strip()
    if password:
        for p in identity.password_problems(password, username=fields["username"], name=fields["name"]):
            problems.add("password", p.code, p.message)
        if problems.found:
            raise _RowFailed()
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
        user.must_change_password = True  # the file's author knows it: the person chooses their own
    elif user.id is None or not user.password_hash:
        generated = generate_password()
        user.set_password(generated)
        user.must_change_password = True
        result.generated_passwords[user.username] = generated
    session.flush()  # the user's id: a registration names it
    try:
        _place(session, user, fields, registrar, now=now, source="import", was_member=was_member)
    except InvalidInput as exc:
        live = registrations.live_registration(session, user.id)
        where = session.get(Community, live.community_id).short_name if live is not None else ""
        problems.fail("community", "registered_elsewhere", exc.message, community=where,
                      state=live.state if live is not None else "")
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

        problems = _Problems()
        try:
            fields = _resolve(session, {"username": user.username, "name": name, "role": role, "unit": unit or "",
                                        "community": community or "", "scope": scope or "", "email": email},
                              problems, check_username=False)
        except _RowFailed:
            raise UserInputError(problems.found) from None
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
            user.must_change_password = True  # set by an administrator: the user chooses their own next

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


def reset_password(user_id: int, password: str | None = None, *, actor=None, request_id=None
                   ) -> tuple[User, str | None]:
    """An administrator resets a user's password: to `password` (which must pass the identity
    rules), or to a generated one-time password (returned, to be shown once). Either way the user
    must choose their own at the next login, and every token and page session of theirs ends.
    Returns (the user, the generated password or None)."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        generated = None
        if password:
            identity.check_password(password, username=user.username, name=user.name)
        else:
            password = generated = generate_password()
        user.set_password(password)
        user.must_change_password = True
        ended = end_sessions(session, user.id)
        security_log.record(session, actor or SYSTEM, "reset_password", target=user, request_id=request_id,
                            details={"password_reset": True, "generated": generated is not None,
                                     "must_change_password": True, "sessions_ended": ended})
    return user, generated


def change_own_password(user_id: int, current: str, new: str, *, keep_token_id: int | None = None,
                        request_id=None, address: str = "", channel: str = "page") -> User:
    """A user sets their own password: `current` must be right, `new` must pass the identity rules
    and differ from it. Clears the forced change, and ends every other token and page session of
    the user (the one in use, `keep_token_id`, stays). InvalidInput with the fields
    `current_password` or `new_password` otherwise (the identity rules' codes in `problems`).
    A wrong current password is a failed login record (from `address`, on `channel`): it counts
    towards the account's slow-down and shows on the admins' login-security page."""
    from ..extensions import db
    from ..models import LoginAttempt

    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"user {user_id} not found")
    if not current or not user.check_password(current):
        with write_transaction() as session:
            session.add(LoginAttempt(username=user.username[:64], username_key=user.username_key[:255],
                                     user_id=user.id, address=(address or "unknown")[:64], channel=channel, ok=False))
        raise WrongPassword("the current password is wrong",
                           errors={"current_password": ["The current password is wrong."]})
    with write_transaction() as session:
        user = session.get(User, user_id)
        if not user.check_password(current):  # changed meanwhile
            raise WrongPassword("the current password is wrong",
                               errors={"current_password": ["The current password is wrong."]})
        problems = identity.password_problems(new, username=user.username, name=user.name)
        if not problems and user.check_password(new):
            problems = [identity.IdentityProblem("password_unchanged", "the new password must differ from the "
                                                 "current one", "password")]
        if problems:
            error = identity.IdentityError(problems)
            error.errors = {"new_password": [p.message for p in problems]}
            raise error
        user.set_password(new)
        user.must_change_password = False
        query = ApiToken.__table__.update().where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        if keep_token_id is not None:
            query = query.where(ApiToken.id != keep_token_id)
        ended = session.execute(query.values(revoked_at=utcnow())).rowcount
        security_log.record(session, user, "change_password", target=user, request_id=request_id,
                            details={"sessions_ended": ended})
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
