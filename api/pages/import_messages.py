"""The words for a user import's (and the user form's) problems, in the page's language: each
RowProblem (workflow/services/users.py) is translated by its stable code, its column by its
name. The command line (`import-users --lang zh|en`) prints the same texts."""
from flask_babel import force_locale
from flask_babel import gettext as _

from workflow.identity import IdentityError, IdentityProblem


def field_label(field: str) -> str:
    """A column's name as the template's header has it in the page's language."""
    return {"username": _("username"), "name": _("name"), "role": _("role"), "unit": _("unit"),
            "community": _("community"), "scope": _("scope"), "password": _("password"),
            "email": _("email")}.get(field, field)


def _identity_text(code: str, message: str) -> str:
    from .admin import identity_messages
    texts = identity_messages(IdentityError([IdentityProblem(code, message, "password")]))
    return texts["password"][0]


def problem_text(problem) -> str:
    """One problem in plain words of the page's language."""
    v = problem.values
    code = problem.code
    if code.startswith(("username_required", "username_too", "username_char", "password_")):
        return _identity_text(code, problem.message)
    if code == "header_invalid":
        text = _("The first line must name the columns 用户名,姓名,角色,单位,社区,范围,密码 (or "
                 "username,name,role,unit,community,scope,password) in any order; 邮箱 (email) may follow.")
        if v.get("unknown"):
            text += " " + _("Unknown columns: %(names)s.", names=v["unknown"])
        if v.get("missing"):
            text += " " + _("Missing: %(names)s.", names=", ".join(field_label(f.strip())
                                                                     for f in v["missing"].split(",")))
        if v.get("twice"):
            text += " " + _("Named twice: %(names)s.", names=", ".join(field_label(f.strip())
                                                                          for f in v["twice"].split(",")))
        return text
    texts = {
        "role_unknown": lambda: _("“%(value)s” is not a role: write 党员, 社区工作人员, 督导, 联络员 or 管理员 "
                                  "(or member, staff, supervisor, liaison, admin).", value=v.get("value", "")),
        "unit_unknown": lambda: _("There is no unit “%(value)s”: write its name as the Places & units page "
                                  "shows it, or its code.", value=v.get("value", "")),
        "community_unknown": lambda: _("There is no community or village “%(value)s”: write its name (e.g. "
                                       "东升社区) or its 12-digit code.", value=v.get("value", "")),
        "community_ambiguous": lambda: _("“%(value)s” is the name of %(count)s communities: write its town first, "
                                         "e.g. “%(example)s”, or its 12-digit code.", value=v.get("value", ""),
                                         count=v.get("count", 2), example=v.get("example", "")),
        "member_needs_unit": lambda: _("A Party member needs a unit."),
        "staff_need_community": lambda: _("Community staff need a community."),
        "liaison_needs_unit": lambda: _("A liaison needs the unit they act for."),
        "liaison_no_community": lambda: _("A liaison acts for a unit and has no community: leave it empty."),
        "scope_not_supervisor": lambda: _("Only supervisors have a scope: leave it empty."),
        "scope_unknown_town": lambda: _("There is no town or street “%(value)s”.", value=v.get("value", "")),
        "scope_unknown_unit": lambda: _("There is no unit “%(value)s”.", value=v.get("value", "")),
        "scope_unknown": lambda: _("“%(value)s” is not a scope: write 全区, a town or street's name, or a unit's "
                                   "name.", value=v.get("value", "")),
        "email_invalid": lambda: _("This is not a valid e-mail address."),
        "username_twice": lambda: _("The username “%(value)s” is in the file twice (capitals do not make it "
                                    "another).", value=v.get("value", "")),
        "user_exists": lambda: _("The user “%(value)s” exists already (choose “Update users that exist” to "
                                 "change them).", value=v.get("value", "")),
        "registered_elsewhere": lambda: _("This Party member is registered with %(community)s already: end or "
                                          "withdraw that registration first.", community=v.get("community", "")),
        "wrong_columns": lambda: _("This line has %(found)s columns, the header %(expected)s.",
                                   found=v.get("found", "?"), expected=v.get("expected", "?")),
        "encoding_unknown": lambda: _("The file's character encoding is not recognised: save it as “CSV UTF-8” or "
                                      "as an Excel workbook (.xlsx)."),
        "too_many_lines": lambda: _("At most %(limit)s lines in one file: split it.", limit=v.get("limit", "")),
        "too_large": lambda: _("The file is larger than %(limit)s MB.", limit=v.get("limit", "")),
        "csv_malformed": lambda: _("The file cannot be read as CSV (a quotation mark not closed?)."),
        "xlsx_unreadable": lambda: _("The file is not a readable Excel workbook (.xlsx)."),
        "header_missing": lambda: _("The file is empty: its first line must be the header."),
    }
    make = texts.get(code)
    return make() if make is not None else problem.message


def where_text(problem) -> str:
    """The line (and column) a problem is at, in words."""
    if problem.line == 0:
        return _("The file")
    if problem.field:
        return _("Line %(line)s, %(field)s", line=problem.line, field=field_label(problem.field))
    return _("Line %(line)s", line=problem.line)


def problem_lines(problems, *, english: bool) -> list[str]:
    """Each problem as one line of text, for the command line."""
    separator = ": " if english else "："
    with force_locale("en" if english else "zh_CN"):
        return [f"{where_text(p)}{separator}{problem_text(p)}" for p in problems]
