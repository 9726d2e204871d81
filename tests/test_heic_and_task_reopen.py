"""Issue 15: an iPhone's HEIC photo is accepted and stored as JPEG (points 4); a closed task is
reopened where the task definition allows it — task@2, configured — and not under task@1 (6)."""
import io

import pillow_heif
import pytest
from PIL import Image

from tests.pages.conftest import browse  # noqa: F401  (the fixture)
from workflow.errors import NotFound
from workflow.models import Task
from workflow.services import tasks as task_service
from workflow.services import uploads as upload_service


def heic_bytes(size=(320, 240)) -> bytes:
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "HEIF", quality=80)
    return out.getvalue()


def test_a_heic_photo_is_accepted_and_stored_as_jpeg(world, app, browse):  # noqa: F811
    raw = heic_bytes()
    assert raw[4:12] == b"ftypheic"
    saved = upload_service.save_upload(world.member, raw, app.config["BAODAO_UPLOAD_DIR"])
    assert saved.content_type == "image/jpeg" and (saved.width, saved.height) == (320, 240)
    stored = upload_service.read_upload(saved, app.config["BAODAO_UPLOAD_DIR"])
    assert Image.open(io.BytesIO(stored)).format == "JPEG"
    # through the page's upload route too (what the photo picker sends)
    member = browse("member_a1")
    response = member.post("/uploads", {"file": (io.BytesIO(raw), "IMG_0001.HEIC")},
                           content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["thumb"].endswith("/thumb")


@pytest.mark.app_config(BAODAO_WORKFLOWS="task@2")
def test_a_closed_task_is_reopened_under_task_2(world, session, browse):  # noqa: F811
    task = world.task()
    assert task.definition_version == 2
    task_service.close_task(task.id, world.staff)
    staff = browse("staff_a")
    page = staff.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'/tasks/{task.id}/reopen_closed' in page and "重新开放后，党员可以再次认领这个任务" in page  # asks, says what follows
    response = staff.post(f"/tasks/{task.id}/reopen_closed")
    assert response.status_code == 302
    session.rollback()
    session.expire_all()
    assert session.get(Task, task.id).status == "open"
    # recorded on the task's chain; an open task offers it no more
    page = staff.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<strong>重新开放认领</strong>" in page and f'/tasks/{task.id}/reopen_closed' not in page


def test_task_1_has_no_reopen(world, browse):  # noqa: F811
    task = world.task()
    task_service.close_task(task.id, world.staff)
    assert "重新开放认领" not in browse("staff_a").get(f"/tasks/{task.id}").get_data(as_text=True)
    with pytest.raises(NotFound):
        task_service.fire(task.id, "reopen_closed", world.staff, {})
