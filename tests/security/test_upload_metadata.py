"""Issue 16, defect 6: a JPEG's comment segment (COM) survived re-encoding, in the stored photo and in
its thumbnail. Every metadata segment is stripped now: COM, every APPn but the JFIF header (EXIF,
XMP, ICC, IPTC…), and in PNG and WebP every chunk that is not the picture.

The photos here carry a marker text in each kind of metadata; the stored file and the thumbnail
are walked segment by segment (not only searched for the text)."""
import io
import struct

from api_helpers import ApiClient
from PIL import Image, ImageCms, PngImagePlugin

from workflow.models import Upload
from workflow.services import claims as claim_service
from workflow.services import uploads as upload_service

SECRET = b"Zhang San 13800000000 iPhone 15 Pro"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_every_kind_of_metadata() -> bytes:
    """A JPEG whose comment, EXIF, XMP, ICC profile and APP12/APP13 segments all name someone."""
    exif = Image.Exif()
    exif[0x0110] = SECRET.decode()  # camera model
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", comment=SECRET, exif=exif.tobytes(),
                                                   icc_profile=icc + SECRET, xmp=b"<x:xmpmeta>" + SECRET + b"</x>")
    raw = out.getvalue()
    extra = (_segment(0xEC, b"Ducky\x00" + SECRET) + _segment(0xED, b"Photoshop 3.0\x008BIM" + SECRET)
             + _segment(0xFE, b"second comment " + SECRET))
    return raw[:2] + extra + raw[2:]  # right after SOI


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF, f"no marker at {i}"
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        i += 2 + length
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        chunks.append(data[i + 4:i + 8])
        i += 12 + length
    return chunks


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, i = [], 12
    while i < len(data):
        kind, (length,) = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])
        chunks.append(kind)
        i += 8 + length + (length & 1)
    return chunks


def assert_bare_jpeg(data: bytes):
    markers = jpeg_markers(data)
    assert 0xFE not in markers, "a comment segment (COM) survived"
    app_segments = [m for m in markers if 0xE0 <= m <= 0xEF]
    assert app_segments == [0xE0], f"APPn segments beyond the JFIF header: {[hex(m) for m in app_segments]}"
    assert SECRET not in data and b"Zhang San" not in data


def test_a_jpeg_loses_its_comment_and_every_app_segment_in_the_photo_and_its_thumbnail(app, world, browse):
    raw = jpeg_with_every_kind_of_metadata()
    before = jpeg_markers(raw)
    assert 0xFE in before and {0xE1, 0xE2, 0xEC, 0xED} <= set(before)  # the probe carries them all
    upload = upload_service.save_upload(world.member, raw, app.config["BAODAO_UPLOAD_DIR"])
    stored = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], upload.sha256).read_bytes()
    assert_bare_jpeg(stored)
    with Image.open(io.BytesIO(stored)) as image:  # still the same picture
        assert image.size == (64, 48) and "comment" not in image.info and "icc_profile" not in image.info
        r, g, b = image.getpixel((10, 10))
        assert abs(r - 200) < 8 and g < 40 and b < 40
    # served to the member: the photo and the thumbnail
    claim = claim_service.start_claim(world.task().id, world.member)
    claim_service.fire(claim.id, "check_in", world.member, {"note": "到了", "photos": [upload.id]})
    member = browse("member_a1")
    assert_bare_jpeg(member.get(f"/uploads/{upload.id}").get_data())
    thumb = member.get(f"/uploads/{upload.id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert_bare_jpeg(thumb.get_data())


def test_the_api_upload_and_the_page_form_strip_it_too(app, world, browse, session):
    raw = jpeg_with_every_kind_of_metadata()
    r = ApiClient(app).upload(world.member, raw)
    assert r.status_code == 201
    stored = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], r.get_json()["sha256"]).read_bytes()
    assert_bare_jpeg(stored)
    claim = claim_service.start_claim(world.task().id, world.member2)
    b = browse("member_a2")
    b.get(f"/claims/{claim.id}/check_in")
    response = b.post(f"/claims/{claim.id}/check_in", {"note": "到了", "photos": [(io.BytesIO(raw), "p.jpg")]},
                      content_type="multipart/form-data")
    assert response.status_code == 302
    session.rollback()
    page_upload = session.query(Upload).filter(Upload.claim_id == claim.id).one()
    assert_bare_jpeg(upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], page_upload.sha256).read_bytes())
    assert_bare_jpeg(b.get(f"/uploads/{page_upload.id}/thumb").get_data())


def test_png_and_webp_keep_only_the_picture(app, world):
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", SECRET.decode())
    text.add_itxt("Comment", SECRET.decode())
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0110] = SECRET.decode()
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (0, 120, 255, 128)).save(out, "PNG", pnginfo=text, icc_profile=icc,
                                                          exif=exif.tobytes(), dpi=(300, 300))
    assert {b"tEXt", b"iTXt", b"iCCP", b"eXIf"} <= set(png_chunks(out.getvalue()))
    png = upload_service.save_upload(world.member, out.getvalue(), app.config["BAODAO_UPLOAD_DIR"])
    stored = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], png.sha256).read_bytes()
    assert set(png_chunks(stored)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, png_chunks(stored)
    assert SECRET not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getpixel((1, 1))[3] == 128  # transparency is part of the picture: kept

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(out, "WEBP", icc_profile=icc, exif=exif.tobytes(),
                                                   xmp=b"<x>" + SECRET + b"</x>")
    assert {b"ICCP", b"EXIF", b"XMP "} <= set(webp_chunks(out.getvalue()))
    webp = upload_service.save_upload(world.member, out.getvalue(), app.config["BAODAO_UPLOAD_DIR"])
    stored = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], webp.sha256).read_bytes()
    assert set(webp_chunks(stored)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, webp_chunks(stored)
    assert SECRET not in stored


def test_a_photo_keeps_its_colours_without_its_icc_profile(app, world):
    """Decision: an ICC profile is applied (the colours moved to sRGB), then dropped."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (220, 20, 20)).save(out, "JPEG", quality=95, icc_profile=profile.tobytes())
    assert 0xE2 in jpeg_markers(out.getvalue())
    upload = upload_service.save_upload(world.member, out.getvalue(), app.config["BAODAO_UPLOAD_DIR"])
    stored = upload_service.storage_path(app.config["BAODAO_UPLOAD_DIR"], upload.sha256).read_bytes()
    assert 0xE2 not in jpeg_markers(stored)
    with Image.open(io.BytesIO(stored)) as image:
        r, g, b = image.getpixel((8, 8))
        assert abs(r - 220) < 10 and g < 40 and b < 40
