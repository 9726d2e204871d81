"""Issue 15, point 9 on the admin pages and the API: name pickers instead of typed codes, a password
reset (typed or generated, shown once), the forced change at the next login (pages and API), and
the import page (GBK, XLSX, every problem in a table, the templates). Both databases."""
import io

from openpyxl import Workbook
from sqlalchemy import select

from tests.api.api_helpers import ApiClient
from tests.pages.conftest import Browser
from workflow.models import ApiToken, AuditEvent, LoginAttempt, Registration, User
from workflow.services import auth as auth_service
from workflow.services import users as user_service

STRONG = "violet-harbour-lamp-7"
OWN = "quiet-orchard-river-58"


def _user(session, username):
    session.rollback()  # a fresh read (SQLite's WAL keeps an open read transaction's snapshot)…
    session.expire_all()  # …and no object kept from before
    return session.scalar(select(User).where(User.username == username))


def test_the_user_form_offers_names_not_codes_and_narrows_communities(app, world, browse, session):
    admin = browse("admin")
    html = admin.get("/admin/users/new").get_data(as_text=True)
    # The scope picker: 全区, each town and each unit by name; codes only as the values sent.
    assert ">全区</option>" in html and 'value="town:370116001">凤城街道</option>' in html
    assert 'value="unit:lw002">区教育和体育局</option>' in html and ">town:370116001<" not in html
    # Without a town chosen, every community, grouped by town (works without the script).
    assert '<optgroup label="张家洼街道">' in html and ">张家洼社区</option>" in html
    # The no-script button narrows to the chosen town, keeping what was typed.
    narrowed = admin.post("/admin/users/new", {"username": "m9", "name": "新党员", "role": "member", "unit": "lw001",
                                               "town": world.town.code, "community": "", "narrow": "1"})
    page = narrowed.get_data(as_text=True)
    assert narrowed.status_code == 200 and ">东升社区</option>" in page and "张家洼社区" not in page
    assert 'value="新党员"' in page and _user(session, "m9") is None
    # The script's source: a town's communities by name.
    rows = admin.get(f"/admin/towns/{world.other_town.code}/communities").get_json()
    assert rows == [{"code": world.c.code, "name": "张家洼社区"}]
    assert admin.get("/admin/towns/999/communities").status_code == 404
    # A community of another town than the one chosen is said on its field.
    wrong = admin.post("/admin/users/new", {"username": "m9", "name": "新党员", "role": "member", "unit": "lw001",
                                            "town": world.town.code, "community": world.c.code, "password": STRONG})
    assert wrong.status_code == 200 and "该社区不在所选镇（街道）内" in wrong.get_data(as_text=True)
    # A member: unit by name, town, then community; registered there. Fields of other roles are not sent on.
    made = admin.post("/admin/users/new", {"username": "m9", "name": "新党员", "role": "member", "unit": "lw001",
                                           "town": world.town.code, "community": world.b.code,
                                           "scope": "town:370116001", "password": STRONG})
    assert made.status_code == 302, made.get_data(as_text=True)[:1000]
    m9 = _user(session, "m9")
    assert (m9.unit.name, m9.community_id, m9.scope_town_id, m9.must_change_password) == ("区委组织部", world.b.id,
                                                                                        None, True)
    assert session.scalar(select(Registration.state).where(Registration.member_id == m9.id)) == "active"
    # A supervisor of a town, picked by name.
    admin.get("/admin/users/new")
    assert admin.post("/admin/users/new", {"username": "s9", "name": "街道督导", "role": "supervisor",
                                           "unit": "lw001", "community": world.a.code, "scope": "town:370116002",
                                           "password": STRONG}).status_code == 302
    s9 = _user(session, "s9")
    assert (s9.scope_town_id, s9.unit_id, s9.community_id) == (world.other_town.id, None, None)
    edit = admin.get(f"/admin/users/{s9.id}/edit").get_data(as_text=True)
    assert 'value="town:370116002" selected>张家洼街道</option>' in edit
    listing = admin.get("/admin/?q=s9").get_data(as_text=True)
    assert "张家洼街道" in listing and "town:" not in listing and "待改密码" in listing
    # A missing unit for a member is said on the unit field, in Chinese.
    admin.get("/admin/users/new")
    page = admin.post("/admin/users/new", {"username": "m10", "name": "x", "role": "member", "unit": "",
                                           "password": STRONG}).get_data(as_text=True)
    assert "党员须填写所在单位" in page


def test_a_new_user_without_a_password_gets_one_shown_once(app, world, browse, session):
    admin = browse("admin")
    admin.get("/admin/users/new")
    response = admin.post("/admin/users/new", {"username": "staff_new", "name": "新社工", "role": "staff",
                                               "town": world.town.code, "community": world.a.code})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "一次性密码" in html
    password = html.split('<code id="password-value">')[1].split("</code>")[0]
    assert _user(session, "staff_new").check_password(password)
    person = Browser(app)
    person.login("staff_new", password)
    assert person.get("/staff/queue").headers["Location"].endswith("/me/password")


def test_the_forced_change_on_the_pages(app, world, browse, session):
    user_service.reset_password(world.staff.id, STRONG, actor=world.admin)
    staff = Browser(app)
    staff.login("staff_a", STRONG)
    for path in ("/", "/staff/queue", "/notifications", "/me/data", "/admin/"):
        response = staff.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/me/password"), path
    blocked = staff.post("/staff/community", {"contact_name": "x"})
    assert blocked.status_code == 303 and blocked.headers["Location"].endswith("/me/password")
    page = staff.get("/me/password").get_data(as_text=True)
    assert 'id="must-change"' in page and "管理员设置" in page
    assert "核实队列" not in page  # no menu to pages it may not open yet
    wrong = staff.post("/me/password", {"current_password": "nope", "new_password": OWN, "confirm": OWN})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    session.rollback()
    failed = session.scalars(select(LoginAttempt).where(LoginAttempt.user_id == world.staff.id,
                                                        LoginAttempt.ok.is_(False))).all()
    assert [(a.channel, a.username) for a in failed] == [("page", "staff_a")]  # a guess is a failed login
    weak = staff.post("/me/password", {"current_password": STRONG, "new_password": "password123",
                                       "confirm": "password123"})
    assert weak.status_code == 422 and "常见" in weak.get_data(as_text=True)
    same = staff.post("/me/password", {"current_password": STRONG, "new_password": STRONG, "confirm": STRONG})
    assert "新密码不能与当前密码相同" in same.get_data(as_text=True)
    differ = staff.post("/me/password", {"current_password": STRONG, "new_password": OWN, "confirm": OWN + "x"})
    assert "两次输入的新密码不一致" in differ.get_data(as_text=True)
    other_token = auth_service.issue_token_for(world.staff).token
    done = staff.post("/me/password", {"current_password": STRONG, "new_password": OWN, "confirm": OWN})
    assert done.status_code == 302
    assert staff.get("/staff/queue").status_code == 200  # this session stays, and is free now
    assert ApiClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401
    assert _user(session, "staff_a").must_change_password is False
    assert _user(session, "staff_a").check_password(OWN)
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "admin",
                                                     AuditEvent.trigger == "change_password")).one()
    assert (event.subject_id, event.payload["target"]["username"]) == (world.staff.id, "staff_a")
    log = browse("admin").get("/admin/audit?action=change_password").get_data(as_text=True)
    assert "修改本人密码" in log and "staff_a" in log
    # Anyone may change their own password from the menu, forced or not.
    member = browse("member_a1")
    assert 'href="/me/password"' in member.get("/me/points").get_data(as_text=True)


def test_the_forced_change_in_the_api(app, world, session):
    api = ApiClient(app)
    user_service.reset_password(world.member.id, STRONG, actor=world.admin)
    token = api.post("/api/v1/auth/token", json={"username": "member_a1", "password": STRONG}).get_json()[
        "access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/tasks"), ("POST", "/api/v1/uploads")):
        response = api.request(method, path, headers=auth)
        body = response.get_json()
        assert response.status_code == 403 and body["error"] == "password_change_required", (path, body)
        assert "/api/v1/me/password" in body["message"] and body["request_id"]
    wrong = api.post("/api/v1/me/password", json={"current_password": "nope", "new_password": OWN}, headers=auth)
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]["json"]
    session.rollback()
    assert session.scalar(select(LoginAttempt.channel).where(LoginAttempt.user_id == world.member.id,
                                                             LoginAttempt.ok.is_(False))) == "api"
    weak = api.post("/api/v1/me/password", json={"current_password": STRONG, "new_password": "short"},
                    headers=auth)
    assert weak.status_code == 422 and "new_password" in weak.get_json()["errors"]["json"]
    extra = api.post("/api/v1/me/password", json={"current_password": STRONG, "new_password": OWN, "x": 1},
                     headers=auth)
    assert extra.status_code == 422
    done = api.post("/api/v1/me/password", json={"current_password": STRONG, "new_password": OWN}, headers=auth)
    assert done.status_code == 204
    assert api.get("/api/v1/me", headers=auth).status_code == 200  # the same token goes on
    assert _user(session, "member_a1").must_change_password is False
    # The OpenAPI document describes the route and the rule.
    spec = api.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/me/password"]
    assert "password_change_required" in spec["info"]["description"]
    assert "PasswordChange" in spec["components"]["schemas"]


def test_the_reset_on_the_admin_page(app, world, browse, session):
    admin = browse("admin")
    page = admin.get(f"/admin/users/{world.member.id}/edit").get_data(as_text=True)
    assert 'id="reset-password"' in page and "生成一次性密码" in page
    empty = admin.post(f"/admin/users/{world.member.id}/password", {"reset-how": "set", "reset-password": ""})
    assert empty.status_code == 422 and "请输入临时密码" in empty.get_data(as_text=True)
    weak = admin.post(f"/admin/users/{world.member.id}/password", {"reset-how": "set", "reset-password": "12345678"})
    assert weak.status_code == 422 and "至少需要 10 个字符" in weak.get_data(as_text=True)
    generated = admin.post(f"/admin/users/{world.member.id}/password", {"reset-how": "generate"})
    html = generated.get_data(as_text=True)
    assert generated.status_code == 200 and generated.headers["Cache-Control"] == "no-store"
    password = html.split('<code id="password-value">')[1].split("</code>")[0]
    member = _user(session, "member_a1")
    assert member.check_password(password) and member.must_change_password
    assert 'id="must-change"' in admin.get(f"/admin/users/{world.member.id}/edit").get_data(as_text=True)
    event = session.scalars(select(AuditEvent).where(AuditEvent.trigger == "reset_password")).one()
    assert event.payload["generated"] is True and password not in str(event.payload)
    assert session.scalar(select(ApiToken.id).where(ApiToken.user_id == world.member.id,
                                                    ApiToken.revoked_at.is_(None))) is None


GBK_FILE = ("用户名,姓名,角色,单位,社区,范围,密码\r\n"
            "imp1,导入一,党员,区委组织部,东升社区,,\r\n"
            "imp2,导入二,市长,区委组织部,,,\r\n"
            "imp3,导入三,社区工作人员,,,,\r\n").encode("gbk")


def _upload(browser, data, name, **extra):
    browser.get("/admin/import")
    return browser.post("/admin/import", {"file": (io.BytesIO(data), name), **extra}, content_type="multipart/form-data")


def test_the_import_page_lists_every_problem_and_imports_nothing(app, world, browse, session):
    admin = browse("admin")
    response = _upload(admin, GBK_FILE, "users.csv")
    html = response.get_data(as_text=True)
    assert 'id="import-problems"' in html and "未导入任何用户" in html and "共 2 行有误" in html
    assert "第 3 行，角色" in html and "“市长”不是有效的角色" in html
    assert "第 4 行，社区" in html and "社区工作人员须填写所在社区" in html
    assert _user(session, "imp1") is None
    # In English when the page is English.
    english = Browser(app)
    english.client.set_cookie("lang", "en")
    english.login("admin")
    html = _upload(english, GBK_FILE, "users.csv").get_data(as_text=True)
    assert "Line 3, role" in html and "“市长” is not a role" in html
    # A header it cannot read is said before anything starts.
    bad = _upload(admin, "姓名,电话\r\n张三,1\r\n".encode("gbk"), "users.csv")
    assert bad.status_code == 422 and "无法识别的列：电话" in bad.get_data(as_text=True)


def test_the_import_page_takes_xlsx_and_the_templates_download(app, world, browse, session):
    admin = browse("admin")
    page = admin.get("/admin/import").get_data(as_text=True)
    assert "/admin/import/template.xlsx" in page and "/admin/import/template.csv" in page
    csv_template = admin.get("/admin/import/template.csv")
    assert csv_template.data.startswith(b"\xef\xbb\xbf") and "attachment" in csv_template.headers["Content-Disposition"]
    assert csv_template.data.decode("utf-8-sig").startswith("用户名,姓名,角色,单位,社区,范围,密码")
    xlsx_template = admin.get("/admin/import/template.xlsx")
    assert xlsx_template.data[:2] == b"PK" and "spreadsheetml" in xlsx_template.headers["Content-Type"]
    assert admin.get("/admin/import/template.pdf").status_code == 404
    html = _upload(admin, xlsx_template.data, "模板.xlsx").get_data(as_text=True)
    assert "导入完成：新建 3 个" in html and 'id="one-time-passwords"' in html and "首次登录时都须自行设置新密码" in html
    book = Workbook()
    book.active.append(["username", "name", "role", "unit", "community", "scope", "password"])
    book.active.append(["xl1", "表格一", "member", "区委组织部", 370116001002, None, STRONG])
    out = io.BytesIO()
    book.save(out)
    html = _upload(admin, out.getvalue(), "users.xlsx").get_data(as_text=True)
    assert "导入完成：新建 1 个" in html
    assert (_user(session, "xl1").community_id, _user(session, "xl1").must_change_password) == (world.b.id, True)
