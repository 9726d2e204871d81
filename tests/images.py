"""Small real images made with Pillow, for upload tests."""
import io

from PIL import Image


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif else {}
    Image.new("RGB", size, color).save(out, "JPEG", **kwargs)
    return out.getvalue()


def png_bytes(size=(32, 32), color=(0, 120, 255, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()
