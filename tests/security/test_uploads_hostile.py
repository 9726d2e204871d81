"""Hostile uploads, over the API and through the page form: each refused with a clear 4xx,
nothing stored; stored files are never executable nor under the web root; every served
file carries Content-Disposition and nosniff."""
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.api.api_helpers import ApiClient, make_jpeg
from workflow.models import Upload
from workflow.services import claims as claim_service

ROOT = Path(__file__).resolve().parents[2]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def decompression_bomb() -> bytes:
    """A 30000 × 30000 PNG (900 megapixels) in a few kilobytes: one row of zeros, compressed."""
    width = height = 30_000
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    raw = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # the first 64 rows; the decoder would want all
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", raw) + _png_chunk(b"IEND", b"")


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')
HOSTILE = {
    "text named .jpg": (b"hello, I am not a photo\n" * 20, "photo.jpg"),
    "html named .png": (b"<html><script>alert(1)</script></html>", "photo.png"),
    "truncated jpeg": (make_jpeg((400, 300))[:600], "photo.jpg"),
    "decompression bomb": (decompression_bomb(), "photo.png"),
    "svg with script": (SVG, "photo.svg"),
    "svg named .jpg": (SVG, "photo.jpg"),
    "empty file": (b"", "photo.jpg"),
}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_hostile_uploads_are_refused_over_the_api(app, world, session):
    api = ApiClient(app)
    for label, (content, name) in HOSTILE.items():
        r = api.upload(world.member, content, filename=name)
        assert r.status_code in (400, 413, 422), (label, r.status_code, r.get_data(as_text=True)[:200])
        body = r.get_json()
        assert body["errors"].get("files", {}).get("file"), (label, body)
        assert "Traceback" not in r.get_data(as_text=True)
    assert session.query(Upload).count() == 0
    assert not any(Path(app.config["BAODAO_UPLOAD_DIR"]).rglob("*")) or all(
        p.is_dir() for p in Path(app.config["BAODAO_UPLOAD_DIR"]).rglob("*"))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_hostile_uploads_are_refused_through_the_page_form(app, world, browse, session):
    member = browse("member_a1")
    claim = claim_service.start_claim(world.task().id, world.member)
    path = f"/claims/{claim.id}/check_in"
    member.get(path)
    for label, (content, name) in HOSTILE.items():
        if not content:
            continue  # an empty file field is "no photo" on a form
        r = member.post(path, {"note": "走访", "photos": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")
        text = r.get_data(as_text=True)
        assert 400 <= r.status_code < 500, (label, r.status_code)
        assert "file" in text.lower() or "图片" in text or "image" in text.lower(), (label, text[:300])
    assert session.query(Upload).count() == 0
    session.rollback()
    # Over the page limit (95 MB): 413 from the Content-Length alone, the friendly page.
    with app.app_context():
        r = member.client.post(path, data=b"", content_type="multipart/form-data; boundary=x",
                               environ_overrides={"CONTENT_LENGTH": str(200 * 1024 * 1024)})
    assert r.status_code == 413 and "text/html" in r.content_type


@pytest.mark.parametrize("backend", ["sqlite"])
def test_stored_files_are_not_executable_not_in_the_web_root_and_served_with_disposition(app, world, browse):
    api = ApiClient(app)
    r = api.upload(world.member, make_jpeg((64, 48)))
    assert r.status_code == 201
    upload_id = r.get_json()["id"]
    claim = claim_service.start_claim(world.task().id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "n", "photos": [upload_id]})
    upload_dir = Path(app.config["BAODAO_UPLOAD_DIR"]).resolve()
    static_dir = Path(app.static_folder).resolve()
    assert static_dir not in upload_dir.parents and upload_dir != static_dir
    files = [p for p in upload_dir.rglob("*") if p.is_file()]
    assert files
    for f in files:
        mode = stat.S_IMODE(f.stat().st_mode)
        assert mode & 0o111 == 0 and mode & 0o077 == 0, oct(mode)  # 0600: nobody executes it, nobody else reads
    # Not reachable as a static file by its content address.
    sha = files[0].name
    assert app.test_client().get(f"/static/{sha}").status_code == 404
    assert app.test_client().get(f"/static/../instance/uploads/{sha[:2]}/{sha}").status_code == 404
    served = {"api": api.get(f"/api/v1/uploads/{upload_id}", world.member)}
    staff = browse("staff_a")
    served["page"] = staff.get(f"/uploads/{upload_id}")
    served["thumb"] = staff.get(f"/uploads/{upload_id}/thumb")
    for where, response in served.items():
        assert response.status_code == 200, where
        assert response.headers["X-Content-Type-Options"] == "nosniff", where
        assert response.headers["Content-Disposition"].startswith("inline; filename=\"upload-"), where
        assert response.mimetype.startswith("image/"), where
        assert "default-src 'none'" in response.headers["Content-Security-Policy"], where
        Image.open(io.BytesIO(response.data)).verify()
    assert os.access(files[0], os.X_OK) is False
