"""Uploads: real images only, re-encoded without metadata, stored by sha256, scoped."""
import os
import stat

import pytest
from PIL import Image

from tests.images import jpeg_bytes, png_bytes
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.services import claims, uploads


def test_a_photo_is_reencoded_without_exif_and_stored_by_hash(app, world):
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # camera model
    raw = jpeg_bytes(exif=exif.tobytes())
    upload = uploads.save_upload(world.member, raw, app.config["BAODAO_UPLOAD_DIR"])
    path = uploads.storage_path(app.config["BAODAO_UPLOAD_DIR"], upload.sha256)
    stored = path.read_bytes()
    assert b"Phone X" in raw and b"Phone X" not in stored
    assert (upload.content_type, upload.width, upload.height) == ("image/jpeg", 64, 48)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = uploads.save_upload(world.member2, raw, app.config["BAODAO_UPLOAD_DIR"])
    assert again.sha256 == upload.sha256 and again.id != upload.id


@pytest.mark.parametrize("raw", [
    b"not an image at all",
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    png_bytes()[:60],  # truncated
    b"GIF89a" + b"\0" * 40,
])
def test_anything_but_a_real_photo_is_refused(app, world, raw):
    with pytest.raises(InvalidInput) as exc:
        uploads.save_upload(world.member, raw, app.config["BAODAO_UPLOAD_DIR"])
    assert "file" in exc.value.errors


def test_a_decompression_bomb_is_refused(app, world):
    import io
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, "PNG")  # 100 Mpx in a few kB
    with pytest.raises(InvalidInput):
        uploads.save_upload(world.member, out.getvalue(), app.config["BAODAO_UPLOAD_DIR"])


def test_too_large_is_its_own_error(app, world):
    with pytest.raises(uploads.UploadTooLarge):
        uploads.save_upload(world.member, b"\xff" * (uploads.MAX_BYTES + 1), app.config["BAODAO_UPLOAD_DIR"])


def test_supervisors_do_not_upload(app, world):
    with pytest.raises(Forbidden):
        uploads.save_upload(world.supervisor, png_bytes(), app.config["BAODAO_UPLOAD_DIR"])


def test_who_sees_a_photo(app, world, session):
    photo = uploads.save_upload(world.member, png_bytes(), app.config["BAODAO_UPLOAD_DIR"])
    with pytest.raises(NotFound):  # not attached yet: only the uploader
        uploads.visible_upload(session, world.staff, photo.id)
    claim = claims.start_claim(world.task().id, world.member)
    claims.fire(claim.id, "check_in", world.member, {"note": "n", "photos": [photo.id]})
    for viewer in (world.member, world.staff, world.admin, world.supervisor, world.supervisor_town,
                   world.supervisor_unit):
        assert uploads.visible_upload(session, viewer, photo.id).id == photo.id
    for outsider in (world.member2, world.staff_b, world.supervisor_other_town):
        with pytest.raises(NotFound):
            uploads.visible_upload(session, outsider, photo.id)
    # and nobody else can attach the same upload to their own claim
    other = claims.start_claim(world.task().id, world.member2)
    with pytest.raises(InvalidInput):
        claims.fire(other.id, "check_in", world.member2, {"note": "n", "photos": [photo.id]})
