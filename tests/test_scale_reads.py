"""The 报到 reads made fast for district scale (issue 17) show exactly what they showed before
(both databases): the receipt page's rows, written in Python now, are the HTML the template wrote
cell by cell; the receipt API's members, prepared by the view, are what the schema dumped."""
import re
from datetime import datetime

import pytest
from flask import render_template_string
from sqlalchemy import select

from api.pages.registration import _receipt_rows
from api.v1.schemas import ReceiptMemberSchema, receipt_member
from tests.pages.conftest import browse  # noqa: F401  (the fixture)
from workflow.clock import DISTRICT_TZ, as_utc_naive
from workflow.models import Grid, User
from workflow.services import claims, receipts, registrations
from workflow.services.registration_views import summary
from workflow.services.tx import write_transaction

# The receipt table's body as templates/registration/receipts.html printed it before issue 17.
BEFORE = """{% from "_macros.html" import registration_badge %}
{% for line in report.lines %}{% set r = line.registration %}
{% if r is none %}
<tr class="unregistered"><td>{{ line.name }}<br><strong>{{ _('Not registered') }}</strong></td><td></td><td></td>
{% else %}
<tr><td>{% if r.accepted_at %}<a href="{{ url_for('registration.receipt', registration_id=r.id) }}">{{ line.name }}</a>{% else %}{{ line.name }}{% endif %}<br>{{ registration_badge(r) }}</td>
<td>{{ r.community.short_name }}{% if r.grid %} · {{ r.grid.name }}{% endif %}<br><span class="muted">{{ r.community.town.name }}</span></td>
<td>{% if r.accepted_at %}{{ r.accepted_at|dt('yyyy-MM-dd') }}<br><span class="muted">{{ term_text(r) }}</span>{% endif %}</td>
{% endif %}
<td class="num">{{ line.verified_claims }}{% if line.hours %}<br><span class="muted">{{ '%g'|format(line.hours) }} h</span>{% endif %}</td></tr>
{% endfor %}"""


def beijing(*args) -> datetime:
    return as_utc_naive(datetime(*args, tzinfo=DISTRICT_TZ))


def tags(html: str) -> str:
    """The markup without the whitespace between tags (the template's line breaks)."""
    return re.sub(r">\s+<", "><", html.strip())


@pytest.fixture
def report(app, world, session, password_hash):
    """A unit's receipt with every kind of line: not registered, waiting, registered in a grid and
    without one, a name and grid that need escaping, times around midnight Beijing time and from before
    1992 (summer time), verified work with and without hours."""
    with write_transaction() as s:
        odd = User(username="odd", name='<b>"O\'Neil" & 子</b>', role="member", unit=world.unit1,
                   password_hash=password_hash)
        early = User(username="early", name="早", role="member", unit=world.unit1, password_hash=password_hash)
        waiting = User(username="waiting", name="等", role="member", unit=world.unit1, password_hash=password_hash)
        nobody = User(username="nobody", name="无", role="member", unit=world.unit1, password_hash=password_hash)
        s.add_all([odd, early, waiting, nobody, Grid(community=world.b, name="<网格> & 1")])
    grid_b = session.scalar(select(Grid).where(Grid.community_id == world.b.id))
    times = {world.member: beijing(2026, 3, 1, 0, 30), odd: beijing(2026, 12, 31, 23, 59),
             early: beijing(1990, 7, 1, 0, 30)}  # Beijing summer time then
    for member, at in times.items():
        reg = registrations.apply(member, {"community_id": (world.b if member is odd else world.a).id}, now=at)
        registrations.fire(reg.id, "accept", world.staff_b if member is odd else world.staff,
                           {"grid_id": (grid_b if member is odd else world.grid_a).id, "households": 2}, now=at)
    registrations.apply(waiting, {"community_id": world.a.id}, now=beijing(2026, 11, 20, 10))
    task = world.task()
    claim = claims.start_claim(task.id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "走访"})
    claims.fire(claim.id, "submit_report", world.member, {"summary": "完成", "hours": 2.5, "households": 1})
    claims.fire(claim.id, "approve", world.staff, {})
    session.rollback()
    return receipts.receipt(session, world.unit1)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_receipt_rows_are_what_the_template_printed(app, report, language):
    assert {line.registration is None for line in report.lines} == {True, False}
    assert any(line.hours for line in report.lines)
    with app.test_request_context(headers={"Accept-Language": language}):
        before = render_template_string(BEFORE, report=report)
        now = str(_receipt_rows(report))
    assert tags(now) == tags(before)
    assert "&lt;b&gt;&#34;O&#39;Neil&#34; &amp; 子&lt;/b&gt;" in now and "&lt;网格&gt; &amp; 1" in now


def test_the_receipt_api_members_are_what_the_schema_dumped(app, report):
    schema = ReceiptMemberSchema()
    for line in report.lines:
        dumped = schema.dump({"user_id": line.user_id, "name": line.name, "registration": summary(line.registration),
                              "verified_claims": line.verified_claims, "hours": line.hours})
        assert receipt_member(line) == dumped


def test_the_roster_offers_the_engine_s_actions_and_days(app, report, world, session, request):
    """The roster asks the engine which registrations the staff may move, without building every
    action; the link and its words are the ones the actions list made, the days the `dt` filter's."""
    from api.pages.actions import actions
    from api.pages.common import fmt_dt

    page = request.getfixturevalue("browse")("staff_a").get("/staff/roster").get_data(as_text=True)
    lines = [line for part in receipts.roster(session, world.a.id) for line in part.lines]
    assert len(lines) == 2
    with app.test_request_context("/staff/roster"):
        for line in lines:
            r = line.registration
            moves = [a for a in actions(world.staff, "registration", r, next_url="/staff/roster")
                     if a.trigger.name == "move_grid"]
            assert moves and f'<a href="{moves[0].url}">{moves[0].label}</a>' in page
            assert f"<td>{fmt_dt(r.accepted_at, 'yyyy-MM-dd')}</td>" in page
