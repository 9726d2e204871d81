"""Importing users from CSV: all or nothing, with line-numbered errors."""
from sqlalchemy import func, select

from workflow.models import User

HEADER = "username,name,role,unit,community,scope,password\n"


def run_import(app, tmp_path, body, *args, bom=False):
    path = tmp_path / "users.csv"
    path.write_text(("\ufeff" if bom else "") + HEADER + body, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["import-users", str(path), *args]), path


def count(session):
    return session.scalar(select(func.count(User.id)))


def test_import_with_bom_and_generated_passwords(app, world, session, tmp_path):
    before = count(session)
    result, path = run_import(app, tmp_path, (
        "zhang3,张三,member,区委组织部,370116001001,,lantern-ferry-42\n"
        "li4,李四,member,lw002,370116001002,,\n"
        "wang5,王五,staff,,370116001002,,\n"
        "zhao6,赵六,supervisor,,,town:370116001,\n"
        "qian7,钱七,supervisor,,,unit:lw001,\n"
        "sun8,孙八,supervisor,,,district,\n"
    ), bom=True)
    assert result.exit_code == 0, result.output
    assert "created 6, updated 0" in result.output
    assert count(session) == before + 6
    passwords = (tmp_path / "users.csv.passwords.csv").read_text(encoding="utf-8").splitlines()
    assert passwords[0] == "username,one_time_password" and len(passwords) == 6  # 5 without one
    li4 = session.scalar(select(User).where(User.username == "li4"))
    assert li4.check_password(dict(p.split(",") for p in passwords[1:])["li4"])
    zhang3 = session.scalar(select(User).where(User.username == "zhang3"))
    assert zhang3.check_password("lantern-ferry-42") and zhang3.unit.name == "区委组织部"
    assert session.scalar(select(User).where(User.username == "zhao6")).scope_label == "town:370116001"
    assert session.scalar(select(User).where(User.username == "qian7")).scope_label == "unit:lw001"


def test_a_bad_row_stops_the_import_and_nothing_is_written(app, world, session, tmp_path):
    before = count(session)
    result, _ = run_import(app, tmp_path, (
        "zhang3,张三,member,区委组织部,370116001001,,lantern-ferry-42\n"
        "li4,李四,member,区不存在局,370116001002,,\n"
        "wang5,王五,staff,,370116001002,,\n"
    ))
    assert result.exit_code == 1
    assert "Line 3, unit: There is no unit “区不存在局”" in result.output
    assert "1 bad line — nothing was imported" in result.output
    assert count(session) == before


def test_bad_rows_each_name_their_line(app, world, session, tmp_path):
    cases = [
        ("x,X,mayor,,,,\n", "Line 2, role: “mayor” is not a role"),
        ("x,X,member,,370116001001,,\n", "Line 2, unit: A Party member needs a unit."),
        ("x,X,member,lw001,999,,\n", "Line 2, community: There is no community or village “999”"),
        ("x,X,supervisor,,,town:1,\n", "Line 2, scope: There is no town or street “town:1”."),
        ("x,X,staff,,370116001001,district,\n", "Line 2, scope: Only supervisors have a scope"),
        ("x,X,staff,,370116001001,,short\n", "Line 2, password: A password needs at least 10 characters."),
        ("x,X,staff,,370116001001,,\nx,X,staff,,370116001001,,\n", "Line 3, username: The username “x” is in the "
                                                                 "file twice"),
        ("x,X,staff\n", "Line 2: This line has 3 columns, the header 7."),
        ("member_a1,A,member,lw001,370116001001,,\n", "Line 2, username: The user “member_a1” exists already"),
    ]
    before = count(session)
    for body, message in cases:
        result, _ = run_import(app, tmp_path, body)
        assert result.exit_code == 1 and message in result.output, (body, result.output)
    assert count(session) == before


def test_update_changes_existing_users(app, world, session, tmp_path):
    result, _ = run_import(app, tmp_path, "member_a1,新名字,member,lw002,370116001002,,\n", "--update")
    assert result.exit_code == 0 and "created 0, updated 1" in result.output
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "member_a1"))
    assert (user.name, user.unit.code, user.community.code) == ("新名字", "lw002", "370116001002")
    assert not (tmp_path / "users.csv.passwords.csv").exists()  # kept their password


def test_a_wrong_header_is_refused(app, world, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user,name\nx,y\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-users", str(path)])
    assert result.exit_code == 1 and "Line 1: The first line must name the columns" in result.output
    assert "Unknown columns: user." in result.output


def test_a_member_row_with_a_community_is_registered_there_by_the_importing_admin(app, world, session, tmp_path):
    from workflow import audit
    from workflow.models import AuditEvent, Registration
    from workflow.services import receipts

    result, _ = run_import(app, tmp_path, (
        "zhang3,张三,member,lw001,370116001002,,lantern-ferry-41\n"
        "li4,李四,member,lw001,,,copper-meadow-52\n"
    ), "--admin", "admin")
    assert result.exit_code == 0, result.output
    zhang3, li4 = (session.scalar(select(User).where(User.username == u)) for u in ("zhang3", "li4"))
    reg = session.scalar(select(Registration).where(Registration.member_id == zhang3.id))
    assert (reg.state, reg.community_id, reg.accepted_by_id) == ("active", world.b.id, world.admin.id)
    assert zhang3.community_id == world.b.id
    first = session.scalar(select(AuditEvent).where(AuditEvent.subject_type == "registration",
                                                    AuditEvent.subject_id == reg.id))
    assert (first.seq, first.trigger, first.actor_id, first.payload["source"]) == (1, "accept", world.admin.id,
                                                                                   "import")
    assert audit.verify(session).ok
    # Without a community: no registration, and the unit's receipt shows them as not registered.
    assert session.scalar(select(Registration.id).where(Registration.member_id == li4.id)) is None
    report = receipts.receipt(session, world.unit1)
    assert "李四" in [line.name for line in report.lines if line.registration is None]
    assert "张三" not in [line.name for line in report.lines if line.registration is None]
    # Without --admin the system records it; a name that is no admin is refused.
    refused, _ = run_import(app, tmp_path, "wang5,王五,member,lw001,370116001001,,violet-harbor-63\n",
                            "--admin", "member_a1")
    assert refused.exit_code == 1 and "is not an admin" in refused.output


def test_a_member_registered_elsewhere_is_a_line_error(app, world, session, tmp_path):
    first, _ = run_import(app, tmp_path, "zhang3,张三,member,lw001,370116001001,,lantern-ferry-41\n")
    assert first.exit_code == 0, first.output
    same, _ = run_import(app, tmp_path, "zhang3,张三丰,member,lw001,370116001001,,\n", "--update")
    assert same.exit_code == 0, same.output  # the same community: nothing to do
    moved, _ = run_import(app, tmp_path, (
        "li4,李四,member,lw001,370116001002,,copper-meadow-52\n"
        "zhang3,张三,member,lw001,370116002001,,\n"), "--update")
    assert moved.exit_code == 1
    assert ("Line 3, community: This Party member is registered with 东升社区 already: end or withdraw that "
            "registration first.") in moved.output
    assert session.scalar(select(User.id).where(User.username == "li4")) is None  # all or nothing


def test_admins_create_liaisons_by_import_command_and_page(app, world, session, tmp_path):
    """A liaison (联络员) acts for one unit: created by CSV (role liaison and the unit), by create-user
    and on the admin's user form; without a unit, or with a community or a scope, it is refused."""
    result, _path = run_import(app, tmp_path, "lian1,组织部联络员,liaison,区委组织部,,,lantern-ferry-42\n")
    assert result.exit_code == 0, result.output
    lian1 = session.scalar(select(User).where(User.username == "lian1"))
    assert (lian1.role, lian1.unit.name, lian1.community_id) == ("liaison", "区委组织部", None)
    before = count(session)
    result, _path = run_import(app, tmp_path, (
        "lian2,无单位,liaison,,,,lantern-ferry-42\n"
        "lian3,带社区,liaison,lw001,370116001001,,lantern-ferry-42\n"
        "lian4,带范围,liaison,lw001,,district,lantern-ferry-42\n"))
    assert result.exit_code == 1
    assert "Line 2, unit: A liaison needs the unit they act for." in result.output
    assert "Line 3, community: A liaison acts for a unit and has no community" in result.output
    assert "Line 4, scope: Only supervisors have a scope" in result.output
    assert count(session) == before
    made = app.test_cli_runner().invoke(args=["create-user", "--username", "lian5", "--role", "liaison",
                                              "--unit", "lw002"], input="lantern-ferry-42\nlantern-ferry-42\n")
    assert made.exit_code == 0, made.output
    session.rollback()
    assert session.scalar(select(User.unit_id).where(User.username == "lian5")) == world.unit2.id

    from tests.pages.conftest import Browser
    admin = Browser(app)
    admin.login("admin")
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="liaison"' in form and "单位联络员" in form
    created = admin.post("/admin/users/new", {"username": "lian6", "name": "教体局联络员", "role": "liaison",
                                              "unit": "lw002", "community": "", "scope": "",
                                              "password": "lantern-ferry-42"})
    assert created.status_code == 302
    session.rollback()
    lian6 = session.scalar(select(User).where(User.username == "lian6"))
    assert (lian6.role, lian6.unit_id) == ("liaison", world.unit2.id)
    liaison = Browser(app)
    liaison.login("lian6", "lantern-ferry-42")
    # Created by an admin with a password the admin knows: the liaison chooses their own first.
    forced = liaison.get("/")
    assert forced.status_code == 303 and forced.headers["Location"].endswith("/me/password")
    liaison.get("/me/password")
    changed = liaison.post("/me/password", {"current_password": "lantern-ferry-42",
                                            "new_password": "quiet-orchard-river-58", "confirm": "quiet-orchard-river-58"})
    assert changed.status_code == 302, changed.get_data(as_text=True)[:800]
    assert "区教育和体育局" in liaison.get("/", follow_redirects=True).get_data(as_text=True)
