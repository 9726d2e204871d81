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
    assert "line 3: unknown unit '区不存在局' — nothing was imported" in result.output
    assert count(session) == before


def test_bad_rows_each_name_their_line(app, world, session, tmp_path):
    cases = [
        ("x,X,mayor,,,,\n", "line 2: role must be one of"),
        ("x,X,member,lw001,,,\n", "line 2: a member needs a unit and a community"),
        ("x,X,member,lw001,999,,\n", "line 2: unknown community code '999'"),
        ("x,X,supervisor,,,town:1,\n", "line 2: unknown town in scope"),
        ("x,X,staff,,370116001001,district,\n", "line 2: only supervisors have a scope"),
        ("x,X,staff,,370116001001,,short\n", "line 2: a password needs at least 10 characters"),
        ("x,X,staff,,370116001001,,\nx,X,staff,,370116001001,,\n", "line 3: username 'x' appears twice"),
        ("x,X,staff\n", "line 2: wrong number of columns"),
        ("member_a1,A,member,lw001,370116001001,,\n", "line 2: user 'member_a1' exists (use --update"),
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
    assert result.exit_code == 1 and "line 1: the header must be" in result.output
