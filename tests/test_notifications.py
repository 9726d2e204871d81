"""Notifications written with their cause, by driving the real transitions and timers (issue 14).

Every kind the shipped claim definitions declare is produced here through the engine on both
databases: one row per recipient, in the same transaction as the transition or timer firing —
a rolled-back transition leaves none — addressed by relation (the claimant, the community's
staff, the supervisors over the community), never to the actor, rendered in Chinese by default
and in English on request.
"""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from workflow import audit
from workflow.clock import utcnow
from workflow.models import AuditEvent, Claim, Notification, TimerFiring, User
from workflow.services import claims, dashboard, notifications, timers, transitions
from workflow.services import tasks as task_service
from workflow.services.tx import write_transaction

from tests.test_concurrency import race


def told(session, kind=None, user=None):
    """(user id, kind, subject id, params) of the notifications written, oldest first."""
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    if user:
        query = query.where(Notification.user_id == user.id)
    return [(n.user_id, n.kind, n.subject_id, n.params) for n in session.scalars(query)]


def reported_claim(world, task=None, member=None):
    member = member or world.member
    task = task or world.task(capacity=3)
    claim = claims.start_claim(task.id, member)
    claims.fire(claim.id, "check_in", member, {"note": "走访"})
    claims.fire(claim.id, "submit_report", member, {"summary": "完成", "hours": 2})
    return claim


def render(app, kind, params, locale="zh_CN"):
    return notifications.text(kind, params, locale)


def test_staff_are_told_of_a_report_and_the_claimant_of_its_return_approval_and_rejection(app, world, session):
    claim = reported_claim(world)
    # The community's staff (staff_a), not staff of other communities, not the member who reported.
    assert told(session) == [(world.staff.id, "claim_reported", claim.id,
                              {"member": "member_a1", "task": "为独居老人购买取暖用品"})]

    claims.fire(claim.id, "return", world.staff, {"reason": "请补充照片"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "补充", "hours": 2})
    claims.fire(claim.id, "approve", world.staff, {})
    other = reported_claim(world, member=world.member2)
    claims.fire(other.id, "reject", world.staff, {"reason": "与任务无关"})

    mine = told(session, user=world.member)
    assert [(k, p) for _, k, _, p in mine] == [
        ("claim_returned", {"task": "为独居老人购买取暖用品", "reason": "请补充照片"}),
        ("claim_approved", {"task": "为独居老人购买取暖用品", "points": 10}),
    ]
    assert [(k, p["reason"]) for _, k, _, p in told(session, user=world.member2) if k == "claim_rejected"] == [
        ("claim_rejected", "与任务无关")]
    # Staff were told of each report (three: the first, the re-submission, the other member's), nobody else.
    assert {u for u, *_ in told(session, kind="claim_reported")} == {world.staff.id}
    assert len(told(session, kind="claim_reported")) == 3
    assert not told(session, user=world.staff_b) and not told(session, user=world.supervisor)

    returned = told(session, kind="claim_returned")[0]
    assert render(app, "claim_returned", returned[3]) == "您在“为独居老人购买取暖用品”的报告被退回补充：请补充照片"
    assert render(app, "claim_returned", returned[3], "en") == \
        "Your report on “为独居老人购买取暖用品” was returned for more: 请补充照片"
    assert render(app, "claim_approved", {"task": "T", "points": 10}) == "您在“T”的服务已核实通过，获得 10 积分。"


def test_cancelling_a_task_tells_each_claimant_with_the_reason(app, world, session):
    task = world.task(capacity=3)
    a = claims.start_claim(task.id, world.member)
    b = claims.start_claim(task.id, world.member2)
    task_service.cancel_task(task.id, world.staff, {"reason": "天气原因取消"})
    cancelled = told(session, kind="claim_cancelled")
    assert sorted((u, s) for u, _, s, _ in cancelled) == sorted([(world.member.id, a.id), (world.member2.id, b.id)])
    assert {p["reason"] for *_, p in cancelled} == {"天气原因取消"}


def test_the_actor_is_never_told_about_their_own_action_and_inactive_people_are_not_told(app, world, session):
    with write_transaction() as s:
        second = User(username="staff_a2", name="staff_a2", role="staff", community_id=world.a.id,
                      password_hash="x", active=False)
        s.add(second)
    claim = reported_claim(world)
    assert [u for u, *_ in told(session, kind="claim_reported")] == [world.staff.id]  # not the inactive one
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    assert not told(session, user=world.staff, kind="claim_returned")


def test_a_claimant_made_inactive_before_the_approve_is_not_told(app, world, session):
    """The claimant's active flag is read with the claim's lock (no query of its own): a member
    deactivated before the approve is not told, one active is."""
    claim, other = reported_claim(world), reported_claim(world, member=world.member2)
    with write_transaction() as s:
        s.get(User, world.member.id).active = False
    claims.fire(claim.id, "approve", world.staff, {})
    claims.fire(other.id, "approve", world.staff, {})
    assert [u for u, *_ in told(session, kind="claim_approved")] == [world.member2.id]


def test_a_rolled_back_transition_leaves_no_notification(app, world, session, monkeypatch):
    """The notification is written inside the transition; when anything after it fails (here:
    computing the answer, the last step before the commit), the whole transaction rolls back."""
    claim = reported_claim(world)
    before = session.scalar(select(func.count(Notification.id)))

    def broken_answer(*args, **kwargs):
        assert session.scalar(select(func.count(Notification.id))) == before + 1  # written, not committed
        raise RuntimeError("the process died before the commit")

    monkeypatch.setattr(transitions, "result", broken_answer)
    with pytest.raises(RuntimeError):
        claims.fire(claim.id, "return", world.staff, {"reason": "不会保存"})
    session.rollback()
    assert session.scalar(select(func.count(Notification.id))) == before
    assert session.get(Claim, claim.id).state == "reported"
    assert not told(session, kind="claim_returned")


def test_timers_expire_remind_and_escalate_each_exactly_once(app, world, session):
    now = utcnow()
    soon = world.task(capacity=3, deadline=(now + timedelta(days=2)).isoformat())
    live = claims.start_claim(soon.id, world.member)
    waiting = reported_claim(world, member=world.member2)  # on a task due in 10 days

    # 23 hours before the deadline: the claimant is reminded, once.
    at = soon.deadline - timedelta(hours=23)
    first = timers.run(now=at)
    assert first.by_timer == {"dual_reporting@1:deadline_near": 1}
    assert timers.run(now=at + timedelta(minutes=5)).firings == 0  # re-running does nothing new
    reminders = told(session, kind="claim_deadline_near")
    assert [(u, s) for u, _, s, _ in reminders] == [(world.member.id, live.id)]
    assert "截止" in render(app, "claim_deadline_near", reminders[0][3])

    # 3 days after the report: the community's staff; 7 days: the supervisors over the community.
    reported_at = session.get(Claim, waiting.id).updated_at
    timers.run(now=reported_at + timedelta(days=3, minutes=1))
    assert [(u, s, p["days"]) for u, _, s, p in told(session, kind="claim_report_waiting")] == [
        (world.staff.id, waiting.id, 3)]
    assert not told(session, kind="claim_report_escalated")
    timers.run(now=reported_at + timedelta(days=7, minutes=1))
    escalated = told(session, kind="claim_report_escalated")
    # The district's supervisor and the town's; not another town's, not a unit's.
    assert sorted(u for u, *_ in escalated) == sorted([world.supervisor.id, world.supervisor_town.id])
    assert escalated[0][3]["community"] == "东升社区居民委员会"
    timers.run(now=reported_at + timedelta(days=8))
    assert len(told(session, kind="claim_report_escalated")) == 2 and len(told(session, kind="claim_report_waiting")) == 1

    # At the deadline (the live claim): expired by its timer, the claimant told, the task closed.
    timers.run(now=soon.deadline + timedelta(minutes=1))
    assert session.get(Claim, live.id).state == "expired"
    assert [(u, s) for u, _, s, _ in told(session, kind="claim_expired")] == [(world.member.id, live.id)]
    expire = session.scalars(select(AuditEvent).where(AuditEvent.trigger == "expire")).one()
    assert (expire.actor_role, expire.payload["timer"]) == ("system", "expire")
    assert timers.run(now=soon.deadline + timedelta(hours=1)).firings == 0
    assert audit.verify(session).ok


def test_a_new_wait_is_a_new_due_time(app, world, session):
    """Returned and reported again: the 3-day reminder counts from the new report."""
    claim = reported_claim(world)
    first_report = session.get(Claim, claim.id).updated_at
    timers.run(now=first_report + timedelta(days=3, minutes=1))
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "again", "hours": 1})
    second_report = session.get(Claim, claim.id).updated_at
    timers.run(now=second_report + timedelta(days=2))
    assert len(told(session, kind="claim_report_waiting")) == 1
    timers.run(now=second_report + timedelta(days=3, minutes=1))
    assert len(told(session, kind="claim_report_waiting")) == 2
    firings = session.scalars(select(TimerFiring).where(TimerFiring.timer == "dual_reporting@1:report_waiting")
                              .order_by(TimerFiring.id)).all()
    assert [f.anchor_at for f in firings] == [first_report, second_report]
    assert [f.due_at for f in firings] == [first_report + timedelta(days=3), second_report + timedelta(days=3)]


def test_two_timers_runs_at_once_do_everything_once(app, world, session):
    now = utcnow()
    due = []
    for _ in range(3):
        task = world.task(capacity=2, deadline=(now + timedelta(hours=12)).isoformat())
        due.append(claims.start_claim(task.id, world.member))
        due.append(claims.start_claim(task.id, world.member2))
    waiting = reported_claim(world, member=world.member3, task=world.task(staff=world.staff_c))
    at = now + timedelta(days=8)
    results = race(app, [lambda: timers.run(now=at)] * 4)
    assert not any(isinstance(r, Exception) for r in results), results
    session.rollback()
    assert sorted(s for _, _, s, _ in told(session, kind="claim_expired")) == sorted(c.id for c in due)
    assert len(told(session, kind="claim_report_waiting")) == 1  # staff_c, once
    assert {u for u, *_ in told(session, kind="claim_report_escalated")} == {world.supervisor.id,
                                                                          world.supervisor_other_town.id}
    assert len(told(session, kind="claim_report_escalated")) == 2
    expire_events = session.scalars(select(AuditEvent.subject_id).where(AuditEvent.trigger == "expire")).all()
    assert sorted(expire_events) == sorted(c.id for c in due)
    # Each subject's timer fired once; every run's counts add up to exactly that.
    assert sum(r.firings for r in results) == session.scalar(select(func.count(TimerFiring.id)))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):  # the advisory lock: one run did it all
        assert sum(r.firings > 0 for r in results) == 1
    assert waiting.id not in expire_events


def test_a_refused_timer_trigger_is_recorded_and_not_retried(app, world, session, monkeypatch):
    """The trigger's guard has the last word (here the deadline guard, with the clock behind the
    timer's due time); the refusal is recorded, so the next minute's run does not try again."""
    task = world.task(capacity=1, deadline=(utcnow() + timedelta(hours=1)).isoformat())
    claim = claims.start_claim(task.id, world.member)
    from workflow.engine import guards

    monkeypatch.setitem(guards.GUARDS, "past_deadline", lambda ctx: "not yet, says the guard")
    result = timers.run(now=task.deadline + timedelta(minutes=1))
    assert result.refused == 1 and result.fired[("claim", "expire")] == 0
    assert session.get(Claim, claim.id).state == "claimed"
    firing = session.scalars(select(TimerFiring).where(TimerFiring.subject_id == claim.id,
                                                       TimerFiring.timer == "dual_reporting@1:expire")).one()
    assert firing.outcome == "refused: past_deadline"
    assert timers.run(now=task.deadline + timedelta(minutes=2)).refused == 0


def test_supervisors_see_escalated_reports_on_their_dashboard(app, world, session):
    claim = reported_claim(world)
    other = reported_claim(world, member=world.member3, task=world.task(staff=world.staff_c))
    reported_at = session.get(Claim, claim.id).updated_at
    assert dashboard.escalated_claims(session, world.supervisor) == (0, [])
    timers.run(now=reported_at + timedelta(days=7, minutes=5))
    count, rows = dashboard.escalated_claims(session, world.supervisor)
    assert count == 2 and {c.id for c, _t, _since in rows} == {claim.id, other.id}
    count, rows = dashboard.escalated_claims(session, world.supervisor_town)  # scope: its own town only
    assert count == 1 and rows[0][0].id == claim.id and rows[0][2] == reported_at
    # Verified now: no longer waiting, no longer shown.
    claims.fire(claim.id, "approve", world.staff, {})
    assert dashboard.escalated_claims(session, world.supervisor_town) == (0, [])


def test_opening_a_claim_reads_what_one_was_told_about_it(app, world, session):
    claim = reported_claim(world)
    claims.fire(claim.id, "return", world.staff, {"reason": "r"})
    assert notifications.unread_count(session, world.member.id) == 1
    assert notifications.mark_subject_read(session, world.member.id, "claim", claim.id) == 1
    assert notifications.unread_count(session, world.member.id) == 0
    assert notifications.mark_subject_read(session, world.member.id, "claim", claim.id) == 0


def test_a_stored_value_that_no_longer_fits_still_renders(app):
    assert render(app, "claim_returned", {"task": "T"}) == "您在“T”的报告被退回补充：…"
    assert render(app, "claim_returned", "not a dict") == "您在“…”的报告被退回补充：…"
    assert render(app, "no_such_kind", {}) == "no_such_kind"
    assert render(app, "claim_deadline_near", {"task": "T", "deadline": "not a time"}).startswith("“T”将于 not a time")
    assert render(app, "claim_approved", {"task": "T", "points": "%(x)s"}) == "您在“T”的服务已核实通过，获得 %(x)s 积分。"
