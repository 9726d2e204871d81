"""Photo uploads: checked, re-encoded and stored content-addressed outside the web root.

An upload is decoded with Pillow (so a file that only pretends to be an image fails),
refused when it is too large in bytes or pixels (decompression bombs), re-encoded
without its metadata (EXIF carries GPS positions and phone serials), and stored under
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

from PIL import Image, ImageOps, UnidentifiedImageError
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


def storage_path(root: str | Path, sha256: str) -> Path:
    return Path(root) / sha256[:2] / sha256


def upload_view(upload) -> dict:
    """An upload as the answer shows it."""
    return {"id": upload.id, "sha256": upload.sha256, "content_type": upload.content_type, "width": upload.width,
            "height": upload.height, "size": upload.size, "created_at": upload.created_at}


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
        session.flush()  # its id, for the answer
        record_idempotency(idempotency, session, upload_view(upload), created=True)
    return upload


def visible_upload(session, actor, upload_id: int) -> Upload:
    """The upload if `actor` may see it; NotFound otherwise."""
    # Read fresh, not from the session's identity map: the claim it belongs to is set by a
    # transition's UPDATE, which an object held from before does not see.
    upload = session.scalar(select(Upload).where(Upload.id == upload_id).execution_options(populate_existing=True))
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
    if upload.erased_at is not None:  # erased with its claim's records (services/erasure.py)
        raise NotFound(f"upload {upload.id} was erased under the retention rules")
    try:
        return storage_path(upload_dir, upload.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"upload {upload.id}'s file is missing from the store") from None


def discard_unattached(upload_ids: list[int], upload_dir: str | Path) -> int:
    """Remove uploads that nothing uses (a page request stored them, then failed): their rows,
    and each file no other row still points to (files are shared by content). Returns how many."""
    if not upload_ids:
        return 0
    with write_transaction() as session:
        rows = session.scalars(select(Upload).where(Upload.id.in_(upload_ids), Upload.claim_id.is_(None))).all()
        digests = {u.sha256 for u in rows}
        for upload in rows:
            session.delete(upload)
        session.flush()
        still_used = set(session.scalars(select(Upload.sha256).where(Upload.sha256.in_(digests)))) if digests else set()
    for digest in digests - still_used:
        storage_path(upload_dir, digest).unlink(missing_ok=True)
    return len(rows)
