"""Registration (报到): the process's trigger table, one live registration per member, terms and
their lapse, the receipt report, grids — through the services, on both databases."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from workflow import audit
from workflow.clock import DISTRICT_TZ, as_utc_naive
from workflow.errors import Conflict, Forbidden, InvalidInput, NotFound, TransitionNotAllowed
from workflow.models import AuditEvent, Grid, Registration, User
from workflow.services import expiry, grids, receipts, registrations, timers
from workflow.services.tx import write_transaction


def beijing(*args) -> datetime:
    """A Beijing wall-clock time as the naive UTC the services take."""
    return as_utc_naive(datetime(*args, tzinfo=DISTRICT_TZ))


NOV = beijing(2026, 11, 20, 10, 0)


def applied(world, member=None, community=None, now=NOV, **data):
    return registrations.apply(member or world.member, {"community_id": (community or world.a).id, **data}, now=now)


def active(world, member=None, community=None, now=NOV, grid=None, staff=None):
    reg = applied(world, member, community, now=now)
    return registrations.fire(reg.id, "accept", staff or world.staff,
                              {"grid_id": (grid or world.grid_a).id, "households": 3}, now=now)


def events_of(session, ident):
    return session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "registration",
                                                    AuditEvent.subject_id == ident).order_by(AuditEvent.seq)).all()


# -- the trigger table ---------------------------------------------------------------------------

def test_apply_then_accept_places_the_member_in_a_grid_for_the_calendar_year(app, world, session):
    reg = applied(world, skills="法律咨询", availability="周末")
    assert (reg.state, reg.allowed_triggers) == ("applied", ["withdraw"])
    assert reg.view["skills"] == "法律咨询" and reg.view["term"] is None
    done = registrations.fire(reg.id, "accept", world.staff, {"grid_id": world.grid_a.id, "households": 4,
                                                                "comment": "欢迎"}, now=NOV)
    assert done.state == "active" and done.view["grid"] == {"id": world.grid_a.id, "name": "第一网格"}
    assert done.view["households"] == 4 and done.view["accepted_by"]["id"] == world.staff.id
    # The term runs to the end of the calendar year, Beijing time: 2026-12-31 16:00 UTC.
    assert done.view["term"] == {"year": 2026, "ends_at": datetime(2026, 12, 31, 16, 0)}
    session.expire_all()
    assert session.get(User, world.member.id).community_id == world.a.id  # the member's community follows
    chain = events_of(session, reg.id)
    assert [(e.trigger, e.from_state, e.to_state, e.actor_role) for e in chain] == [
        ("apply", "new", "applied", "member"), ("accept", "applied", "active", "staff")]
    assert audit.verify(session, subject=f"registration:{reg.id}").ok


def test_a_term_accepted_in_late_december_beijing_time_is_that_year_s(app, world):
    # 31 Dec 23:30 Beijing is 15:30 UTC on the 31st: still 2026's term, ending half an hour later.
    done = active(world, now=beijing(2026, 12, 31, 23, 30))
    assert done.view["term"] == {"year": 2026, "ends_at": datetime(2026, 12, 31, 16, 0)}
    done = active(world, world.member2, now=beijing(2027, 1, 1, 0, 30))  # 16:30 UTC on 31 Dec
    assert done.view["term"]["year"] == 2027


def test_the_grid_is_required_once_the_community_has_grids_and_must_be_its_own(app, world):
    reg = applied(world)
    with pytest.raises(InvalidInput) as missing:
        registrations.fire(reg.id, "accept", world.staff, {}, now=NOV)
    assert "grid_id" in missing.value.errors
    with write_transaction() as s:
        elsewhere = Grid(community_id=world.c.id, name="第一网格")
        s.add(elsewhere)
    with pytest.raises(InvalidInput) as foreign:
        registrations.fire(reg.id, "accept", world.staff, {"grid_id": elsewhere.id}, now=NOV)
    assert foreign.value.errors == {"grid_id": ["Not one of the options here."]}
    with pytest.raises(InvalidInput) as too_many:
        registrations.fire(reg.id, "accept", world.staff, {"grid_id": world.grid_a.id, "households": 51}, now=NOV)
    assert "households" in too_many.value.errors
    # A community without grids: accepted without one.
    other = applied(world, world.member3, world.b)
    assert registrations.fire(other.id, "accept", world.staff_b, {}, now=NOV).view["grid"] is None


def test_decline_needs_a_reason_and_the_applicant_may_apply_again(app, world, session):
    reg = applied(world)
    with pytest.raises(InvalidInput):
        registrations.fire(reg.id, "decline", world.staff, {"reason": "  "}, now=NOV)
    declined = registrations.fire(reg.id, "decline", world.staff, {"reason": "不在本社区居住"}, now=NOV)
    assert declined.state == "declined" and declined.view["last_reason"] == "不在本社区居住"
    again = applied(world)
    assert again.state == "applied" and again.id != reg.id
    withdrawn = registrations.fire(again.id, "withdraw", world.member, {}, now=NOV)
    assert withdrawn.state == "withdrawn"
    assert applied(world).state == "applied"  # withdrawn: may apply again too


def test_one_live_registration_per_member_the_refusal_says_where(app, world):
    applied(world)
    with pytest.raises(TransitionNotAllowed) as refused:
        applied(world, community=world.b)
    assert refused.value.reason == "one_live_registration"
    assert "东升社区" in refused.value.message and "applied" in refused.value.message


def test_who_may_fire_what(app, world):
    reg = applied(world)
    with pytest.raises(NotFound):  # another member: not even there
        registrations.fire(reg.id, "withdraw", world.member2, {}, now=NOV)
    with pytest.raises(NotFound):  # staff of another community
        registrations.fire(reg.id, "accept", world.staff_b, {"grid_id": world.grid_a.id}, now=NOV)
    with pytest.raises(Forbidden):  # the applicant may not accept themselves
        registrations.fire(reg.id, "accept", world.member, {"grid_id": world.grid_a.id}, now=NOV)
    with pytest.raises(Forbidden):  # staff do not withdraw a member's application
        registrations.fire(reg.id, "withdraw", world.staff, {}, now=NOV)
    with pytest.raises(Forbidden):  # supervisors change nothing
        registrations.fire(reg.id, "decline", world.supervisor, {"reason": "x"}, now=NOV)
    with pytest.raises(NotFound):  # a supervisor of another unit does not see it
        registrations.fire(reg.id, "decline", world.supervisor_other_town, {"reason": "x"}, now=NOV)
    with pytest.raises(Forbidden):
        registrations.apply(world.staff, {"community_id": world.a.id})
    with pytest.raises(InvalidInput) as unknown:
        registrations.apply(world.member2, {"community_id": 999_999})
    assert unknown.value.errors == {"community_id": ["Not one of the options here."]}


def test_move_grid_needs_another_grid_of_the_community(app, world):
    reg = active(world)
    with write_transaction() as s:
        second = Grid(community_id=world.a.id, name="第二网格")
        s.add(second)
    with pytest.raises(InvalidInput) as same:
        registrations.fire(reg.id, "move_grid", world.staff, {"grid_id": world.grid_a.id, "reason": "调整"}, now=NOV)
    assert same.value.errors == {"grid_id": ["Already in this grid."]}
    moved = registrations.fire(reg.id, "move_grid", world.staff, {"grid_id": second.id, "reason": "就近服务"},
                               now=NOV)
    assert moved.state == "active" and moved.view["grid"]["name"] == "第二网格"
    with pytest.raises(Forbidden):
        registrations.fire(reg.id, "move_grid", world.member, {"grid_id": world.grid_a.id, "reason": "x"}, now=NOV)


def test_renew_opens_on_1_december_beijing_time_and_starts_next_year_s_term(app, world, session):
    reg = active(world)
    assert "renew" not in reg.allowed_triggers
    with pytest.raises(TransitionNotAllowed) as early:  # 30 Nov 23:59 Beijing
        registrations.fire(reg.id, "renew", world.member, {}, now=beijing(2026, 11, 30, 23, 59))
    assert early.value.reason == "renewal_open"
    december = beijing(2026, 12, 1, 0, 0)  # 16:00 UTC on 30 November
    assert registrations.allowed_triggers(session, world.member, session.get(Registration, reg.id),
                                          now=december) == ["renew", "end"]
    renewed = registrations.fire(reg.id, "renew", world.member, {}, now=december)
    assert renewed.view["term"] == {"year": 2027, "ends_at": datetime(2027, 12, 31, 16, 0)}
    with pytest.raises(TransitionNotAllowed):  # renewed already: next chance is December 2027
        registrations.fire(reg.id, "renew", world.staff, {}, now=beijing(2026, 12, 20))
    # Staff may renew too.
    other = active(world, world.member2)
    assert registrations.fire(other.id, "renew", world.staff, {}, now=december).view["term"]["year"] == 2027


def test_end_takes_a_reason_and_clears_the_member_s_community(app, world, session):
    reg = active(world)
    with pytest.raises(InvalidInput) as bad:
        registrations.fire(reg.id, "end", world.member, {"reason": "bored"}, now=NOV)
    assert "reason" in bad.value.errors
    ended = registrations.fire(reg.id, "end", world.member, {"reason": "moved", "note": "搬到张家洼"}, now=NOV)
    assert ended.state == "ended" and ended.view["last_reason"] == "moved"
    session.expire_all()
    assert session.get(User, world.member.id).community_id is None
    # Moving: end, then apply to the new community.
    moved = applied(world, community=world.c)
    assert registrations.fire(moved.id, "accept", world.staff_c, {}, now=NOV).state == "active"
    session.expire_all()
    assert session.get(User, world.member.id).community_id == world.c.id
    # Staff of the community and admins may end one too; a member other than its own may not.
    for who in (world.staff, world.admin):
        other = active(world, world.member2)
        assert registrations.fire(other.id, "end", who, {"reason": "other"}, now=NOV).state == "ended"


def test_lapse_fires_exactly_once_when_a_term_ends_without_renewal(app, world, session):
    kept = active(world)
    lapsing = active(world, world.member2)
    registrations.fire(kept.id, "renew", world.member, {}, now=beijing(2026, 12, 2))
    assert lapsed_by_timers(beijing(2026, 12, 31, 23, 59)) == 0  # not yet
    new_year = beijing(2027, 1, 1, 0, 0)
    assert lapsed_by_timers(new_year) == 1
    assert lapsed_by_timers(new_year) == 0  # once
    session.expire_all()
    assert session.get(Registration, lapsing.id).state == "lapsed"
    assert session.get(Registration, kept.id).state == "active"
    assert session.get(User, world.member2.id).community_id is None
    lapse = events_of(session, lapsing.id)[-1]
    assert (lapse.trigger, lapse.actor_role, lapse.to_state) == ("lapse", "system", "lapsed")
    assert applied(world, world.member2, now=new_year).state == "applied"  # may apply again


def lapsed_by_timers(now) -> int:
    """The timers run (the registration definition's `lapse` timer, due at the term's end)."""
    return timers.run(now=now).fired[("registration", "lapse")]


def test_registration_timers_and_notifications(app, world, session):
    """Declared in registration/v1.yaml: an application waiting 3 days → the community's staff;
    30 days before the term ends → the member; accepted / declined → the member; applied → staff."""
    from workflow.models import Notification

    def told(kind):
        session.rollback()
        return sorted(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))

    waiting = applied(world, now=NOV)
    assert told("registration_applied") == [world.staff.id]
    assert timers.run(now=NOV + timedelta(days=2, hours=23)).by_timer["registration@1:application_waiting"] == 0
    assert timers.run(now=NOV + timedelta(days=3, minutes=1)).by_timer["registration@1:application_waiting"] == 1
    assert timers.run(now=NOV + timedelta(days=4)).by_timer["registration@1:application_waiting"] == 0  # once
    assert told("registration_waiting") == [world.staff.id]
    registrations.fire(waiting.id, "accept", world.staff, {"grid_id": world.grid_a.id}, now=NOV + timedelta(days=4))
    assert told("registration_accepted") == [world.member.id]
    declined = applied(world, world.member3, community=world.c, now=NOV)
    registrations.fire(declined.id, "decline", world.staff_c, {"reason": "不在本社区居住"}, now=NOV)
    assert told("registration_declined") == [world.member3.id]
    notice = beijing(2026, 12, 2, 0, 1)  # 30 days before 1 January 2027, Beijing time
    assert timers.run(now=notice).by_timer["registration@1:lapse_notice"] == 1
    assert told("registration_lapsing") == [world.member.id]
    text = session.scalar(select(Notification).where(Notification.kind == "registration_lapsing")).params
    assert text["day"] == "2026-12-31" and text["community"] == "东升社区"


def test_the_scheduled_run_lapses_registrations(app, world, session):
    lapsing = active(world)
    result = app.test_cli_runner().invoke(args=["expire-claims"])  # now: before the term ends
    assert result.exit_code == 0 and "lapsed 0 registrations" in result.output
    run = expiry.expire_claims(now=beijing(2027, 1, 1, 0, 5))
    assert run.registrations_lapsed == 1
    session.expire_all()
    assert session.get(Registration, lapsing.id).state == "lapsed"


def test_lapse_is_internal(app, world):
    reg = active(world)
    with pytest.raises(Forbidden):
        registrations.fire(reg.id, "lapse", world.staff, {}, now=beijing(2027, 1, 2))


# -- admins' registrations, the receipt, grids ------------------------------------------------------

def test_a_directly_recorded_registration_starts_its_chain_with_accept(app, world, session):
    with write_transaction() as s:
        member = registrations.lock_member(s, world.member.id)
        reg = registrations.register_directly(s, member, world.b.id, world.admin, now=NOV, source="admin")
    chain = events_of(session, reg.id)
    assert [(e.seq, e.trigger, e.from_state, e.to_state, e.actor_id) for e in chain] == [
        (1, "accept", "new", "active", world.admin.id)]
    assert audit.verify(session, subject=f"registration:{reg.id}").ok
    with write_transaction() as s, pytest.raises(InvalidInput) as elsewhere:
        registrations.register_directly(s, registrations.lock_member(s, world.member.id), world.c.id, world.admin,
                                        now=NOV, source="admin")
    assert "小曹村社区" in elsewhere.value.message


def test_the_receipt_lists_every_member_the_unregistered_first(app, world, session, password_hash):
    with write_transaction() as s:
        for name in ("阿丙", "阿甲"):
            s.add(User(username=name, name=name, role="member", unit=world.unit1, password_hash=password_hash))
        s.add(User(username="gone", name="离职", role="member", unit=world.unit1, password_hash=password_hash,
                   active=False))
    active(world)  # member_a1, unit 1
    report = receipts.receipt(session, world.unit1, year=2026)
    assert [(line.name, line.registration is None) for line in report.lines] == [
        ("阿丙", True), ("阿甲", True), ("member_a1", False)]
    assert (report.unregistered, report.registered) == (2, 1)
    # An application waiting counts as registered-in-progress, not as 未报到.
    waiting = User(username="ding", name="阿丁", role="member", password_hash=password_hash)
    with write_transaction() as s:
        waiting.unit_id = world.unit1.id
        s.add(waiting)
    registrations.apply(waiting, {"community_id": world.a.id}, now=NOV)
    report = receipts.receipt(session, world.unit1, year=2026)
    assert report.unregistered == 2 and report.registered == 1
    assert next(line for line in report.lines if line.name == "阿丁").registration.state == "applied"


def test_a_grid_with_members_cannot_be_deleted(app, world, session):
    added = grids.add_grid(world.staff, world.a.id, "第二网格")
    with pytest.raises(InvalidInput):
        grids.add_grid(world.staff, world.a.id, "第二网格")  # a name twice
    with pytest.raises(NotFound):
        grids.add_grid(world.staff_b, world.a.id, "第三网格")  # another community's staff
    with pytest.raises(Forbidden):
        grids.add_grid(world.member, world.a.id, "第三网格")
    reg = active(world, grid=added.grid)
    assert [(r.name, r.members) for r in grids.grid_rows(session, world.a.id)] == [("第一网格", 0), ("第二网格", 1)]
    with pytest.raises(Conflict):
        grids.delete_grid(world.staff, added.grid.id)
    grids.rename_grid(world.staff, added.grid.id, "东区网格")
    world.task(grid=added.grid.id)
    registrations.fire(reg.id, "move_grid", world.staff, {"grid_id": world.grid_a.id, "reason": "合并"}, now=NOV)
    with pytest.raises(Conflict):  # nobody on it now, but a task names it
        grids.delete_grid(world.staff, added.grid.id)
    empty = grids.add_grid(world.staff, world.a.id, "第三网格")
    grids.delete_grid(world.staff, empty.grid.id)
    assert session.scalars(select(Grid.name).where(Grid.community_id == world.a.id).order_by(Grid.id)).all() == [
        "第一网格", "东区网格"]


def test_verify_chain_covers_registrations(app, world, session):
    reg = active(world)
    assert audit.verify(session).ok
    assert audit.parse_subject("pairing:1") == ("pairing", 1)  # the unit's processes have chains too
    with pytest.raises(ValueError):
        audit.parse_subject("household:1")
    # A registration whose chain is gone is reported by the whole-log check.
    with write_transaction() as s:
        orphan = Registration(member_id=world.member2.id, community_id=world.a.id, state="active", version=1,
                              definition_name="registration", definition_version=1)
        s.add(orphan)
    result = audit.verify(session)
    assert [(p.subject, p.what) for p in result.problems] == [
        (f"registration:{orphan.id}", "has no events: its chain was deleted")]
    assert audit.verify(session, subject=f"registration:{reg.id}").ok


def test_the_audit_event_export_carries_registration_events_in_scope(app, world, session):
    from workflow.services import exports

    mine = active(world)  # community A, unit 1
    other = registrations.apply(world.member3, {"community_id": world.c.id}, now=NOV)  # town 2, unit 2
    subjects = {row[1] for row in exports.event_rows(session, world.supervisor_unit)}
    assert f"registration:{mine.id}" in subjects and f"registration:{other.id}" not in subjects
    everything = {row[1] for row in exports.event_rows(session, world.supervisor)}
    assert {f"registration:{mine.id}", f"registration:{other.id}"} <= everything


def test_the_loader_checks_ref_fields():
    import yaml

    from workflow.engine.loader import DEFINITIONS_DIR, parse_definition
    from workflow.errors import DefinitionError

    raw = yaml.safe_load((DEFINITIONS_DIR / "registration" / "v1.yaml").read_text(encoding="utf-8"))
    assert parse_definition(raw, "v1").trigger("accept").field("grid_id").ref == "grid"
    for bad, problem in (({"ref": "household"}, "names what it picks"), ({"ref": None}, "names what it picks"),
                         ({"widget": "radio"}, "does not fit type 'ref'"), ({"choices": []}, "only a choice field")):
        broken = yaml.safe_load((DEFINITIONS_DIR / "registration" / "v1.yaml").read_text(encoding="utf-8"))
        broken["triggers"]["accept"]["input"]["grid_id"].update(bad)
        with pytest.raises(DefinitionError) as refused:
            parse_definition(broken, "broken.yaml")
        assert problem in str(refused.value), (bad, str(refused.value))
