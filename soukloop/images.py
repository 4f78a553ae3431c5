"""Decoding uploaded images safely, once, for every app (listing photos, ID photos).

- The pixel count is read from the header and checked before any pixel is decoded
  (``MAX_IMAGE_PIXELS``, 25 MP): a 115 KB PNG of 6000x6600 px once took 3 s and 330 MB.
- At most ``MAX_CONCURRENT_IMAGE_DECODES`` decodes run at once per process; a request that
  cannot get a turn within ``IMAGE_DECODE_WAIT_SECONDS`` is answered 503 (try again).
- The image is re-encoded from its bare pixels after applying its orientation, so EXIF (GPS
  position, camera serial), XMP and text chunks never reach storage.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from soukloop.errors import ServiceUnavailable, ValidationError

IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}

# Pillow warns about an image between one and two times its limit (and refuses one over two);
# clean_image refuses every image over MAX_IMAGE_PIXELS itself, right after reading the
# header, so the warning would only repeat that in the logs.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_decode_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _slots() -> threading.BoundedSemaphore:
    global _decode_slots
    with _slots_lock:
        if _decode_slots is None:
            _decode_slots = threading.BoundedSemaphore(max(1, settings.MAX_CONCURRENT_IMAGE_DECODES))
        return _decode_slots


def follow_pixel_limit(*, setting: str = "MAX_IMAGE_PIXELS", **kwargs: object) -> None:
    """Pillow's own decompression-bomb guard (one process-wide value) agrees with
    ``MAX_IMAGE_PIXELS``: set at start-up and whenever the setting changes (a test's override
    and its restore), never per request, where one request's value outlived it: a 1,000-pixel
    limit set by one upload then refused every ID photo that followed."""
    if setting == "MAX_IMAGE_PIXELS":
        Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS


@contextmanager
def decode_slot() -> Iterator[None]:
    slots = _slots()
    if not slots.acquire(timeout=settings.IMAGE_DECODE_WAIT_SECONDS):
        raise ServiceUnavailable(_("Too many images are being processed. Try again shortly."), code="image_busy")
    try:
        yield
    finally:
        slots.release()


def unsupported_image(attr: str) -> ValidationError:
    return ValidationError(_("Upload a JPEG, PNG or WebP image."), code="unsupported_media_type", attr=attr)


def clean_image(upload: IO[bytes], *, attr: str = "file") -> tuple[bytes, str, str]:
    """``(bytes, content type, extension)`` of the image re-encoded without metadata; 400 when
    it is not a JPEG/PNG/WebP or has more than ``MAX_IMAGE_PIXELS`` pixels."""
    upload.seek(0)
    try:
        image: Image.Image = Image.open(upload)  # reads the header only
        image_format = image.format
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise unsupported_image(attr) from exc
    if image_format not in IMAGE_FORMATS:
        raise unsupported_image(attr)
    width, height = image.size
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image has too many pixels (at most %(max)s million).")
            % {"max": settings.MAX_IMAGE_PIXELS // 1_000_000},
            code="image_too_large",
            attr=attr,
        )
    with decode_slot():
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise unsupported_image(attr) from exc
        content_type, extension = IMAGE_FORMATS[image_format]
        if image_format == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        # A fresh image from the bare pixels: no EXIF, XMP or text chunks can follow it.
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        palette = image.getpalette() if image.mode == "P" else None
        if palette is not None:
            clean.putpalette(palette)
        out = io.BytesIO()
        options: dict[str, object] = {"optimize": True}
        if image_format == "JPEG":
            options.update(quality=85, progressive=True)
        elif image_format == "WEBP":
            options = {"quality": 85, "method": 4}
        clean.save(out, format=image_format, **options)
    return out.getvalue(), content_type, extension
