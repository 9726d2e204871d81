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
import functools
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import and_, delete, func, select

from ..clock import utcnow
from ..errors import Forbidden, InvalidInput, NotFound
from ..models import Claim, Project, Upload
from . import scope
from .idempotency import record as record_idempotency
from .tx import write_transaction

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 7300 × 5500: more than any phone camera
# The formats accepted, and what each is stored as. HEIC/HEIF (iPhones' camera format) is
# decoded by pillow-heif and stored as JPEG, which every browser and office program shows.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/jpeg"}


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


@functools.cache
def _open_heif_too() -> None:
    """Teach Pillow HEIC/HEIF, once per process, when the first photo arrives (pillow-heif's
    4.5 MB stay out of the workers that never see one)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def clean_image(raw: bytes) -> StoredImage:
    """Decode, check and re-encode an image; raise InvalidInput for anything else."""
    if len(raw) > MAX_BYTES:
        raise UploadTooLarge("file too large", errors={"file": [f"At most {MAX_BYTES // (1024 * 1024)} MB."]})
    _open_heif_too()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in FORMATS:
                raise InvalidInput("not a supported image",
                                   errors={"file": ["Only JPEG, PNG, WebP or HEIC photos."]})
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("image too large", errors={"file": ["The image has too many pixels."]})
            probe.verify()  # structure check; the image must be reopened after verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
            image = pixels_only(image)
            out = io.BytesIO()
            if FORMATS[fmt] == "image/jpeg":  # JPEG, and HEIC converted to JPEG
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


def upload_view(upload) -> dict:
    """An upload as the answer shows it."""
    return {"id": upload.id, "sha256": upload.sha256, "content_type": upload.content_type, "width": upload.width,
            "height": upload.height, "size": upload.size, "created_at": upload.created_at}


def save_upload(actor, raw: bytes, upload_dir: str | Path, *, idempotency=None) -> Upload:
    """Store a photo for `actor` (a member or staff) and record it."""
    return save_uploads(actor, [raw], upload_dir, idempotency=idempotency)[0]


def save_uploads(actor, blobs: list[bytes], upload_dir: str | Path, *, idempotency=None) -> list[Upload]:
    """Store several photos at once: all are checked before any is stored, so one bad photo
    leaves nothing behind (a page form sends up to nine)."""
    if actor.role not in ("member", "staff", "liaison"):  # liaisons: a project's progress and report
        raise Forbidden("only members, staff and liaisons upload photos")
    images = [clean_image(raw) for raw in blobs]
    with write_transaction() as session:
        uploads = []
        for image in images:
            _lock_content(session, image.sha256)
            _write_file(storage_path(upload_dir, image.sha256), image.data)
            upload = Upload(sha256=image.sha256, content_type=image.content_type, size=len(image.data),
                            width=image.width, height=image.height, uploader_id=actor.id, created_at=utcnow())
            session.add(upload)
            uploads.append(upload)
        session.flush()
        # the API sends one photo per request: its answer
        record_idempotency(idempotency, session, upload_view(uploads[0]), created=True)
    return uploads


# -- the content-addressed store: one file per content, kept while a row names it ------------------
#
# Files are shared by every upload row of the same content, so a file goes only when no row names it
# any more. Writing a file and its row, and removing rows and then unreferenced files, happen inside a
# write transaction that holds a lock on the content: SQLite's immediate transaction locks the whole
# database; PostgreSQL takes a transaction-level advisory lock per sha256. So a photo being saved can
# never lose its file to a removal that counted its rows a moment before.

UPLOAD_LOCK_CLASS = 0x7570  # "up": the advisory-lock namespace of upload contents


def _lock_content(session, sha256: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = int(sha256[:8], 16) - 2**31  # a signed 32-bit key from the hash
        session.execute(select(func.pg_advisory_xact_lock(UPLOAD_LOCK_CLASS, key)))


def _write_file(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # atomic: a reader never sees half a file


@dataclass
class Removed:
    rows: int = 0
    files: int = 0


# An upload nothing took: no claim's visit or report, no project's report.
UNATTACHED = and_(Upload.claim_id.is_(None), Upload.project_id.is_(None))


def _remove_unattached(session, condition, upload_dir: str | Path) -> Removed:
    """Delete the unattached upload rows matching `condition` (locked first: a check-in attaching one
    of them at this moment waits, or wins and keeps it), then every file no row names any more."""
    rows = session.execute(select(Upload.id, Upload.sha256).where(UNATTACHED, condition)
                           .with_for_update()).all()
    removed = Removed(rows=len(rows))
    if not rows:
        return removed
    session.execute(delete(Upload).where(Upload.id.in_([r.id for r in rows])))
    for sha in sorted({r.sha256 for r in rows}):
        _lock_content(session, sha)
        path = storage_path(upload_dir, sha)
        if session.scalar(select(Upload.id).where(Upload.sha256 == sha).limit(1)) is None and path.exists():
            path.unlink()
            removed.files += 1
    return removed


def discard_unattached(upload_ids: list[int], upload_dir: str | Path) -> int:
    """Undo the uploads a request made when the request itself failed (a refused check-in): the
    rows, still unattached, and their files unless another row shares them. Returns how many went."""
    if not upload_ids:
        return 0
    with write_transaction() as session:
        done = _remove_unattached(session, Upload.id.in_(upload_ids), upload_dir)
    return done.rows


UNATTACHED_MAX_AGE = timedelta(days=1)


def purge_unattached(upload_dir: str | Path, *, older_than: timedelta = UNATTACHED_MAX_AGE, now=None,
                     batch: int = 500) -> Removed:
    """Remove uploads that no visit or report took within `older_than` (a day), with their files
    unless another row shares them; and files in the store that no row names (a crash between
    writing a file and committing its row). The scheduled `purge-uploads` command runs this."""
    cutoff = (now or utcnow()) - older_than
    total = Removed()
    while True:  # in batches: each its own short transaction
        with write_transaction() as session:
            ids = session.scalars(select(Upload.id).where(UNATTACHED, Upload.created_at < cutoff)
                                  .order_by(Upload.id).limit(batch)).all()
            done = _remove_unattached(session, Upload.id.in_(ids), upload_dir) if ids else Removed()
        total.rows += done.rows
        total.files += done.files
        if len(ids) < batch:
            break
    total.files += _purge_orphan_files(upload_dir, cutoff)
    return total


def _purge_orphan_files(upload_dir: str | Path, cutoff, batch: int = 1000) -> int:
    """Files older than the cutoff that no row names, and leftover temporary files. One query per
    batch of files finds the candidates; each is re-checked under its content lock before it goes."""
    root = Path(upload_dir)
    if not root.is_dir():
        return 0
    oldest = cutoff.replace(tzinfo=timezone.utc).timestamp()
    removed, pending = 0, {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and len(p.name) == 2):
        for path in sorted(folder.iterdir()):
            if path.stat().st_mtime >= oldest:
                continue  # recent: perhaps a save on another node whose row is not committed yet
            if path.name.endswith(".tmp"):  # a save that died between writing and renaming
                path.unlink(missing_ok=True)
                removed += 1
                continue
            pending[path.name] = path
            if len(pending) >= batch:
                removed += _remove_unnamed(pending)
                pending = {}
    return removed + (_remove_unnamed(pending) if pending else 0)


def _remove_unnamed(paths: dict[str, Path]) -> int:
    removed = 0
    with write_transaction() as session:
        named = set(session.scalars(select(Upload.sha256).where(Upload.sha256.in_(list(paths)))))
        for sha in sorted(set(paths) - named):
            _lock_content(session, sha)
            if session.scalar(select(Upload.id).where(Upload.sha256 == sha).limit(1)) is None:
                paths[sha].unlink(missing_ok=True)
                removed += 1
    return removed


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
    if upload.project_id is not None and session.scalar(  # a project's photos: whoever sees the project
        select(Project.id).where(Project.id == upload.project_id, scope.project_filter(actor))
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
