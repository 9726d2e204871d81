"""The admins' login-security and security-log pages, and the demo notice on the login page, in
Chromium at phone size (390×844): readable without sideways scrolling, Chinese by default."""
from .conftest import PHONE

ATTACKER = {"X-Forwarded-For": "198.51.100.23"}  # through gunicorn's trusted loopback proxy address


def _fits_the_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px phone"


def test_login_page_of_the_demo_says_it_is_a_demo(browser, server):
    context = browser.new_context(viewport=PHONE, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.goto("/login")
    assert "演示系统" in page.inner_text("#demo-notice")
    _fits_the_phone(page)
    context.close()


def test_login_security_and_security_log_on_a_phone(browser, server, login, shots):
    # Someone guesses member77's password from one address.
    attacker = browser.new_context(viewport=PHONE, base_url=server, extra_http_headers=ATTACKER)
    page = attacker.new_page()
    for attempt in range(5):
        page.goto("/login")
        page.fill("input[name=username]", "member77")
        page.fill("input[name=password]", f"guess-{attempt}")
        page.click("form.stack button[type=submit]")
        page.wait_for_load_state()
    attacker.close()

    page = login("admin")
    page.goto("/admin/security")
    assert page.inner_text("h1") == "登录安全"
    locked = page.inner_text("#locked-1")
    assert "member77" in locked and "198.51.100.23" in locked
    _fits_the_phone(page)
    shots(page, "31-admin-login-security")

    page.goto("/admin/audit")
    assert page.inner_text("h1").startswith("安全审计")
    assert "载入演示数据" in page.inner_text("#security-log")  # the demo loader's event
    page.select_option("select[name=action]", "load_demo")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "action=load_demo" in page.url and page.locator("#security-log li").count() == 1
    _fits_the_phone(page)
    shots(page, "32-admin-security-log")
