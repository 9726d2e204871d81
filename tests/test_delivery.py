"""E-mail through the outbox, sent to a real SMTP server started in the test (aiosmtpd), on both
databases: once per message even with several workers at once, held by quiet hours, gathered
into daily digests, retried with back-off, failures kept for the admins."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from workflow.clock import DISTRICT_TZ, utcnow
from workflow.models import OutboxMessage, User
from workflow.services import claims, delivery, notifications, outbox, preferences
from api.email_channel import EmailChannel
from workflow.services.tx import write_transaction

from tests.mail_server import SmtpServer, free_port
from tests.test_concurrency import race
from tests.test_notifications import reported_claim

PORT = free_port()
DEAD_PORT = free_port()  # nothing listens here: a mail server that is down
BASE = "https://baodao.example.test"
MAIL = dict(BAODAO_SMTP_URL=f"smtp://127.0.0.1:{PORT}", BAODAO_BASE_URL=BASE, BAODAO_QUIET_HOURS="off",
            BAODAO_MAIL_FROM="报到 <noreply@baodao.example.test>")


@pytest.fixture
def smtp():
    server = SmtpServer(PORT).start()
    yield server.mailbox
    server.stop()


def give_email(*people):
    with write_transaction() as s:
        for person in people:
            s.get(User, person.id).email = f"{person.username}@example.test"


def run(app, now=None, worker=None):
    from api.pages.notifications import external_links

    return delivery.deliver({"email": EmailChannel(app.config["BAODAO_MAIL_FROM"])}, link=external_links(app),
                            now=now, worker=worker)


def outbox_rows(session):
    session.rollback()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


@pytest.mark.app_config(**MAIL)
def test_a_notification_is_emailed_once_in_the_readers_language(app, world, session, smtp):
    give_email(world.member, world.member2)
    preferences.save(world.member2, modes={}, quiet_hours=None, language="en")
    first = reported_claim(world)
    second = reported_claim(world, member=world.member2)
    claims.fire(first.id, "return", world.staff, {"reason": "请补充照片"})
    claims.fire(second.id, "return", world.staff, {"reason": "Add a photo"})

    result = run(app)
    assert (result.messages, result.notifications, result.failed) == (2, 2, 0)
    (zh,) = smtp.to("member_a1@example.test")
    assert zh.subject == "【报到】报告被退回"
    assert "您在“为独居老人购买取暖用品”的报告被退回补充：请补充照片" in zh.body
    assert f"{BASE}/claims/{first.id}" in zh.body and f"{BASE}/notifications/settings" in zh.body
    assert zh.message["From"] == "报到 <noreply@baodao.example.test>"
    (en,) = smtp.to("member_a2@example.test")
    assert en.subject == "[Baodao] Your report was returned"
    assert "was returned for more: Add a photo" in en.body

    assert run(app).messages == 0  # delivered already: nothing twice
    assert len(smtp.received) == 2
    sent = [r for r in outbox_rows(session) if r.status == "sent"]
    assert sorted(r.user_id for r in sent) == sorted([world.member.id, world.member2.id])
    assert all(r.attempts == 1 and r.claimed_by is None and r.sent_at for r in sent)


@pytest.mark.app_config(**MAIL)
def test_two_workers_at_once_send_each_message_once(app, world, session, smtp, password_hash):
    with write_transaction() as s:
        people = [User(username=f"m{i}", name=f"m{i}", role="member", unit=world.unit1, community=world.a,
                       password_hash=password_hash, email=f"m{i}@example.test") for i in range(6)]
        s.add_all(people)
    for person in people:
        claim = reported_claim(world, member=person, task=world.task(capacity=1))
        claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    results = race(app, [lambda i=i: run(app, worker=f"worker-{i}") for i in range(4)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.messages for r in results) == 6
    for person in people:
        assert len(smtp.to(f"{person.username}@example.test")) == 1
    assert {r.status for r in outbox_rows(session) if r.mode == "immediate"} == {"sent"}


@pytest.mark.app_config(**MAIL)
def test_quiet_hours_hold_messages_until_morning_then_send_them_together(app, world, session, smtp):
    give_email(world.member)
    now = utcnow()
    local = now.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ)
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M")
    preferences.save(world.member, modes={}, quiet_hours=(start, end), language="zh_CN")
    one, two = reported_claim(world), reported_claim(world)
    claims.fire(one.id, "return", world.staff, {"reason": "一"})
    claims.fire(two.id, "approve", world.staff, {})
    held = [r for r in outbox_rows(session) if r.user_id == world.member.id]
    release = outbox.hold(now, (start, end))
    assert len(held) == 2 and all(abs(r.due_at - release) < timedelta(minutes=2) for r in held)
    assert release > now + timedelta(minutes=100)

    assert run(app).messages == 0 and smtp.received == []
    result = run(app, now=release + timedelta(minutes=1))
    assert (result.messages, result.notifications) == (1, 2)
    (mail,) = smtp.received
    assert mail.subject == "【报到】2 条新通知"
    assert "1. 您在“为独居老人购买取暖用品”的报告被退回补充：一" in mail.body and "2. 您在" in mail.body


@pytest.mark.app_config(**MAIL)
def test_a_daily_digest_is_one_message_listing_what_happened(app, world, session, smtp):
    give_email(world.staff)  # staff get new reports in a digest unless they choose otherwise
    for member in (world.member, world.member2, world.member):
        reported_claim(world, member=member)
    rows = outbox_rows(session)
    assert [r.mode for r in rows] == ["digest"] * 3
    digest_at = outbox.next_digest(utcnow(), "08:00", None)
    assert all(abs(r.due_at - digest_at) < timedelta(minutes=2) for r in rows)
    assert digest_at.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).strftime("%H:%M") == "08:00"

    assert run(app).messages == 0
    result = run(app, now=digest_at + timedelta(minutes=1))
    assert (result.messages, result.notifications) == (1, 3)
    (mail,) = smtp.received
    assert mail.subject == "【报到】3 条新通知" and mail.rcpt_tos == ["staff_a@example.test"]
    assert mail.body.count("提交了“为独居老人购买取暖用品”的服务报告") == 3


@pytest.mark.app_config(**MAIL)
def test_in_app_only_and_read_in_the_app_first_are_not_emailed(app, world, session, smtp):
    give_email(world.member, world.staff)
    preferences.save(world.member, modes={"claim_returned": "in_app"}, quiet_hours=None, language="zh_CN")
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    assert [r.user_id for r in outbox_rows(session)] == [world.staff.id]  # the member chose the app only
    assert notifications.unread_count(session, world.member.id) == 1  # … where it is

    notifications.mark_read(world.staff.id, everything=True)  # the staff member saw it in the app
    result = run(app, now=utcnow() + timedelta(days=1, hours=1))
    assert (result.messages, result.skipped) == (0, 1) and smtp.received == []
    (row,) = outbox_rows(session)
    assert (row.status, row.last_error) == ("skipped", "read in the app first")


@pytest.mark.app_config(**{**MAIL, "BAODAO_SMTP_URL": f"smtp://127.0.0.1:{DEAD_PORT}?timeout=5"})
def test_a_mail_server_that_is_down_is_retried_with_back_off_then_shown_to_admins(app, world, session):
    give_email(world.member)
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    now = utcnow()
    waits = []
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        result = run(app, now=now)
        (row,) = outbox_rows(session)
        assert row.attempts == attempt and "ConnectionRefusedError" in row.last_error
        if attempt < delivery.MAX_ATTEMPTS:
            assert (result.retrying, row.status) == (1, "pending")
            waits.append(row.due_at - now)
            assert run(app, now=now).retrying == 0  # not due again before its back-off
            now = row.due_at
        else:
            assert (result.failed, row.status) == (1, "failed")
    assert waits == [timedelta(minutes=m) for m in delivery.BACKOFF_MINUTES]

    from tests.pages.conftest import Browser

    admin = Browser(app)
    admin.login("admin")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert 'id="outbox-failed">1<' in page and "ConnectionRefusedError" in page and "member_a1" in page
    admin.post("/admin/outbox/retry", {"id": str(row.id)})
    (row,) = outbox_rows(session)
    assert (row.status, row.attempts) == ("pending", 0)


@pytest.mark.app_config(**MAIL)
def test_an_address_the_server_refuses_fails_at_once(app, world, session, smtp):
    give_email(world.member)
    smtp.refuse.add("member_a1@example.test")
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    result = run(app)
    assert (result.messages, result.failed, result.retrying) == (0, 1, 0)
    (row,) = outbox_rows(session)
    assert row.status == "failed" and row.last_error.startswith("address refused: member_a1@example.test (550")


@pytest.mark.app_config(**MAIL)
def test_notify_deliver_command(app, world, smtp):
    give_email(world.member)
    claim = reported_claim(world)
    claims.fire(claim.id, "approve", world.staff, {})
    result = app.test_cli_runner().invoke(args=["notify", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1 messages (1 notifications), 0 to retry, 0 failed, 0 skipped" in result.output
    assert smtp.received[0].subject == "【报到】服务已核实通过"


def test_without_a_mail_server_nothing_is_queued_and_deliver_says_so(app, world, session):
    give_email(world.member)
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    assert outbox_rows(session) == [] and notifications.unread_count(session, world.member.id) == 1
    result = app.test_cli_runner().invoke(args=["notify", "deliver"])
    assert result.exit_code == 0 and "e-mail is not set up" in result.output


# --- when: quiet hours and digests on the district's clock (no database) --------------------------

def utc(local: str) -> datetime:
    """A Beijing wall-clock time as naive UTC."""
    return datetime.fromisoformat(local).replace(tzinfo=DISTRICT_TZ).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("at, quiet, expected", [
    ("2026-12-01 23:30", ("22:00", "08:00"), "2026-12-02 08:00"),  # late evening → next morning
    ("2026-12-02 06:10", ("22:00", "08:00"), "2026-12-02 08:00"),  # early morning → this morning
    ("2026-12-02 08:00", ("22:00", "08:00"), "2026-12-02 08:00"),  # the end is outside
    ("2026-12-02 12:00", ("22:00", "08:00"), "2026-12-02 12:00"),  # daytime: at once
    ("2026-12-02 12:30", ("12:00", "14:00"), "2026-12-02 14:00"),  # a window within the day
    ("2026-12-02 23:30", None, "2026-12-02 23:30"),  # no quiet hours
])
def test_quiet_hours_hold_until_they_end(at, quiet, expected):
    assert outbox.hold(utc(at), quiet) == utc(expected)


@pytest.mark.parametrize("at, digest, quiet, expected", [
    ("2026-12-01 09:00", "08:00", ("22:00", "08:00"), "2026-12-02 08:00"),
    ("2026-12-01 07:00", "08:00", ("22:00", "08:00"), "2026-12-01 08:00"),
    ("2026-12-01 07:00", "07:30", ("22:00", "08:00"), "2026-12-01 08:00"),  # inside quiet hours: at their end
    ("2026-12-01 18:00", "19:00", None, "2026-12-01 19:00"),
])
def test_the_digest_goes_out_at_its_time_outside_quiet_hours(at, digest, quiet, expected):
    assert outbox.next_digest(utc(at), digest, quiet) == utc(expected)


def test_bad_quiet_hours_and_digest_times_stop_start_up(tmp_path):
    from api import create_app

    for setting in ({"BAODAO_QUIET_HOURS": "22-8"}, {"BAODAO_DIGEST_TIME": "25:00"},
                    {"BAODAO_SMTP_URL": "http://mail.example.test"}):
        with pytest.raises(ValueError):
            create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", **setting})
