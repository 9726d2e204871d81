"""Scope and protection on the pages: 403/404 pages, CSRF, language, and the other roles' pages."""
import io
import zipfile

from workflow.services import claims as claim_service

from .conftest import photo_bytes


def test_login_is_chinese_by_default_renews_the_session_and_refuses_bad_passwords(app, world, browse):
    b = browse()
    page = b.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page and 'name="username"' in page and 'name="password"' in page
    with b.client.session_transaction() as s:
        s["planted"] = "before-login"
    assert b.post("/login", {"username": "member_a1", "password": "wrong"}).status_code == 401
    b.login("member_a1")
    with b.client.session_transaction() as s:
        assert "planted" not in s and s["_user_id"] == str(world.member.id)
    assert b.get("/staff/queue").status_code == 403


def test_anonymous_is_sent_to_login(app, world, browse):
    response = browse().get("/me/points")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_post_without_csrf_token_is_refused(app, world, browse):
    task = world.task()
    b = browse("member_a1")
    response = b.post(f"/tasks/{task.id}/claim", csrf=False)
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    assert browse().post("/login", {"username": "member_a1", "password": "secret-pass-1"},
                         csrf=False).status_code == 400


def test_member_is_refused_staff_supervisor_admin_pages_and_other_members_claims(app, world, browse):
    task = world.task()
    other = claim_service.start_claim(task.id, world.member2)
    b = browse("member_a1")
    for url in ("/staff/queue", "/staff/tasks", "/supervisor/", "/supervisor/anomalies", "/supervisor/exports",
                "/admin/"):
        response = b.get(url)
        assert response.status_code == 403, url
        assert "您无权打开此页面" in response.get_data(as_text=True)
    response = b.get(f"/claims/{other.id}")
    assert response.status_code == 404 and "未找到" in response.get_data(as_text=True)
    assert b.get(f"/claims/{other.id}/check_in").status_code == 404
    assert b.get("/no/such/page").status_code == 404
    # staff of another community and a supervisor of another town see nothing of it either
    assert browse("staff_c").get(f"/claims/{other.id}").status_code == 404
    assert browse("sup_town2").get(f"/claims/{other.id}").status_code == 404
    assert browse("sup_town").get(f"/claims/{other.id}").status_code == 200


def test_language_switch_to_english_is_remembered_and_back(app, world, browse):
    b = browse("member_a1")
    response = b.get("/lang/en?next=/me/points")
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/points")
    page = b.get("/me/points").get_data(as_text=True)
    assert 'lang="en"' in page and "My points" in page and "中文" in page
    assert "My points" in b.get("/").get_data(as_text=True)  # remembered
    b.get("/lang/zh_CN?next=/")
    assert "我的积分" in b.get("/").get_data(as_text=True)
    assert b.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_friendly_500_page(app, world, browse):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    response = browse().get("/boom-for-test")
    assert response.status_code == 500 and "服务器出错了" in response.get_data(as_text=True)


def _run_claim(world, *, approve=True):
    task = world.task()
    claim = claim_service.start_claim(task.id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "n"})
    claim_service.fire(claim.id, "submit_report", world.member, {"summary": "s", "hours": 2, "households": 1})
    if approve:
        claim_service.fire(claim.id, "approve", world.staff, {})
    return claim


def test_supervisor_pages_dashboard_timeline_verify_anomalies_exports_feedback(app, world, browse):
    claim = _run_claim(world)
    b = browse("sup_district")
    page = b.get("/supervisor/").get_data(as_text=True)
    assert 'id="total-claims">1<' in page and 'id="month-verified">1<' in page and "<svg" in page
    assert "区委组织部" in page  # units compared by rates
    timeline = b.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "记录链校验通过" in timeline and "核实通过" in timeline
    response = b.post("/supervisor/verify", {"subject": f"claim:{claim.id}"}, follow_redirects=True)
    assert "记录链校验通过：共 4 条记录" in response.get_data(as_text=True)
    anomalies = b.get("/supervisor/anomalies").get_data(as_text=True)
    assert "认领后几分钟内即提交报告" in anomalies and f"#{claim.id}" in anomalies  # reported within a minute
    csv = b.get("/supervisor/exports/download?kind=claims&fmt=csv").get_data(as_text=True)
    assert csv.startswith("\ufeff认领编号,状态") and f"\n{claim.id},已核实," in csv.replace("\r", "")
    events = b.get("/supervisor/exports/download?kind=events&fmt=csv&start=2000-01-01&end=2099-12-31")
    assert events.get_data(as_text=True).count("claim:") == 4
    xlsx = b.get("/supervisor/exports/download?kind=claims&fmt=xlsx")
    assert xlsx.status_code == 200 and zipfile.is_zipfile(io.BytesIO(xlsx.get_data()))
    assert "2026-11-30" in b.get("/supervisor/exports/download?kind=claims&fmt=csv&start=nope",
                                    follow_redirects=True).get_data(as_text=True)
    feedback = b.get(f"/supervisor/feedback?unit={world.unit1.id}").get_data(as_text=True)
    assert "区委组织部" in feedback and "member_a1" in feedback
    assert b.get(f"/supervisor/feedback?unit={world.unit1.id}&format=xlsx").mimetype.endswith("sheet")
    # another town's supervisor: nothing of it, in the dashboard or the exports
    other = browse("sup_town2")
    assert 'id="total-claims">0<' in other.get("/supervisor/").get_data(as_text=True)
    assert other.get("/supervisor/exports/download?kind=claims&fmt=csv").get_data(as_text=True).count("\n") == 1
    assert other.get(f"/supervisor/feedback?unit={world.unit1.id}").status_code == 404


def test_staff_queue_and_duplicate_photo_flag(app, world, browse, session):
    claim = _run_claim(world, approve=False)
    staff = browse("staff_a")
    assert f'id="claim-{claim.id}"' in staff.get("/staff/queue").get_data(as_text=True)
    # the same picture in two claims is flagged
    task2 = world.task()
    m1, m2 = browse("member_a1"), browse("member_a2")
    for b, member in ((m1, world.member), (m2, world.member2)):
        c = claim_service.start_claim(task2.id if member is world.member2 else world.task().id, member)
        b.get(f"/claims/{c.id}/check_in")
        assert b.post(f"/claims/{c.id}/check_in", {"note": "x", "photos": [(io.BytesIO(photo_bytes()), "p.png")]},
                      content_type="multipart/form-data").status_code == 302
    page = browse("sup_district").get("/supervisor/anomalies").get_data(as_text=True)
    assert "不同认领使用同一照片" in page and "出现在 2 个不同的认领中" in page


def test_admin_users_import_places_and_workflow(app, world, browse):
    b = browse("admin")
    assert "member_a1" in b.get("/admin/").get_data(as_text=True)
    b.get("/admin/users/new")
    assert b.post("/admin/users/new", {"username": "new_staff", "name": "新同事", "role": "staff",
                                       "community": "370116001002", "password": "long-enough-1"}).status_code == 302
    browse().login("new_staff", "long-enough-1")  # can log in
    b.get(f"/admin/users/{world.member2.id}/edit")
    assert b.post(f"/admin/users/{world.member2.id}/active").status_code == 302
    other = browse()
    other.get("/login")
    assert other.post("/login", {"username": "member_a2", "password": "secret-pass-1"}).status_code == 401
    b.get("/admin/import")
    csv_text = ("username,name,role,unit,community,scope,password\n"
                "imp1,导入一,member,lw001,370116001001,,pass-word-1\nimp2,导入二,member,lw002,370116001001,,\n")
    response = b.post("/admin/import", {"file": (io.BytesIO(csv_text.encode()), "u.csv")},
                      content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert "<progress" in html and "导入完成：新建 2 个" in html and "imp2" in html
    b.get("/admin/import")
    bad = "username,name,role,unit,community,scope,password\nx1,X,member,nope,370116001001,,\n"
    html = b.post("/admin/import", {"file": (io.BytesIO(bad.encode()), "u.csv")},
                  content_type="multipart/form-data").get_data(as_text=True)
    assert "未导入任何用户" in html and "第 2 行，单位" in html and "没有“nope”这个单位" in html
    assert "凤城街道" in b.get("/admin/places").get_data(as_text=True)
    workflow = b.get("/admin/workflow").get_data(as_text=True)
    assert workflow.count('<svg class="diagram"') == 7 and "dual_reporting@2" in workflow and "stateDiagram" in workflow
    assert "registration@1" in workflow and "pairing@1" in workflow and "project@1" in workflow
