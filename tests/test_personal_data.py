"""A person's own data: the export holds everything about them and nothing of anyone else's;
the API and the page give the same file; the privacy notice renders in both languages with the
retention periods in effect."""
import json

import pytest

from tests.api.api_helpers import ApiClient, assert_error, make_jpeg
from tests.pages.conftest import Browser
from workflow.services import claims, household, personal_data, uploads


@pytest.fixture
def lives(app, world):
    """Two members with work on the same task; staff who verified one of them."""
    task = world.task(points=15)
    mine = claims.start_claim(task.id, world.member)
    photo = uploads.save_upload(world.member, make_jpeg(), app.config["BAODAO_UPLOAD_DIR"])
    claims.fire(mine.id, "check_in", world.member, {"note": "给王大爷送了米面油", "photos": [photo.id]})
    claims.fire(mine.id, "submit_report", world.member, {"summary": "我的服务报告", "hours": 1.5, "households": 1})
    claims.fire(mine.id, "approve", world.staff, {"comment": "核实无误"})
    household.read_household_note(world.member, task, purpose="test")  # (verified: not live, so not read)
    theirs = claims.start_claim(task.id, world.member2)
    other_photo = uploads.save_upload(world.member2, make_jpeg(color=(0, 90, 200)), app.config["BAODAO_UPLOAD_DIR"])
    claims.fire(theirs.id, "check_in", world.member2, {"note": "别人的走访记录", "photos": [other_photo.id]})
    household.read_household_note(world.member2, task, purpose="test")
    claims.fire(theirs.id, "withdraw", world.member2, {"reason": "别人的撤回原因"})
    return {"task": task, "mine": mine, "theirs": theirs, "photo": photo, "other_photo": other_photo}


def test_the_export_holds_the_members_data_and_nothing_of_anothers(app, world, session, lives):
    doc = personal_data.export(session, world.member)
    text = json.dumps(doc, ensure_ascii=False)
    assert doc["format"] == "baodao-personal-data" and doc["person"] == {"id": world.member.id,
                                                                        "username": world.member.username}
    assert doc["sections"] == list(personal_data.SECTIONS)
    assert doc["account"]["unit"]["name"] == "区委组织部" and doc["account"]["community"]["town"]["name"] == "凤城街道"
    assert "scrypt" in doc["account"]["password"] and world.member.password_hash not in text

    (claim,) = doc["claims"]
    assert claim["id"] == lives["mine"].id and claim["state"] == "verified"
    assert claim["visits"][0]["note"] == "给王大爷送了米面油" and claim["visits"][0]["photos"] == [lives["photo"].id]
    assert claim["reports"][0]["summary"] == "我的服务报告"
    assert [e["trigger"] for e in claim["events"]] == ["claim", "check_in", "submit_report", "approve"]
    approve = claim["events"][-1]
    assert approve["input"]["comment"] == "核实无误" and approve["actor"]["role"] == "staff"
    assert doc["points"]["total"] == 15 and doc["unit_feedback"][0]["hours"] == 1.5
    (photo,) = doc["uploads"]
    assert photo["id"] == lives["photo"].id and photo["url"] == f"/api/v1/uploads/{lives['photo'].id}"
    # the claim's fill of its task is an action on a subject not the member's own: what and when only
    assert {a["subject"] for a in doc["actions"]} <= {f"task:{lives['task'].id}"}
    assert doc["household_note_reads"] == []  # the claim was no longer live: nothing read

    # nothing of member2's: their claim, words, photo, reads
    for foreign in ("别人的走访记录", "别人的撤回原因", "member_a2", lives["other_photo"].sha256):
        assert foreign not in text
    assert lives["theirs"].id not in {c["id"] for c in doc["claims"]}
    assert "王大爷，电话" not in text  # the household's note is the household's, not the member's


def test_the_household_note_reads_and_staffs_actions_are_theirs(app, world, session, lives):
    theirs = personal_data.export(session, world.member2)
    assert [r["purpose"] for r in theirs["household_note_reads"]] == ["test"]
    assert theirs["claims"][0]["last_reason"] is None  # withdraw keeps no reason on the claim …
    assert theirs["claims"][0]["events"][-1]["input"] == {"reason": "别人的撤回原因"}  # … its event has it
    staff = personal_data.export(session, world.staff)
    assert staff["claims"] == [] and staff["points"] == {"total": 0, "entries": []}
    assert {"approve"} <= {a["trigger"] for a in staff["actions"]}
    assert "核实无误" not in json.dumps(staff, ensure_ascii=False)  # the words are about the member
    assert {t["id"] for t in staff["tasks_created"]} == {lives["task"].id}


def test_the_api_and_the_page_give_the_same_file_for_every_role(app, world, lives):
    api = ApiClient(app)
    for user in (world.member, world.staff, world.supervisor, world.liaison, world.admin):
        response = api.get("/api/v1/me/export", user)
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="baodao-personal-data-')
        body = response.get_json()
        assert body["account"]["username"] == user.username
        browser = Browser(app)
        browser.login(user.username)
        page = browser.get("/me/data")
        assert page.status_code == 200 and "下载我的数据" in page.get_data(as_text=True)
        download = browser.get("/me/data/export")
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == response.headers["Content-Disposition"]
        mine = download.get_json()
        moving = ("generated_at", "sessions", "logins")  # the page's own login came in between
        assert {k: v for k, v in mine.items() if k not in moving} == {k: v for k, v in body.items() if k not in moving}
        assert mine["logins"][-1]["channel"] == "page" and mine["logins"][-1]["ok"] is True
    assert_error(api.get("/api/v1/me/export"), 401)


def test_the_export_shows_erased_texts_as_erased(app, world, session, lives):
    from datetime import timedelta

    from workflow.clock import utcnow
    from workflow.services import erasure

    erasure.run(now=utcnow() + timedelta(days=1096))
    session.rollback()
    doc = personal_data.export(session, world.member)
    (claim,) = doc["claims"]
    assert claim["visits"][0]["note"] is None
    assert claim["visits"][0]["erased"]["notice"] == "erased under the retention rules"
    assert claim["events"][1]["input"]["note"] is None and claim["events"][1]["erased"]["fields"] == ["note"]
    assert doc["uploads"][0]["url"] is None and doc["uploads"][0]["erased_at"]
    assert "给王大爷送了米面油" not in json.dumps(doc, ensure_ascii=False)


def test_the_my_data_page_is_in_every_roles_menu(app, world):
    for user in (world.member, world.staff, world.supervisor, world.liaison, world.admin):
        browser = Browser(app)
        browser.login(user.username)
        assert 'href="/me/data"' in browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert Browser(app).get("/me/data").status_code == 302  # to the login page


@pytest.mark.app_config(BAODAO_RETENTION_HOUSEHOLD_NOTE_DAYS=60, BAODAO_RETENTION_RECORD_DAYS=730,
                        BAODAO_PRIVACY_CONTACT="区委组织部 0634-1234567")
def test_the_privacy_notice_renders_in_both_languages_with_the_periods_in_effect(app):
    browser = Browser(app)
    zh = browser.get("/privacy")
    assert zh.status_code == 200
    html = zh.get_data(as_text=True)
    assert "<h1>隐私说明</h1>" in html and 'lang="zh-CN"' in html
    assert '<strong id="retention-household">60</strong>' in html and '<strong id="retention-records">730</strong>' in html
    assert "每一次查看都会被记录" in html and "区委组织部 0634-1234567" in html and 'href="/me/data"' in html
    en = browser.get("/privacy?lang=en").get_data(as_text=True)
    assert "<h1>Privacy notice</h1>" in en and 'lang="en"' in en
    assert '<strong id="retention-household">60</strong>' in en and "Every read is logged" in en
    login = Browser(app).get("/login").get_data(as_text=True)
    assert 'href="/privacy"' in login and "隐私说明" in login  # on the login page and in the footer


def test_the_privacy_notice_names_the_default_periods(app):
    html = Browser(app).get("/privacy").get_data(as_text=True)
    assert '<strong id="retention-household">90</strong>' in html
    assert '<strong id="retention-records">1095</strong>' in html
    assert '<strong id="retention-logs">180</strong>' in html  # the security log's period (BAODAO_LOG_RETENTION_DAYS)
    assert "请联系您所在社区的工作人员" in html


def test_a_bad_retention_setting_stops_start_up_naming_it(monkeypatch, tmp_path):
    from api import config

    monkeypatch.setenv("BAODAO_RETENTION_RECORD_DAYS", "three years")
    with pytest.raises(RuntimeError, match="BAODAO_RETENTION_RECORD_DAYS must be a whole number of days"):
        config.from_environment(str(tmp_path))
    monkeypatch.setenv("BAODAO_RETENTION_RECORD_DAYS", "0")
    with pytest.raises(RuntimeError, match="at least 1"):
        config.from_environment(str(tmp_path))


def test_certificates_issued_to_the_member_are_in_their_export_only(app, world, session, lives):
    from workflow.clock import utcnow
    from workflow.services import certificates

    month = (utcnow() + certificates.BEIJING).date()
    issued = certificates.issue(world.member, first_month=month, last_month=month, district="莱芜区",
                                key_path=app.config["BAODAO_CHECKPOINT_KEY"])
    session.rollback()
    (certificate,) = personal_data.export(session, world.member)["certificates"]
    assert certificate["code"] == issued.code and certificate["hours"] == 1.5
    assert certificate["verify_url"] == f"/verify/{issued.code}"
    assert personal_data.export(session, world.member2)["certificates"] == []


def test_the_members_registrations_and_notifications_are_in_their_export_only(app, world, session, lives):
    from workflow.services import registrations

    applied = registrations.apply(world.member3, {"community_id": world.c.id, "skills": "法律咨询"})
    registrations.fire(applied.id, "decline", world.staff_c, {"reason": "请向居住地社区报到"})
    doc = personal_data.export(session, world.member3)
    (reg,) = doc["registrations"]
    assert reg["id"] == applied.id and reg["state"] == "declined" and reg["skills"] == "法律咨询"
    assert [e["trigger"] for e in reg["events"]] == ["apply", "decline"]
    assert all(n["subject_type"] == "registration" for n in doc["notifications"]["items"])
    others = personal_data.export(session, world.member)
    assert others["registrations"] == [] or applied.id not in {r["id"] for r in others["registrations"]}
    # member1 was told of the approval of their report; member3 of nothing about it
    assert any(n["kind"] == "claim_approved" for n in others["notifications"]["items"])
    assert not any(n["kind"] == "claim_approved" for n in doc["notifications"]["items"])


def test_what_a_liaison_proposed_wrote_and_listed_is_in_their_export_only(app, world, session):
    """A liaison's export: the pairings they proposed, the reports they wrote, the resource lines
    they added (with the contact); their steps on the unit's pairings and projects as actions. The
    other unit's liaison and the staff who decided have none of it."""
    from datetime import timedelta

    from workflow.clock import district_date, utcnow
    from workflow.services import pairings, projects, resources

    day = lambda n: (district_date(utcnow()) + timedelta(days=n)).isoformat()  # noqa: E731
    pairing = pairings.propose(world.liaison, {"community_id": world.a.id, "agreement": "共建党课", "ends_on": day(90)})
    pairings.fire(pairing.id, "accept", world.staff, {})
    project = projects.publish(world.staff, {"title": "图书角", "description": "d", "category": "教育培训",
                                             "starts_on": day(0), "ends_on": day(30)})
    projects.fire(project.id, "take", world.liaison, {})
    projects.fire(project.id, "report_progress", world.liaison, {"text": "我写的进展"})
    resources.add_resource(world.liaison, world.unit1.id, {"title": "党课辅导", "category": "政策宣讲",
                                                            "contact": "王老师 13800000001"})
    doc = personal_data.export(session, world.liaison)
    assert [p["id"] for p in doc["pairings"]] == [pairing.id] and doc["pairings"][0]["agreement"] == "共建党课"
    assert [r["text"] for r in doc["project_reports"]] == ["我写的进展"]
    assert doc["resources"][0]["contact"] == "王老师 13800000001"
    assert {a["subject"] for a in doc["actions"]} >= {f"pairing:{pairing.id}", f"project:{project.id}"}
    other = json.dumps(personal_data.export(session, world.liaison2), ensure_ascii=False)
    assert "我写的进展" not in other and "王老师" not in other and "共建党课" not in other
    staff = personal_data.export(session, world.staff)
    assert staff["pairings"] == [] and staff["project_reports"] == [] and staff["resources"] == []
