"""The supervisor dashboard's rollup: the same figures as the live queries, per scope, rebuilt
idempotently, refreshed lazily, guarded by a lock; and the claim list's capped total."""
import json
from datetime import timedelta

import pytest

from workflow import runtime
from sqlalchemy import create_engine, select, text

from workflow.clock import utcnow
from workflow.extensions import db
from workflow.models import StatsClaims, StatsRefresh, StatsUnits
from workflow.services import auth as auth_service
from workflow.services import claims, stats
from workflow.services.dashboard import dashboard


def _verified(task, member, staff, hours=2):
    claim = claims.start_claim(task.id, member)
    claims.fire(claim.id, "check_in", member, {"note": "上门"})
    claims.fire(claim.id, "submit_report", member, {"summary": "已完成", "hours": hours, "households": 1})
    return claims.fire(claim.id, "approve", staff, {"comment": "属实"})


@pytest.fixture
def district(world):
    """Claims in both towns, both units, several categories and every kind of ending."""
    a1 = world.task(capacity=5)
    a2 = world.task(capacity=5, category="环境整治")
    b1 = world.task(staff=world.staff_b, capacity=5, category="助老助残")
    c1 = world.task(staff=world.staff_c, capacity=5, category="环境整治")
    _verified(a1, world.member, world.staff)
    _verified(a2, world.member, world.staff, hours=3)
    _verified(a2, world.member2, world.staff)
    _verified(c1, world.member3, world.staff_c)
    rejected = claims.start_claim(b1.id, world.member2)
    claims.fire(rejected.id, "check_in", world.member2, {"note": "上门"})
    claims.fire(rejected.id, "submit_report", world.member2, {"summary": "x", "hours": 1, "households": 0})
    claims.fire(rejected.id, "reject", world.staff_b, {"reason": "不属实"})
    withdrawn = claims.start_claim(c1.id, world.member2)
    claims.fire(withdrawn.id, "withdraw", world.member2, {})
    claims.start_claim(b1.id, world.member)  # live
    returned = claims.start_claim(c1.id, world.member3)
    claims.fire(returned.id, "check_in", world.member3, {"note": "上门"})
    claims.fire(returned.id, "submit_report", world.member3, {"summary": "x", "hours": 1, "households": 0})
    claims.fire(returned.id, "return", world.staff_c, {"reason": "请补充"})
    return world


def _figures(d):
    units = [(u.unit_id, u.name, u.members, u.participants, u.claims, u.verified, u.finished,
              None if u.avg_verify_hours is None else round(u.avg_verify_hours, 6)) for u in d.units]
    return (d.total_claims, d.by_state, d.by_town, d.by_category, d.month_verified, d.month_hours,
            d.month_points, d.overdue_count, units)


def _actors(w):
    return [w.supervisor, w.supervisor_town, w.supervisor_other_town, w.supervisor_unit, w.admin]


def test_rollup_equals_the_live_queries_for_every_scope(district, session):
    stats.refresh()
    for actor in _actors(district):
        rolled, live = dashboard(session, actor), dashboard(session, actor, live=True)
        assert rolled.as_of is not None and live.as_of is None
        assert _figures(rolled) == _figures(live), actor.username


def test_rollup_respects_scope(district, session):
    stats.refresh()
    w = district
    assert dashboard(session, w.supervisor).total_claims == 8
    town = dashboard(session, w.supervisor_town)
    assert town.total_claims == 5 and [name for name, _ in town.by_town] == [w.town.name]
    other = dashboard(session, w.supervisor_other_town)
    assert other.total_claims == 3 and [name for name, _ in other.by_town] == [w.other_town.name]
    assert {u.unit_id for u in other.units} == {w.unit2.id}  # only units with claims in that town
    assert [u.participants for u in other.units] == [2]  # member2 and member3 in the other town
    unit = dashboard(session, w.supervisor_unit)
    assert unit.total_claims == 3 and [u.unit_id for u in unit.units] == [w.unit1.id]
    assert dict(unit.by_state) == {"verified": 2, "claimed": 1}
    # participants are distinct per scope, not summed across towns: member2 claimed in both towns
    district_unit2 = next(u for u in dashboard(session, w.supervisor).units if u.unit_id == w.unit2.id)
    assert district_unit2.participants == 2 and district_unit2.claims == 5


def test_refresh_is_idempotent(district, session):
    def snapshot():
        return (sorted(session.execute(select(StatsClaims.town_id, StatsClaims.unit_id, StatsClaims.category,
                                              StatsClaims.state, StatsClaims.claims)).all(), key=repr),
                sorted(session.execute(select(StatsUnits.town_id, StatsUnits.unit_id, StatsUnits.participants,
                                              StatsUnits.verified_timed, StatsUnits.verify_seconds)).all(),
                       key=repr))

    first = stats.refresh()
    once = snapshot()
    second = stats.refresh()
    session.expire_all()
    assert first.refreshed and second.refreshed and first.last_event_id == second.last_event_id
    assert snapshot() == once and session.scalar(select(db.func.count(StatsRefresh.id))) == 1


def test_stale_rollup_is_shown_as_of_its_time_until_refreshed(district, app, session):
    stats.refresh()
    runtime.current().policy.stats_inline_ms, runtime.current().policy.stats_max_age_s = -1, 3600  # as if refreshing were costly
    before = dashboard(session, district.supervisor)
    claims.start_claim(district.task(capacity=3).id, district.member2)
    stale = dashboard(session, district.supervisor)
    assert (stale.total_claims, stale.as_of) == (before.total_claims, before.as_of)

    out = app.test_cli_runner().invoke(args=["refresh-stats"])
    assert out.exit_code == 0 and "refreshed" in out.output
    session.expire_all()
    fresh = dashboard(session, district.supervisor)
    assert fresh.total_claims == before.total_claims + 1 and fresh.as_of >= before.as_of

    # the timer stopped: a view finding the rollup older than the maximum age refreshes it itself
    claims.start_claim(district.task(capacity=3).id, district.member2)
    later = dashboard(session, district.supervisor, now=utcnow() + timedelta(hours=2))
    assert later.total_claims == before.total_claims + 2


def test_cheap_refresh_happens_inline_so_small_districts_see_live_figures(district, session):
    # A refresh cheaper than BAODAO_STATS_INLINE_MS happens inline. The budget is raised here so the
    # test does not depend on how fast a loaded machine refreshes (the default is 250 ms).
    runtime.current().policy.stats_inline_ms = 60_000
    assert dashboard(session, district.supervisor).total_claims == 8  # first view builds the rollup
    claims.start_claim(district.task(capacity=3).id, district.member2)
    assert dashboard(session, district.supervisor).total_claims == 9


def test_a_refresh_in_progress_elsewhere_is_not_waited_for(district, app, backend):
    if backend != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite's immediate transaction serialises refreshes")
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": stats.STATS_LOCK_KEY})
        try:
            assert stats.refresh().skipped_locked
            out = app.test_cli_runner().invoke(args=["refresh-stats"])
            assert "another refresh holds the lock" in out.output
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": stats.STATS_LOCK_KEY})
    other.dispose()
    assert stats.refresh().refreshed


def test_claim_list_total_is_exact_up_to_the_cap_then_a_lower_bound(district, app, monkeypatch):
    from api.v1 import listing as claims_api

    client = app.test_client()
    headers = {"Authorization": f"Bearer {auth_service.issue_token_for(district.supervisor).token}"}

    def page(n, size=2):
        r = client.get(f"/api/v1/claims?page={n}&page_size={size}", headers=headers)
        assert r.status_code == 200
        return r.get_json(), json.loads(r.headers["X-Pagination"]), r.headers.get("X-Total-Exact")

    items, meta, exact = page(1)
    assert meta["total"] == 8 and exact is None

    monkeypatch.setattr(claims_api, "COUNT_CAP", 4)
    items, meta, exact = page(1)
    assert len(items) == 2 and exact == "false" and meta["total"] >= 5 and meta["next_page"] == 2
    items, meta, exact = page(3)  # past the cap, more follow: still a next page
    assert len(items) == 2 and exact == "false" and meta["next_page"] == 4
    items, meta, exact = page(4)  # the last page: exact again
    assert len(items) == 2 and exact is None and meta["total"] == 8 and "next_page" not in meta
    seen = [c["id"] for n in range(1, 5) for c in page(n)[0]]
    assert len(seen) == len(set(seen)) == 8
