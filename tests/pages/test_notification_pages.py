"""The bell on every page, the inbox, notification settings, e-mail on the admin's user form,
and escalations on the supervisor's dashboard (both databases)."""
import re
from datetime import timedelta

from sqlalchemy import select

from workflow.models import Claim, NotificationPreference, NotificationSettings, User
from workflow.services import claims, timers

from tests.test_notifications import reported_claim


def bell(html: str):
    """The bell's number, or None when it shows none."""
    match = re.search(r'id="bell"[^>]*>.*?(?:<span class="count" id="bell-count">([^<]+)</span>)?</a>', html, re.S)
    assert match, "no bell on the page"
    return match.group(1)


def test_the_bell_counts_unread_on_every_page_for_every_role(app, world, browse):
    member = browse("member_a1")
    assert bell(member.get("/").get_data(as_text=True)) is None
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "请补充"})
    for path in ("/", "/me/points", f"/tasks/{claim.task_id}"):
        assert bell(member.get(path).get_data(as_text=True)) == "1", path
    staff = browse("staff_a")
    assert bell(staff.get("/staff/queue").get_data(as_text=True)) == "1"  # the report
    for who in ("sup_district", "admin"):
        page = browse(who).get("/supervisor/").get_data(as_text=True)
        assert bell(page) is None and 'href="/notifications"' in page


def test_the_inbox_lists_newest_first_links_to_the_claim_and_opening_it_reads_it(app, world, browse):
    first = reported_claim(world, task=world.task(capacity=1))
    second = reported_claim(world, task=world.task(capacity=1))
    claims.fire(first.id, "return", world.staff, {"reason": "第一条"})
    claims.fire(second.id, "approve", world.staff, {})
    member = browse("member_a1")
    page = member.get("/notifications").get_data(as_text=True)
    items = re.findall(r'<li class="(unread|read)" data-id="\d+">.*?<a class="text" href="([^"]+)">([^<]+)</a>',
                       page, re.S)
    assert items == [
        ("unread", f"/claims/{second.id}", "您在“为独居老人购买取暖用品”的服务已核实通过，获得 10 积分。"),
        ("unread", f"/claims/{first.id}", "您在“为独居老人购买取暖用品”的报告被退回补充：第一条"),
    ]
    assert bell(page) == "2"
    opened = member.get(f"/claims/{first.id}").get_data(as_text=True)  # the link's target
    assert bell(opened) == "1"
    page = member.get("/notifications?unread=1").get_data(as_text=True)
    assert f'href="/claims/{first.id}"' not in page and f'href="/claims/{second.id}"' in page
    english = member.get("/notifications?lang=en").get_data(as_text=True)
    assert "Your work on “为独居老人购买取暖用品” was approved: 10 points." in english


def test_mark_one_and_mark_all_read(app, world, browse):
    for _ in range(3):
        claim = reported_claim(world, task=world.task(capacity=1))
        claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    member = browse("member_a1")
    ids = re.findall(r'data-id="(\d+)"', member.get("/notifications").get_data(as_text=True))
    response = member.post(f"/notifications/{ids[0]}/read", {"next": "/notifications"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    assert bell(member.get("/").get_data(as_text=True)) == "2"
    assert member.post(f"/notifications/{ids[0]}/read", {}, csrf=False).status_code == 400
    response = member.post("/notifications/read", {"next": "https://evil.example/"})
    assert response.headers["Location"] == "/notifications"  # never off-site
    assert bell(member.get("/").get_data(as_text=True)) is None
    assert "没有未读通知" in member.get("/notifications?unread=1").get_data(as_text=True)


def test_settings_are_saved_and_bad_ones_are_refused_in_the_pages_language(app, world, browse, session):
    member = browse("member_a1")
    page = member.get("/notifications/settings").get_data(as_text=True)
    assert 'name="mode_claim_returned"' in page and 'name="mode_claim_reported"' not in page  # staff's kind
    response = member.post("/notifications/settings", {"mode_claim_returned": "digest", "quiet_on": "1",
                                                       "quiet_start": "21:30", "quiet_end": "07:00",
                                                       "language": "en"})
    assert response.status_code == 302
    session.rollback()
    assert session.get(NotificationPreference, (world.member.id, "claim_returned")).mode == "digest"
    stored = session.get(NotificationSettings, world.member.id)
    assert (stored.quiet_start, stored.quiet_end, stored.language) == ("21:30", "07:00", "en")

    response = member.post("/notifications/settings", {"mode_claim_returned": "hourly", "quiet_on": "1",
                                                       "quiet_start": "25:00", "quiet_end": "07:00",
                                                       "language": "zh_CN"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "请修改标出的设置" in html and "A time of day as HH:MM." in html
    session.rollback()
    assert session.get(NotificationPreference, (world.member.id, "claim_returned")).mode == "digest"  # unchanged
    member.post("/notifications/settings", {"language": "zh_CN"})  # quiet hours off
    session.rollback()
    assert session.get(NotificationSettings, world.member.id).quiet_start is None


def test_the_admin_sets_an_email_address_and_a_bad_one_is_refused(app, world, browse, session):
    admin = browse("admin")
    form = {"username": "member_a2", "name": "member_a2", "role": "member", "unit": "lw002",
            "community": "370116001001", "scope": "", "password": ""}
    assert 'name="email"' in admin.get(f"/admin/users/{world.member2.id}/edit").get_data(as_text=True)
    response = admin.post(f"/admin/users/{world.member2.id}/edit", {**form, "email": "not an address"})
    assert response.status_code == 200 and "这不是有效的电子邮箱地址。" in response.get_data(as_text=True)
    response = admin.post(f"/admin/users/{world.member2.id}/edit", {**form, "email": " Member.A2@Example.COM "})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, world.member2.id).email == "Member.A2@example.com"
    page = admin.get(f"/admin/users/{world.member2.id}/edit").get_data(as_text=True)
    assert 'value="Member.A2@example.com"' in page
    # Where a person's notifications go is an administrator's act: on the security log.
    from workflow.models import AuditEvent

    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "admin",
                                                     AuditEvent.trigger == "edit_user")).one()
    assert event.payload["email"] == [None, "Member.A2@example.com"]


def test_users_import_takes_an_optional_email_column(app, world, session):
    from workflow.errors import InvalidInput
    from workflow.services import users

    users.import_users("username,name,role,unit,community,scope,password,email\n"
                       "with_mail,有邮箱,member,lw001,370116001001,,pass-word-1,with@example.com\n"
                       "without,无邮箱,member,lw001,370116001001,,pass-word-1,\n")
    found = dict(session.execute(select(User.username, User.email).where(User.username.in_(("with_mail", "without")))).all())
    assert found == {"with_mail": "with@example.com", "without": None}
    try:
        users.import_users("username,name,role,unit,community,scope,password,email\n"
                           "bad_mail,坏,member,lw001,370116001001,,pass-word-1,nobody@@x\n")
    except InvalidInput as exc:
        assert exc.message.startswith("line 2, email: not a valid e-mail address")
    else:
        raise AssertionError("a bad address was imported")


def test_the_supervisors_dashboard_shows_overdue_verifications(app, world, browse, session):
    claim = reported_claim(world)
    reported_at = session.get(Claim, claim.id).updated_at
    timers.run(now=reported_at + timedelta(days=7, minutes=1))
    page = browse("sup_town").get("/supervisor/").get_data(as_text=True)
    assert 'id="escalated-count">1<' in page
    assert re.search(rf'<table id="escalated">.*href="/claims/{claim.id}"', page, re.S)
    assert bell(page) == "1"  # the town's supervisor was told
    other = browse("sup_town2").get("/supervisor/").get_data(as_text=True)
    assert 'id="escalated-count">0<' in other and bell(other) is None


def test_acting_on_a_claim_reads_what_one_was_told_about_it(app, world, browse):
    """Staff told of a report who verify it from their queue are not left with an unread reminder."""
    claim = reported_claim(world)
    staff = browse("staff_a")
    assert bell(staff.get("/staff/queue").get_data(as_text=True)) == "1"
    response = staff.post(f"/claims/{claim.id}/approve", {"comment": "属实", "next": "/staff/queue"})
    assert response.status_code == 302
    assert bell(staff.get("/staff/queue").get_data(as_text=True)) is None
