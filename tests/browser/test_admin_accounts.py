"""Issue 15, point 9 in Chromium at phone size (390×844): the admin picks a town, then one of its
communities (the script narrows the list), and creates a member by names, not codes; the new member
must choose their own password first; a GBK CSV from Excel is uploaded on the import page, every bad
line listed in a table that stays inside the phone's width, then a good file imports."""
from playwright.sync_api import expect

from .conftest import PHONE

STRONG = "violet-harbour-lamp-7"
OWN = "quiet-orchard-river-58"


def _fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def _phone(browser, server):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                  locale="zh-CN", base_url=server)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _log_in(page, username, password):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def test_a_town_then_a_community_and_a_member_created_by_names(browser, server, login, shots):
    page = login("admin")
    page.goto("/admin/users/new")
    assert page.is_visible("#unit-picker") and page.is_visible("#place-picker")
    assert not page.is_visible("#scope-picker")  # a member has no scope
    page.select_option("select[name=role]", "supervisor")
    assert page.is_visible("#scope-picker") and not page.is_visible("#place-picker")
    scope_words = page.locator("#scope option").all_inner_texts()
    assert "全区" in scope_words and "凤城街道" in scope_words and not any(":" in w for w in scope_words)
    page.select_option("select[name=role]", "member")
    page.fill("input[name=username]", "phone_member")
    page.fill("input[name=name]", "手机党员")
    page.select_option("select[name=unit]", label="区委组织部")
    before = page.locator("#community option").count()
    page.select_option("select[name=town]", label="凤城街道")
    expect(page.locator("#community optgroup")).to_have_count(0)  # the script replaced the list (CSP: no eval)
    names = page.locator("#community option").all_inner_texts()
    assert "东升社区" in names and len(names) < before and not any(n.isdigit() for n in names)
    page.select_option("select[name=community]", label="东升社区")
    page.fill("input[name=password]", STRONG)
    _fits_the_phone(page)
    shots(page, "34-admin-user-pickers")
    page.click("#user-form button[type=submit]")
    page.wait_for_load_state()
    assert "/admin/" in page.url and "phone_member" in page.inner_text("main")
    assert "东升社区" in page.inner_text("main")  # the list shows the community's name

    context, member = _phone(browser, server)
    _log_in(member, "phone_member", STRONG)
    assert member.url.endswith("/me/password") and member.is_visible("#must-change")
    member.goto("/me/points")
    assert member.url.endswith("/me/password")  # nothing else until the password is their own
    member.fill("input[name=current_password]", STRONG)
    member.fill("input[name=new_password]", OWN)
    member.fill("input[name=confirm]", OWN)
    _fits_the_phone(member)
    shots(member, "37-forced-password-change")
    member.click("#password-form button[type=submit]")
    member.wait_for_load_state()
    assert not member.url.endswith("/me/password") and "密码已修改" in member.inner_text("main")
    context.close()


def test_a_gbk_file_from_excel_on_the_import_page(browser, server, login, shots, tmp_path):
    bad = tmp_path / "用户.csv"
    bad.write_bytes(("用户名,姓名,角色,单位,社区,范围,密码\r\n"
                     "gbk_ok,张三,党员,区委组织部,东升社区,,\r\n"
                     "gbk_bad1,李四,市长,区委组织部,,,\r\n"
                     "gbk_bad2,王五,社区工作人员,,一个很长很长的并不存在的社区名称用来检验换行,,\r\n"
                     "gbk_bad3,赵六,督导,,,火星街道,\r\n").encode("gbk"))
    page = login("admin")
    page.goto("/admin/import")
    _fits_the_phone(page)
    assert page.is_visible("#templates")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result")
    rows = page.locator("#import-problems tbody tr")
    assert rows.count() == 3
    text = page.inner_text("#import-problems")
    assert "第 3 行，角色" in text and "第 4 行，社区" in text and "第 5 行，范围" in text
    assert "未导入任何用户" in page.inner_text("#import-result")
    _fits_the_phone(page)
    shots(page, "35-admin-import-problems")

    good = tmp_path / "good.csv"
    good.write_bytes(("用户名,姓名,角色,单位,社区,范围,密码\r\n"
                      "gbk_ok,张三,党员,区委组织部,东升社区,,\r\n"
                      "gbk_ok2,李䶮,督导,,,凤城街道,\r\n").encode("gb18030"))
    page.goto("/admin/import")
    page.set_input_files("input[name=file]", str(good))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result")
    assert "新建 2 个" in page.inner_text("#import-result")
    assert page.locator("#one-time-passwords tr").count() == 2
    _fits_the_phone(page)
    page.goto("/admin/?q=gbk_ok2")
    assert "李䶮" in page.inner_text("main")


def test_an_admin_resets_a_password_on_a_phone(browser, server, login, shots):
    page = login("admin")
    page.goto("/admin/?q=member5")
    page.click("text=编辑 >> nth=0")
    page.wait_for_load_state()
    assert page.is_visible("#reset-password")
    _fits_the_phone(page)
    page.on("dialog", lambda dialog: dialog.accept())  # "reset this user's password?" — asked once
    page.select_option("select[name=reset-how]", "generate")
    page.click("#reset-password button[type=submit]")
    page.wait_for_selector("#password-value")
    password = page.inner_text("#password-value")
    assert len(password) == 14 and password.count("-") == 2
    _fits_the_phone(page)
    shots(page, "36-admin-password-reset")
    context, member = _phone(browser, server)
    _log_in(member, "member5", password)
    assert member.url.endswith("/me/password")
    context.close()
