"""Issue 15, point 5: finding tasks on the member's home (both databases): search by title and
village, category and town filters, pages, "mine" apart from "open to claim", the activity
time, meeting place, the community's contact, a map link and a share card with a QR code."""
import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import update

from workflow.clock import utcnow
from workflow.models import Community, Task
from workflow.services import claims as claim_service
from workflow.services import finding


def _open_ids(html: str) -> list[int]:
    section = html[html.index('id="open-heading"'):]
    return [int(i) for i in re.findall(r'<article class="card task tap-card" id="task-(\d+)"', section)]


def _mine_ids(html: str) -> list[int]:
    section = html[html.index('id="mine-heading"'):html.index('id="open-heading"')]
    return [int(i) for i in re.findall(r'/claims/(\d+)"', section)]


def test_search_filters_and_mine_apart(world, browse, session):
    mine = world.task(title="为独居老人购买取暖用品")
    near = world.task(title="清理楼道杂物", category="环境整治", address="3号楼前")
    village = world.task(staff=world.staff_b, title="宣讲医保缴费新政策", category="政策宣讲")
    far = world.task(staff=world.staff_c, title="河道沿岸垃圾清理", category="环境整治")
    draft = world.task(title="还没发布", publish=False)
    claim = claim_service.start_claim(mine.id, world.member)
    member = browse("member_a1")
    html = member.get("/").get_data(as_text=True)
    # my claim is under "mine", and its task is not offered again; the draft is never offered
    assert _mine_ids(html) == [claim.id]
    assert _open_ids(html) == [near.id, village.id, far.id]  # my community, my town, the rest
    assert draft.id not in _open_ids(html)

    def found(query):
        return set(_open_ids(member.get("/" + query).get_data(as_text=True)))

    assert found("?q=楼道") == {near.id}
    assert found("?q=小曹村") == {village.id}  # the village's name
    assert found("?category=环境整治") == {near.id, far.id}
    assert found("?town=370116002") == {far.id}
    assert found("?town=370116002&category=政策宣讲") == set()
    assert "没有符合条件的任务" in member.get("/?q=不存在的任务").get_data(as_text=True)
    assert found("?category=不存在&town=abc") == {near.id, village.id, far.id}  # bad filters are ignored


def test_past_deadlines_are_not_offered_and_pages_hold_ten(world, browse, session, app):
    tasks = [world.task(title=f"任务{n:02d}") for n in range(finding.PAGE_SIZE + 2)]
    session.execute(update(Task).where(Task.id == tasks[0].id).values(deadline=utcnow() - timedelta(hours=1)))
    session.commit()
    member = browse("member_a1")
    first = member.get("/").get_data(as_text=True)
    second = member.get("/?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first and 'rel="next"' in first and 'rel="prev"' in second
    shown = _open_ids(first) + _open_ids(second)
    assert len(_open_ids(first)) == finding.PAGE_SIZE and sorted(shown) == sorted(t.id for t in tasks[1:])
    assert _open_ids(member.get("/?page=999").get_data(as_text=True)) == _open_ids(second)  # the last page


def test_the_card_shows_time_place_contact_map_and_share(world, browse, session):
    when = utcnow() + timedelta(days=2)
    task = world.task(title="周末文明交通劝导", activity_at=when.isoformat() + "Z", address="东升社区东门")
    member = browse("member_a1")
    card = member.get("/").get_data(as_text=True)
    card = card[card.index(f'id="task-{task.id}"'):].split("</article>")[0]
    assert 'class="stretched" href="/tasks/' in card  # the whole card is the link
    assert "活动时间" in card and "东升社区东门" in card
    assert "tel:" not in card and "uri.amap.com" not in card  # nothing known yet: no contact, no map
    assert f'href="/share/tasks/{task.id}"' in card

    staff = browse("staff_a")
    assert staff.get("/staff/community").status_code == 200
    response = staff.post("/staff/community", {"contact_name": "东升社区党群服务中心", "contact_phone": "0634-6213456",
                                               "lat": "36.214", "lon": "117.676"})
    assert response.status_code == 302
    card = member.get("/").get_data(as_text=True)
    card = card[card.index(f'id="task-{task.id}"'):].split("</article>")[0]
    assert 'href="tel:0634-6213456"' in card and "东升社区党群服务中心" in card
    assert "https://uri.amap.com/marker?position=117.676000%2C36.214000" in card and "coordinate=wgs84" in card
    page = member.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "tel:0634-6213456" in page and "uri.amap.com" in page and "/share/tasks/" in page

    # bad input is a field error in Chinese, nothing stored changes
    response = staff.post("/staff/community", {"contact_name": "x", "contact_phone": "call me", "lat": "", "lon": ""})
    assert response.status_code == 200 and "Not a phone number." not in response.get_data(as_text=True)
    session.rollback()
    session.expire_all()
    assert session.get(Community, world.a.id).contact_phone == "0634-6213456"
    # removing the location takes the map link away
    staff.post("/staff/community", {"contact_name": "东升社区党群服务中心", "contact_phone": "0634-6213456",
                                    "clear_location": "y"})
    session.rollback()
    session.expire_all()
    assert session.get(Community, world.a.id).lat is None


def test_share_card_has_the_address_and_a_qr_code_of_it(world, browse):
    task = world.task(title="社区图书室整理图书")
    member = browse("member_a1")
    page = member.get(f"/share/tasks/{task.id}").get_data(as_text=True)
    assert "社区图书室整理图书" in page and f"http://localhost/tasks/{task.id}" in page
    assert '<svg' in page and 'class="qr"' in page
    png = member.get(f"/share/tasks/{task.id}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png.data))
    assert image.size[0] == image.size[1] > 100  # a QR code: square, large enough to scan from a screen


@pytest.mark.app_config(BAODAO_PUBLIC_URL="https://baodao.laiwu.example.cn")
def test_the_public_address_is_used_for_shared_links(world, browse):
    task = world.task()
    page = browse("member_a1").get(f"/share/tasks/{task.id}").get_data(as_text=True)
    assert f"https://baodao.laiwu.example.cn/tasks/{task.id}" in page


def test_an_activity_time_far_from_now_is_a_field_error(world):
    from workflow.errors import InvalidInput

    for when in ("0212-02-28T01:02:57Z", (utcnow() + timedelta(days=800)).isoformat() + "Z"):
        with pytest.raises(InvalidInput) as refused:
            world.task(activity_at=when)
        assert set(refused.value.errors) == {"activity_at"}
