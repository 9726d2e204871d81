"""Issue 15, point 9: user imports from the files offices have — CSV in UTF-8 (with or without BOM),
GBK and GB18030 (Excel's default in China), XLSX — with Chinese or English headers, role and scope
words in Chinese, every problem of every bad line at once and nothing imported, the template that
re-imports cleanly, and the forced password change of everyone imported. Both databases."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from workflow.models import User
from workflow.services import user_files
from workflow.services import users as user_service

CHINESE = "用户名,姓名,角色,单位,社区,范围,密码\r\n"
ENGLISH = "username,name,role,unit,community,scope,password\r\n"
LINES = ("zhang3,张三,党员,区委组织部,东升社区,,\r\n"
         "li4,李四,社区工作人员,,凤城街道/小曹村社区,,\r\n"
         "wang5,王五,督导,,,凤城街道,\r\n"
         "zhao6,赵六,督查,,,区教育和体育局,\r\n"
         "qian7,钱七,联络员,区教育和体育局,,,\r\n"
         "sun8,孙八,督导,,,全区,\r\n")


def count(session):
    return session.scalar(select(func.count(User.id)))


def imported(session):
    """The users the LINES make, as (username, name, role, unit, community, scope label)."""
    rows = session.scalars(select(User).where(User.username.in_(
        ["zhang3", "li4", "wang5", "zhao6", "qian7", "sun8"])).order_by(User.username)).all()
    return {u.username: (u.name, u.role, u.unit.name if u.unit else None,
                         u.community.short_name if u.community else None, u.scope_label, u.must_change_password)
            for u in rows}


EXPECTED = {
    "zhang3": ("张三", "member", "区委组织部", "东升社区", "", True),
    "li4": ("李四", "staff", None, "小曹村社区", "", True),
    "wang5": ("王五", "supervisor", None, None, "town:370116001", True),
    "zhao6": ("赵六", "supervisor", "区教育和体育局", None, "unit:lw002", True),
    "qian7": ("钱七", "liaison", "区教育和体育局", None, "", True),
    "sun8": ("孙八", "supervisor", None, None, "district", True),
}


def cli(app, tmp_path, data: bytes, name="users.csv", *args):
    path = tmp_path / name
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["import-users", str(path), *args])


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_a_csv_in_each_encoding_excel_writes_imports_the_same(app, world, session, tmp_path, encoding):
    result = cli(app, tmp_path, (CHINESE + LINES).encode(encoding))
    assert result.exit_code == 0, result.output
    assert "created 6, updated 0" in result.output
    assert imported(session) == EXPECTED
    # Everyone imported got a generated one-time password (none was given) and must change it.
    passwords = (tmp_path / "users.csv.passwords.csv").read_text(encoding="utf-8").splitlines()
    assert len(passwords) == 7
    user, password = passwords[1].split(",")
    assert session.scalar(select(User).where(User.username == user)).check_password(password)


def test_a_gb18030_character_outside_gbk_survives(app, world, session, tmp_path):
    data = (CHINESE + "wang9,王䶮,党员,区委组织部,,,\r\n" + "li9,李𠀀,党员,区委组织部,,,\r\n").encode("gb18030")
    with pytest.raises(UnicodeEncodeError):
        "䶮".encode("gbk")  # the point of this file: GBK cannot hold it
    result = cli(app, tmp_path, data)
    assert result.exit_code == 0, result.output
    names = set(session.scalars(select(User.name).where(User.username.in_(["wang9", "li9"]))))
    assert names == {"王䶮", "李𠀀"}


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_with_chinese_headers_and_codes_excel_made_numbers(app, world, session, tmp_path):
    rows = [CHINESE.strip().split(",")] + [line.split(",") for line in LINES.strip().split("\r\n")]
    rows[1][4] = 370116001001  # Excel keeps a typed code as a number
    rows.append([None] * 7)  # an empty line Excel left at the end
    result = cli(app, tmp_path, _xlsx(rows), "users.xlsx")
    assert result.exit_code == 0, result.output
    assert imported(session) == EXPECTED


def test_english_headers_in_any_order_and_english_role_words(app, world, session):
    text = ("password,role,name,username,unit,community,scope,email\n"
            "lantern-ferry-42,member,张三,zhang3,lw001,370116001001,,z3@example.com\n"
            ",supervisor,王五,wang5,,,town:370116001,\n")
    result = user_service.import_users(text)
    assert (result.created, list(result.generated_passwords)) == (2, ["wang5"])
    zhang3 = session.scalar(select(User).where(User.username == "zhang3"))
    assert zhang3.check_password("lantern-ferry-42") and zhang3.email == "z3@example.com"
    assert zhang3.must_change_password  # a password in a file is known to whoever wrote the file


def test_every_problem_of_every_bad_line_is_reported_and_nothing_is_imported(app, world, session, tmp_path):
    before = count(session)
    body = (CHINESE
            + "ok1,好,党员,区委组织部,,,\r\n"                      # line 2: fine
            + "bad name,甲,市长,区不存在局,,,\r\n"                 # line 3: username, role, unit
            + "ok2,乙,社区工作人员,,,,\r\n"                        # line 4: staff without a community
            + "ok3,丙,督导,,,火星街道,\r\n"                        # line 5: no such scope
            + "ok4,丁,党员,区委组织部,东升社区,全区,short\r\n"     # line 6: a member with a scope
            + "ok5,戊,党员,区委组织部\r\n"                         # line 7: too few columns
            + "OK1,己,党员,区委组织部,,,\r\n")                     # line 8: ok1 again
    result = cli(app, tmp_path, body.encode("gbk"), "users.csv", "--lang", "zh")
    assert result.exit_code == 1
    out = result.output
    for text in ("第 3 行，用户名：用户名只能", "第 3 行，角色：“市长”不是有效的角色", "第 3 行，单位：没有“区不存在局”这个单位",
                 "第 4 行，社区：社区工作人员须填写所在社区", "第 5 行，范围：“火星街道”不是有效的范围",
                 "第 6 行，范围：只有督导有范围", "第 7 行：此行有 4 列，表头有 7 列", "第 8 行，用户名：用户名“OK1”在文件中出现了两次",
                 "6 行有误，未导入任何用户"):
        assert text in out, (text, out)
    assert "第 2 行" not in out
    assert count(session) == before
    # The service says the same with codes, for the pages.
    with pytest.raises(user_service.ImportErrors) as caught:
        user_service.import_users(body.encode("gbk"))
    codes = [(p.line, p.field, p.code) for p in caught.value.problems]
    assert (3, "role", "role_unknown") in codes and (3, "unit", "unit_unknown") in codes
    assert (7, "", "wrong_columns") in codes and (8, "username", "username_twice") in codes
    assert sorted(caught.value.lines) == [3, 4, 5, 6, 7, 8]


def test_a_community_name_two_towns_share_must_name_its_town(app, world, session):
    from workflow.extensions import db
    from workflow.models import Community
    from workflow.services.tx import write_transaction
    with write_transaction() as s:
        s.add(Community(code="370116002009", name="东升社区居民委员会", town_id=world.other_town.id))
    with pytest.raises(user_service.ImportErrors) as caught:
        user_service.import_users(CHINESE + "x1,甲,党员,区委组织部,东升社区,,\r\n")
    (problem,) = caught.value.problems
    assert problem.code == "community_ambiguous" and problem.values["count"] == 2
    db.session.rollback()
    user_service.import_users(CHINESE + "x1,甲,党员,区委组织部,张家洼街道/东升社区,,\r\n")
    assert session.scalar(select(User).where(User.username == "x1")).community.code == "370116002009"


def test_a_bad_header_and_unreadable_files_are_one_clear_problem(app, world):
    cases = [
        (b"", "header_missing"),
        ("用户名,姓名,角色\r\nx,y,党员\r\n".encode("gbk"), "header_invalid"),
        ("用户名,姓名,角色,单位,社区,范围,密码,备注\r\n".encode(), "header_invalid"),
        (b"PK\x03\x04 not really a workbook", "xlsx_unreadable"),
    ]
    for data, code in cases:
        with pytest.raises(user_service.ImportErrors) as caught:
            user_service.import_users(data)
        assert [p.code for p in caught.value.problems] == [code], data
    with pytest.raises(user_service.ImportErrors) as caught:
        user_service.import_users("用户名,姓名,角色\r\n".encode())
    assert caught.value.problems[0].values["missing"] == "unit, community, scope, password"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_reimports_cleanly(app, world, session, tmp_path, fmt):
    data = user_files.template(fmt)
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf")
        assert data.decode("utf-8-sig").splitlines()[0] == "用户名,姓名,角色,单位,社区,范围,密码,邮箱"
    else:
        sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        assert [c.value for c in next(sheet.iter_rows(max_row=1))][:7] == ["用户名", "姓名", "角色", "单位", "社区",
                                                                          "范围", "密码"]
    result = cli(app, tmp_path, data, f"template.{fmt}")
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0" in result.output
    lisi = session.scalar(select(User).where(User.username == "lisi"))
    assert (lisi.role, lisi.community.short_name) == ("staff", "东升社区")
    english = user_files.template(fmt, english=True)
    assert user_service.import_users(english, filename=f"t.{fmt}", update=True).updated == 3
