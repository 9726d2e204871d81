"""Issue 15, point 2: a bad value is answered in plain words in the page's language, next to its field,
on the page the person was on — never developer English, never another page."""
import io
import re

from workflow.services import claims as claim_service

from .conftest import photo_bytes
from .test_member_flow import NEXT_YEAR


def message_by_field(html: str, name: str, text: str) -> bool:
    """`text` is among the field's errors: after the field's input, before the next field's label."""
    field = re.search(rf'name="{re.escape(name)}"', html)
    assert field, f"no field {name} in the page"
    following = re.compile(rf'<label for="(?!{re.escape(name)}")|</form>').search(html, field.end())
    block = html[field.end(): following.start() if following else len(html)]
    return 'class="errors"' in block and text in block


def test_a_file_that_is_no_photo_in_chinese_then_in_english(world, browse):
    claim = claim_service.start_claim(world.task().id, world.member)
    member = browse("member_a1")
    member.get(f"/claims/{claim.id}/check_in")
    sent = {"note": "x", "photos": [(io.BytesIO(b"not an image"), "x.png")]}
    response = member.post(f"/claims/{claim.id}/check_in", dict(sent), content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'action="/claims/{claim.id}/check_in' in html  # the same form
    assert message_by_field(html, "photos", "无法识别的图片，请换一张照片。"), html
    assert "UnidentifiedImageError" not in html and "Not a readable image" not in html
    member.client.set_cookie("lang", "en")
    member.get(f"/claims/{claim.id}/check_in")
    sent = {"note": "x", "photos": [(io.BytesIO(b"not an image"), "x.png")]}
    html = member.post(f"/claims/{claim.id}/check_in", sent, content_type="multipart/form-data").get_data(as_text=True)
    assert message_by_field(html, "photos", "This file could not be read as a photo; choose another.")
    assert "UnidentifiedImageError" not in html


def test_a_photo_over_the_limit_says_so_by_the_field(world, browse):
    claim = claim_service.start_claim(world.task().id, world.member)
    member = browse("member_a1")
    member.get(f"/claims/{claim.id}/check_in")
    big = photo_bytes() + b"\0" * (10 * 1024 * 1024)
    response = member.post(f"/claims/{claim.id}/check_in", {"note": "到了", "photos": [(io.BytesIO(big), "big.png")]},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code in (413, 422) and f'action="/claims/{claim.id}/check_in' in html
    assert message_by_field(html, "photos", "每张照片不能超过 10 MB。"), html
    assert "At most 10 MB" not in html and "到了</textarea>" in html
    # the page's own upload (the script sends each photo as it is chosen) answers the same words
    answer = member.post("/uploads", {"file": (io.BytesIO(big), "big.png")}, content_type="multipart/form-data")
    assert answer.status_code == 413 and answer.get_json()["error"] == "每张照片不能超过 10 MB。"


def test_a_deadline_in_the_past_is_marked_on_the_task_form(world, browse):
    staff = browse("staff_a")
    staff.get("/staff/tasks/new")
    response = staff.post("/staff/tasks/new", {
        "title": "清理楼道杂物", "category": "环境整治", "description": "三号楼", "address": "东升社区3号楼前",
        "household_note": "", "capacity": "3", "points": "10", "deadline": "2020-01-01T09:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="清理楼道杂物"' in html  # the form again, as typed
    assert message_by_field(html, "deadline", "截止时间必须晚于现在。"), html
    assert "The deadline must be in the future" not in html


def test_a_bad_month_stays_on_the_form_with_the_message_by_the_month(world, browse):
    supervisor = browse("sup_district")
    response = supervisor.get(f"/supervisor/feedback?unit={world.unit1.id}&month=2026-13")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="month"' in html and 'value="2026-13"' in html
    assert message_by_field(html, "month", "请按“年-月”填写月份，例如 2026-11。"), html
    assert "YYYY" not in html and "month must be" not in html
    assert f'<option value="{world.unit1.id}" selected>' in html  # the unit chosen stays chosen
    assert supervisor.get(f"/supervisor/feedback?unit={world.unit1.id}&month={NEXT_YEAR}-01").status_code == 200
