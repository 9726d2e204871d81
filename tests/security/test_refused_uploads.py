"""Issue 16, defect 7: a refused page check-in still stored its photos (12 photos, refused for too many,
left 12 uploads). Uploads made by a request that fails are not kept now; unattached uploads older than
a day are purged by the scheduled `purge-uploads` command. Files are content-addressed and may be
shared by several rows: a file goes only when no row names it."""
import io
import os
import time
from datetime import timedelta
from pathlib import Path

from api_helpers import ApiClient
from PIL import Image
from sqlalchemy import func, select, update

from workflow.clock import utcnow
from workflow.models import Upload
from workflow.services import claims as claim_service
from workflow.services import uploads as upload_service
from workflow.services.tx import write_transaction

ROOT = Path(__file__).resolve().parents[2]


def photo(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (n * 20 % 256, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def uploads(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Upload))


def stored_files(app) -> list[Path]:
    root = Path(app.config["BAODAO_UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def check_in(browser, claim_id, photos: list[bytes], note="走访了三户"):
    browser.get(f"/claims/{claim_id}/check_in")
    return browser.post(f"/claims/{claim_id}/check_in",
                        {"note": note, "photos": [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos)]},
                        content_type="multipart/form-data")


def test_a_check_in_refused_for_too_many_photos_leaves_no_upload_and_no_file(app, world, browse, session):
    claim = claim_service.start_claim(world.task().id, world.member)
    r = check_in(browse("member_a1"), claim.id, [photo(i) for i in range(12)])
    assert r.status_code == 422 and "photos" in r.get_data(as_text=True)
    assert uploads(session) == 0 and stored_files(app) == []
    # nine is allowed, and then they are kept
    r = check_in(browse("member_a1"), claim.id, [photo(i) for i in range(9)])
    assert r.status_code == 302
    assert uploads(session) == 9 and len(stored_files(app)) == 9


def test_a_check_in_refused_by_the_claims_state_takes_its_photos_back(app, world, browse, session):
    claim = claim_service.start_claim(world.task().id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "到了"})
    claim_service.fire(claim.id, "submit_report", world.member, {"summary": "完成", "hours": 1})
    r = check_in(browse("member_a1"), claim.id, [photo(1), photo(2)])  # reported: no check-in now
    assert r.status_code == 302  # back, with the refusal flashed
    assert uploads(session) == 0 and stored_files(app) == []


def test_one_unreadable_photo_stores_none_of_the_others(app, world, browse, session):
    claim = claim_service.start_claim(world.task().id, world.member)
    b = browse("member_a1")
    b.get(f"/claims/{claim.id}/check_in")
    r = b.post(f"/claims/{claim.id}/check_in", {"note": "n", "photos": [
        (io.BytesIO(photo(1)), "a.jpg"), (io.BytesIO(photo(2)), "b.jpg"), (io.BytesIO(b"not a photo"), "c.jpg")]},
        content_type="multipart/form-data")
    assert r.status_code == 422
    assert uploads(session) == 0 and stored_files(app) == []


def test_a_refused_request_never_removes_a_file_another_upload_shares(app, world, browse, session):
    shared = photo(7)
    first = upload_service.save_upload(world.member2, shared, app.config["BAODAO_UPLOAD_DIR"])
    other = claim_service.start_claim(world.task().id, world.member2)
    claim_service.fire(other.id, "check_in", world.member2, {"note": "n", "photos": [first.id]})
    claim = claim_service.start_claim(world.task().id, world.member)
    r = check_in(browse("member_a1"), claim.id, [shared] + [photo(i) for i in range(11)])  # 12: refused
    assert r.status_code == 422
    assert uploads(session) == 1 and len(stored_files(app)) == 1
    assert browse("member_a2").get(f"/uploads/{first.id}").status_code == 200  # its file is still there


def _age(session, app, upload_ids, days=2):
    with write_transaction() as s:
        s.execute(update(Upload).where(Upload.id.in_(upload_ids)).values(created_at=utcnow() - timedelta(days=days)))
    old = time.time() - days * 86400
    for u in session.scalars(select(Upload).where(Upload.id.in_(upload_ids))):
        path = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], u.sha256)
        os.utime(path, (old, old))


def test_purge_removes_unattached_uploads_older_than_a_day_and_nothing_else(app, world, session):
    folder = app.config["BAODAO_UPLOAD_DIR"]
    api = ApiClient(app)
    stale = api.upload(world.member, photo(1)).get_json()["id"]  # uploaded, never used
    fresh = api.upload(world.member, photo(2)).get_json()["id"]  # uploaded a moment ago
    used = api.upload(world.member, photo(3)).get_json()["id"]  # taken by a check-in
    twin = api.upload(world.member2, photo(3)).get_json()["id"]  # same file as `used`, never used
    claim = claim_service.start_claim(world.task().id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "n", "photos": [used]})
    _age(session, app, [stale, used, twin])
    orphan = upload_service.storage_path(folder, "ab" + "0" * 62)  # a file no row names (a crash)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x")
    leftover = orphan.parent / "half-written.123.tmp"
    leftover.write_bytes(b"x")
    old = time.time() - 3 * 86400
    for path in (orphan, leftover):
        os.utime(path, (old, old))

    result = app.test_cli_runner().invoke(args=["purge-uploads"])
    assert result.exit_code == 0, result.output
    assert "purged 2 unattached uploads and 3 files" in result.output  # stale's file, orphan, leftover
    session.rollback()
    assert set(session.scalars(select(Upload.id))) == {fresh, used}
    assert not orphan.exists() and not leftover.exists()
    for ident in (fresh, used):
        upload = session.get(Upload, ident)
        assert upload_service.storage_path(folder, upload.sha256).exists()
    assert "purged 0 unattached uploads and 0 files" in app.test_cli_runner().invoke(args=["purge-uploads"]).output


def test_a_failed_api_trigger_keeps_its_uploads_for_a_retry_until_the_purge(app, world, session):
    """The API's uploads are separate requests: a refused check-in leaves them for the client's retry
    (docs/api.md); a day later the purge takes whatever was never used."""
    api = ApiClient(app)
    ids = [api.upload(world.member, photo(i)).get_json()["id"] for i in range(10)]
    claim = claim_service.start_claim(world.task().id, world.member)
    r = api.post(f"/api/v1/claims/{claim.id}/check_in", world.member, json={"note": "n", "photos": ids})
    assert r.status_code == 422
    r = api.post(f"/api/v1/claims/{claim.id}/check_in", world.member, json={"note": "n", "photos": ids[:9]})
    assert r.status_code == 200
    _age(session, app, ids)
    assert upload_service.purge_unattached(app.config["BAODAO_UPLOAD_DIR"]).rows == 1
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Upload)) == 9


def test_the_purge_is_scheduled_like_the_other_timers_and_documented():
    service = (ROOT / "deploy" / "baodao-purge-uploads.service").read_text()
    timer = (ROOT / "deploy" / "baodao-purge-uploads.timer").read_text()
    assert "flask --app wsgi purge-uploads" in service and "OnCalendar=" in timer
    assert "purge-uploads" in (ROOT / "deploy" / "baodao.cron").read_text()
    assert "purge-uploads" in (ROOT / "README.md").read_text()
    assert "baodao-purge-uploads" in (ROOT / "docs" / "deploy.md").read_text()

