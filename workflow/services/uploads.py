"""Photo uploads: checked, re-encoded and stored content-addressed outside the web root.

An upload is decoded with Pillow (so a file that only pretends to be an image fails),
refused when it is too large in bytes or pixels (decompression bombs), re-encoded
without any metadata (EXIF carries GPS positions and phone serials; a JPEG comment, XMP or an
ICC profile can carry names and devices: see `pixels_only`), and stored under
`<upload dir>/<sha256[:2]>/<sha256>` with mode 0600 — never executable, never in the
web root. Identical photos share one file; each upload still has its own row, so the
same photo used in two claims can be flagged.

Who may see an upload: its uploader, and whoever may see the claim it is attached to.
"""
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..clock import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import Claim, Upload
from . import scope
from .idempotency import record as record_idempotency
from .tx import write_transaction

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 7300 × 5500: more than any phone camera
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class UploadTooLarge(InvalidInput):
    code = "upload_too_large"
    http_status = 413


@dataclass
class StoredImage:
    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int


def clean_image(raw: bytes) -> StoredImage:
    """Decode, check and re-encode an image; raise InvalidInput for anything else."""
    if len(raw) > MAX_BYTES:
        raise UploadTooLarge("file too large", errors={"file": [f"At most {MAX_BYTES // (1024 * 1024)} MB."]})
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in FORMATS:
                raise InvalidInput("not a supported image", errors={"file": ["Only JPEG, PNG or WebP photos."]})
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("image too large", errors={"file": ["The image has too many pixels."]})
            probe.verify()  # structure check; the image must be reopened after verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
            image = pixels_only(image)
            out = io.BytesIO()
            if fmt == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            elif fmt == "PNG":
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "WEBP", quality=85)
            width, height = image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput("not a readable image", errors={"file": [f"Not a readable image ({type(exc).__name__})."]}) \
            from None
    data = out.getvalue()
    return StoredImage(data=data, sha256=hashlib.sha256(data).hexdigest(), content_type=FORMATS[fmt],
                       width=width, height=height)


# What a re-encoded image keeps of what the decoder read besides the pixels: a PNG's transparent
# colour (part of the picture). Nothing else — not the JPEG comment (COM), EXIF, XMP, ICC, IPTC,
# PNG text or dpi — is written back: Pillow's encoders copy some of it from `image.info` on their
# own (a JPEG's comment, a PNG's ICC profile), so `info` is emptied rather than trusted.
PICTURE_INFO = ("transparency",)


def pixels_only(image: Image.Image) -> Image.Image:
    """The image without its metadata: colours moved to sRGB by its ICC profile (so a phone's
    Display P3 photo keeps its colours), then every metadata item dropped (see PICTURE_INFO)."""
    image = _to_srgb(image)
    image.info = {key: value for key, value in image.info.items() if key in PICTURE_INFO}
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile and return sRGB pixels; the profile itself is not kept (it can
    name the device and its maker). A profile that cannot be applied is dropped as it is."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        converted = ImageCms.profileToProfile(
            image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


THUMB_SIZE = (240, 240)


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a stored photo, for lists on slow networks; as bare as the photo itself
    (photos stored before metadata was fully stripped get a clean thumbnail all the same)."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMB_SIZE)
        small = pixels_only(image.convert("RGB"))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=70)
    return out.getvalue()


def storage_path(root: str | Path, sha256: str) -> Path:
    return Path(root) / sha256[:2] / sha256


def save_upload(actor, raw: bytes, upload_dir: str | Path, *, idempotency=None) -> Upload:
    """Store a photo for `actor` (a member or staff) and record it."""
    if actor.role not in ("member", "staff"):
        raise Forbidden("only members and staff upload photos")
    image = clean_image(raw)
    path = storage_path(upload_dir, image.sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(image.data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    with write_transaction() as session:
        upload = Upload(sha256=image.sha256, content_type=image.content_type, size=len(image.data),
                        width=image.width, height=image.height, uploader_id=actor.id, created_at=utcnow())
        session.add(upload)
        record_idempotency(idempotency, session, upload)
    return upload


def visible_upload(session, actor, upload_id: int) -> Upload:
    """The upload if `actor` may see it; NotFound otherwise."""
    upload = session.get(Upload, upload_id)
    if upload is None:
        raise NotFound(f"upload {upload_id} not found")
    if actor.id is not None and upload.uploader_id == actor.id:
        return upload
    if upload.claim_id is not None and session.scalar(
        select(Claim.id).where(Claim.id == upload.claim_id, scope.claim_filter(actor))
    ) is not None:
        return upload
    raise NotFound(f"upload {upload_id} not found")


def read_upload(upload: Upload, upload_dir: str | Path) -> bytes:
    try:
        return storage_path(upload_dir, upload.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"upload {upload.id}'s file is missing from the store") from None
